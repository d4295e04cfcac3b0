"""The streaming safetensors writer: files the library reads, byte-identical copies, shards split at
the size limit, vocabulary rows replaced in place."""

from __future__ import annotations

import json
import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

from zett.checkpoint import (
    CheckpointError,
    SafetensorsFormatError,
    TensorSource,
    array_source,
    read_header,
    read_tensor,
    rewrite_file,
    safetensors_sources,
    write_file,
    write_sharded,
)
from zett.checkpoint.sources import copy_range


def _f32(name: str, shape: tuple[int, ...], fill: float) -> TensorSource:
    return array_source(name, np.full(shape, fill, np.float32))


def test_rewrite_file_keeps_other_tensors_and_metadata(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {
        "a.embed_tokens.weight": rng.standard_normal((7, 3)).astype(ml_dtypes.bfloat16),
        "b.norm": rng.standard_normal(5).astype(np.float32),
        "c.ids": np.arange(3, dtype=np.int64),
        "d.half": rng.standard_normal((2, 2)).astype(np.float16),
    }
    save_file(tensors, str(tmp_path / "src.safetensors"), metadata={"format": "pt", "note": "x"})
    grow = lambda old: np.concatenate([old, np.zeros((2, 3), old.dtype)])  # noqa: E731
    n = rewrite_file(
        tmp_path / "src.safetensors",
        tmp_path / "dst.safetensors",
        {"a.embed_tokens.weight": grow},
        9,
    )
    header, start = read_header(tmp_path / "dst.safetensors")
    assert start % 8 == 0 and header["__metadata__"] == {"format": "pt", "note": "x"}
    assert n == 9 * 3 * 2 + 5 * 4 + 3 * 8 + 4 * 2
    # the library validates the header and offsets
    with safe_open(str(tmp_path / "dst.safetensors"), "numpy") as f:
        got = {k: f.get_tensor(k) for k in f.keys()}
    emb = got["a.embed_tokens.weight"]
    assert emb.dtype == ml_dtypes.bfloat16 and emb.shape == (9, 3)
    old = tensors["a.embed_tokens.weight"]
    assert np.array_equal(emb[:7].view(np.uint16), old.view(np.uint16))
    assert not emb[7:].view(np.uint16).any()
    for k in ("b.norm", "c.ids", "d.half"):
        assert np.array_equal(got[k], tensors[k]) and got[k].dtype == tensors[k].dtype
    assert np.array_equal(read_tensor(tmp_path / "dst.safetensors", "c.ids"), tensors["c.ids"])


def test_rewrite_file_checks_what_the_transform_returns(tmp_path):
    save_file({"w": np.zeros((2, 2), np.float32)}, str(tmp_path / "s.safetensors"))
    with pytest.raises(SafetensorsFormatError, match="expected float32"):
        rewrite_file(
            tmp_path / "s.safetensors",
            tmp_path / "d.safetensors",
            {"w": lambda x: x.astype(np.float16)},
            2,
        )
    with pytest.raises(CheckpointError, match="no tensor named 'nope'"):
        rewrite_file(
            tmp_path / "s.safetensors", tmp_path / "d.safetensors", {"nope": np.ones(2)}, 2
        )


def test_write_file_checks_each_tensor_and_copy_range_a_cut_file(tmp_path):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    ok = array_source("a", a)
    sizes: list[int] = []
    assert write_file(tmp_path / "x.safetensors", [ok], {"format": "pt"}, sizes.append) == 24
    assert sizes == [24]
    with safe_open(str(tmp_path / "x.safetensors"), "numpy") as f:
        assert np.array_equal(f.get_tensor("a"), a) and f.metadata() == {"format": "pt"}
    short = TensorSource("b", "F32", (2, 3), lambda: a, copy=lambda f: f.write(a[:1].tobytes()))
    with pytest.raises(SafetensorsFormatError, match="wrote 12 bytes, expected 24"):
        write_file(tmp_path / "y.safetensors", [ok, short], None)
    (tmp_path / "cut.bin").write_bytes(b"\0" * 10)
    with open(tmp_path / "cut.bin", "rb") as fin, open(tmp_path / "z.bin", "wb") as fout:
        with pytest.raises(SafetensorsFormatError, match="ends inside"):
            copy_range(fin, 4, 8, fout, "cut")


def test_write_sharded_splits_at_the_size_limit(tmp_path):
    # 40, 40, 24, 80, 8 bytes under a 64-byte limit: [40] [40 24] [80] [8] (a tensor larger than
    # the limit gets a shard of its own; a shard closes when the next tensor would overflow it)
    tensors = [
        _f32("t0", (10,), 0),
        _f32("t1", (10,), 1),
        _f32("t2", (6,), 2),
        _f32("t3", (20,), 3),
        _f32("t4", (2,), 4),
    ]
    files = write_sharded(tmp_path, tensors, max_shard_bytes=64)
    shards = [f"model-0000{i}-of-00004.safetensors" for i in range(1, 5)]
    assert files == shards + ["model.safetensors.index.json"]
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert index["metadata"]["total_size"] == 40 + 40 + 24 + 80 + 8
    assert index["weight_map"] == {
        "t0": shards[0],
        "t1": shards[1],
        "t2": shards[1],
        "t3": shards[2],
        "t4": shards[3],
    }
    for i, t in enumerate(tensors):
        with safe_open(str(tmp_path / index["weight_map"][t.name]), "numpy") as f:
            assert f.metadata() == {"format": "pt"}
            np.testing.assert_array_equal(f.get_tensor(t.name), np.full(t.shape, i, np.float32))
    # at the limit exactly, one shard; a single file needs no index
    single = tmp_path / "single"
    single.mkdir()
    assert write_sharded(single, tensors, max_shard_bytes=192) == ["model.safetensors"]
    assert sorted(p.name for p in single.iterdir()) == ["model.safetensors"]


def test_saved_models_are_the_same_bytes_in_every_process(tmp_path):
    """`save_pretrained` with provenance metadata gives the same bytes run after run. It wrote through
    safetensors' `save_file`, whose metadata keys come out in a per-process random (hash) order, so
    one `zett convert` gave two different files (seen: 3 runs, 2 hashes)."""
    script = (
        "import sys; from zett.models import build_model; from zett.models.registry import "
        "tiny_config; from zett.models.hf_io import save_pretrained;"
        "save_pretrained(build_model(tiny_config('llama')), sys.argv[1],"
        " provenance={'converted_from': 'tiny', 'dtype': 'float32'})"
    )
    blobs = set()
    for run in range(4):  # separate processes: the order was drawn once per process
        out = tmp_path / str(run)
        subprocess.run([sys.executable, "-c", script, str(out)], check=True)
        blobs.add((out / "model.safetensors").read_bytes())
        header, _ = read_header(out / "model.safetensors")
        assert list(header["__metadata__"]) == ["format", "zett_provenance"]
    assert len(blobs) == 1


def test_write_sharded_rejects_a_tensor_written_twice(tmp_path):
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(CheckpointError, match="'x' would be written twice"):
        write_sharded(tmp_path, [array_source("x", x)] * 2, 100)


def test_sources_copy_bytes_unless_cast(tmp_path):
    bf = np.arange(4, dtype=np.float32).astype(ml_dtypes.bfloat16)
    half = np.arange(2, dtype=np.float16)
    tensors = {"bf": bf, "h": half, "i": np.arange(3, dtype=np.int32)}
    save_file(tensors, str(tmp_path / "model.safetensors"))
    plain = {t.name: t for t in safetensors_sources(tmp_path)}
    assert {n: t.dtype for n, t in plain.items()} == {"bf": "BF16", "h": "F16", "i": "I32"}
    assert all(t.copy is not None for t in plain.values())
    for name, t in plain.items():
        assert t.load().tobytes() == tensors[name].tobytes()
    cast = {t.name: t for t in safetensors_sources(tmp_path, cast=np.dtype(np.float32))}
    assert cast["h"].dtype == "F32" and cast["h"].copy is None
    np.testing.assert_array_equal(cast["h"].load(), half.astype(np.float32))
    assert cast["i"].dtype == "I32" and cast["i"].copy is not None  # integers are never cast
