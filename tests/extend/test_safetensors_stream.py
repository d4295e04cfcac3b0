"""The streaming safetensors rewriter: byte-identical copies, transformed tensors, files the library
reads."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

from zett.extend.safetensors_stream import SafetensorsFormatError, read_array, read_header, rewrite


def test_rewrite_keeps_other_tensors_and_metadata(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {
        "a.embed": rng.standard_normal((7, 3)).astype(ml_dtypes.bfloat16),
        "b.norm": rng.standard_normal(5).astype(np.float32),
        "c.ids": np.arange(3, dtype=np.int64),
        "d.half": rng.standard_normal((2, 2)).astype(np.float16),
    }
    save_file(tensors, str(tmp_path / "src.safetensors"), metadata={"format": "pt", "note": "x"})
    grow = lambda old: np.concatenate([old, np.zeros((2, 3), old.dtype)])  # noqa: E731
    n = rewrite(
        tmp_path / "src.safetensors",
        tmp_path / "dst.safetensors",
        {"a.embed": grow},
        {"a.embed": (9, 3)},
    )
    header, start = read_header(tmp_path / "dst.safetensors")
    assert start % 8 == 0 and header["__metadata__"] == {"format": "pt", "note": "x"}
    assert n == 9 * 3 * 2 + 5 * 4 + 3 * 8 + 4 * 2
    # the library validates the header and offsets; numpy lacks bf16, flax (no x64) would cast int64
    with safe_open(str(tmp_path / "dst.safetensors"), "numpy") as f:
        got = {k: f.get_tensor(k) for k in f.keys() if k != "a.embed"}
    with safe_open(str(tmp_path / "dst.safetensors"), "flax") as f:
        got["a.embed"] = np.asarray(f.get_tensor("a.embed"))
    assert got["a.embed"].dtype == ml_dtypes.bfloat16 and got["a.embed"].shape == (9, 3)
    assert np.array_equal(got["a.embed"][:7].view(np.uint16), tensors["a.embed"].view(np.uint16))
    for k in ("b.norm", "c.ids", "d.half"):
        assert np.array_equal(got[k], tensors[k]) and got[k].dtype == tensors[k].dtype
    assert np.array_equal(
        read_array(tmp_path / "dst.safetensors", header, start, "c.ids"), tensors["c.ids"]
    )


def test_wrong_transform_and_bad_files(tmp_path):
    save_file({"w": np.zeros((2, 2), np.float32)}, str(tmp_path / "s.safetensors"))
    with pytest.raises(SafetensorsFormatError, match="expected float32"):
        rewrite(
            tmp_path / "s.safetensors",
            tmp_path / "d.safetensors",
            {"w": lambda x: x.astype(np.float16)},
            {"w": (2, 2)},
        )
    (tmp_path / "bad.safetensors").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{oops")
    with pytest.raises(SafetensorsFormatError, match="not JSON"):
        read_header(tmp_path / "bad.safetensors")


def test_write_file_checks_each_tensor_and_copy_range_a_cut_file(tmp_path):
    """The shared shard writer (also `zett transfer`'s): bytes per tensor as promised, short sources
    reported."""
    from zett.extend.safetensors_stream import ShardTensor, copy_range, write_array, write_file

    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    ok = ShardTensor(
        "a", "F32", (2, 3), a.nbytes, lambda f: write_array(f, a, np.dtype(np.float32), (2, 3), "a")
    )
    sizes: list[int] = []
    assert write_file(
        tmp_path / "x.safetensors", [ok], {"format": "pt"}, sizes.append
    ) == 24 and sizes == [24]
    with safe_open(str(tmp_path / "x.safetensors"), "numpy") as f:
        assert np.array_equal(f.get_tensor("a"), a) and f.metadata() == {"format": "pt"}
    short = ShardTensor("b", "F32", (2, 3), a.nbytes, lambda f: f.write(a[:1].tobytes()))
    with pytest.raises(SafetensorsFormatError, match="wrote 12 bytes, expected 24"):
        write_file(tmp_path / "y.safetensors", [ok, short], None)
    (tmp_path / "cut.bin").write_bytes(b"\0" * 10)
    with open(tmp_path / "cut.bin", "rb") as fin, open(tmp_path / "z.bin", "wb") as fout:
        with pytest.raises(SafetensorsFormatError, match="ends inside"):
            copy_range(fin, 4, 8, fout, "cut")
