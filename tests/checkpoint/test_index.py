"""Safetensors headers and indexes: every reader of the layer rejects a damaged file or index with
one error naming the file, before any tensor is read."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from safetensors.numpy import save_file

from zett.checkpoint import (
    CheckpointError,
    SafetensorsFormatError,
    iter_tensors,
    read_header,
    read_tensor,
    tensor_entries,
    tensor_shapes,
)


def _header_file(path, header: dict, data: bytes = b"") -> None:
    blob = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + data)


@pytest.fixture
def sharded(tmp_path):
    """Two shards and an index, by hand: a [3, 2] float32 in the first, an int64 [4] in the second."""
    a, b = np.arange(6, dtype=np.float32).reshape(3, 2), np.arange(4, dtype=np.int64)
    save_file({"a": a}, str(tmp_path / "s1.safetensors"))
    save_file({"b": b}, str(tmp_path / "s2.safetensors"))
    index = {"metadata": {}, "weight_map": {"b": "s2.safetensors", "a": "s1.safetensors"}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    return tmp_path, {"a": a, "b": b}


def test_index_entries_shapes_and_tensors(sharded):
    d, want = sharded
    entries = tensor_entries(d)
    assert list(entries) == ["b", "a"]  # index order
    assert {n: (e.file.name, e.dtype, e.shape, e.nbytes) for n, e in entries.items()} == {
        "a": ("s1.safetensors", "F32", (3, 2), 24),
        "b": ("s2.safetensors", "I64", (4,), 32),
    }
    assert tensor_shapes(d / "model.safetensors.index.json") == {"b": (4,), "a": (3, 2)}
    got = dict(iter_tensors(d))
    for name, arr in want.items():
        assert got[name].dtype == arr.dtype and np.array_equal(got[name], arr)
        assert np.array_equal(read_tensor(d, name), arr)
    with pytest.raises(CheckpointError, match="no tensor named 'c'"):
        read_tensor(d, "c")


@pytest.mark.parametrize(
    "weight_map, message",
    [
        ("{not json", r"index\.json: not a valid safetensors index"),
        ({"weight_map": ["a"]}, r"index\.json: not a valid safetensors index.*not a mapping"),
        ({"metadata": {}}, r"index\.json: not a valid safetensors index.*weight_map"),
        (
            {"weight_map": {"a": "s1.safetensors", "b": "s9.safetensors"}},
            r"index\.json: shard s9\.safetensors \(holding 'b', \.\.\.\) does not exist",
        ),
        (
            {"weight_map": {"a": "s1.safetensors", "ghost": "s1.safetensors"}},
            r"index\.json: tensor 'ghost' is listed in s1\.safetensors but is not in that file",
        ),
    ],
    ids=["not-json", "not-a-mapping", "no-weight-map", "missing-shard", "ghost-tensor"],
)
def test_bad_index_is_rejected_naming_it(sharded, weight_map, message):
    d, _ = sharded
    index = d / "model.safetensors.index.json"
    index.write_text(weight_map if isinstance(weight_map, str) else json.dumps(weight_map))
    for read in (tensor_entries, tensor_shapes, lambda p: dict(iter_tensors(p))):
        with pytest.raises(CheckpointError, match=message) as err:
            read(d)
        assert str(index) in str(err.value)


def test_directory_without_weights(tmp_path):
    (tmp_path / "other.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"no model\.safetensors or .*found \['other"):
        tensor_entries(tmp_path)


@pytest.mark.parametrize(
    "header, data, message",
    [
        ({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4, "truncated"),
        ({"x": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8, "unknown dtype"),
        ({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8, "spans 8 bytes"),
        ({"x": {"dtype": "F32", "shape": [2]}}, b"\0" * 8, "'x' is malformed"),
        ([1, 2], b"", "not a JSON object"),
    ],
    ids=["truncated", "unknown-dtype", "wrong-span", "no-offsets", "not-object"],
)
def test_bad_headers(tmp_path, header, data, message):
    f = tmp_path / "model.safetensors"
    _header_file(f, header, data)
    with pytest.raises(SafetensorsFormatError, match=message) as err:
        read_header(f)
    assert str(f) in str(err.value)
    with pytest.raises(CheckpointError, match=message):  # one error type for every caller
        tensor_shapes(tmp_path)


def test_short_and_garbage_files(tmp_path):
    f = tmp_path / "x.safetensors"
    f.write_bytes(b"\x05\x00")
    with pytest.raises(SafetensorsFormatError, match="too short for a safetensors header"):
        read_header(f)
    f.write_bytes(struct.pack("<Q", 2**40) + b"{}")
    with pytest.raises(SafetensorsFormatError, match="implausible"):
        read_header(f)
    f.write_bytes(struct.pack("<Q", 50) + b"{}")
    with pytest.raises(SafetensorsFormatError, match="ends inside the header"):
        read_header(f)
    f.write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{oops")
    with pytest.raises(SafetensorsFormatError, match="not JSON"):
        read_header(f)
