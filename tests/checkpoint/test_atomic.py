"""Atomic writes: a finished file or directory appears whole, a failed one leaves nothing behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zett.checkpoint import atomic_dir, atomic_path, check_output_dir, write_atomic


def test_write_atomic_bytes_text_and_lines(tmp_path):
    assert write_atomic(tmp_path / "b.bin", b"\x00\xff").read_bytes() == b"\x00\xff"
    assert (write_atomic(tmp_path / "t.txt", "grüß")).read_bytes() == "grüß".encode()
    lines = (f"{i}\n" for i in range(3))  # streamed, never a list
    assert write_atomic(tmp_path / "sub" / "l.txt", lines).read_text() == "0\n1\n2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin", "sub", "t.txt"]


def test_failed_file_write_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "f.json"
    target.write_text("old")

    def lines():
        yield "half"
        raise RuntimeError("writer died")

    with pytest.raises(RuntimeError, match="writer died"):
        write_atomic(target, lines())
    with pytest.raises(KeyError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise KeyError("x")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["f.json"]


def test_atomic_files_get_ordinary_permissions(tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("x")
    assert (write_atomic(tmp_path / "a", "x").stat().st_mode & 0o777) == (
        plain.stat().st_mode & 0o777
    )
    with atomic_dir(tmp_path / "d") as tmp:
        (tmp / "x").write_text("x")
    (tmp_path / "plain_dir").mkdir()
    assert ((tmp_path / "d").stat().st_mode & 0o777) == (
        (tmp_path / "plain_dir").stat().st_mode & 0o777
    )


def test_atomic_dir_refuses_non_empty_and_replaces_only_on_success(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep").write_text("precious")
    with pytest.raises(FileExistsError, match="not empty.*--overwrite"):
        check_output_dir(out)
    with pytest.raises(FileExistsError):
        with atomic_dir(out):
            pass
    with pytest.raises(RuntimeError):
        with atomic_dir(out, overwrite=True) as tmp:
            (tmp / "half").write_text("x")
            raise RuntimeError("failed while writing")
    assert os.listdir(out) == ["keep"] and sorted(os.listdir(tmp_path)) == ["out"]
    with atomic_dir(out, overwrite=True) as tmp:
        (tmp / "new").write_text("y")
    assert os.listdir(out) == ["new"] and sorted(os.listdir(tmp_path)) == ["out"]
    # a failure with no destination leaves no destination
    with pytest.raises(ValueError):
        with atomic_dir(tmp_path / "fresh") as tmp:
            raise ValueError
    assert sorted(os.listdir(tmp_path)) == ["out"]
    (tmp_path / "empty").mkdir()
    assert check_output_dir(tmp_path / "empty") == (tmp_path / "empty").absolute()


def test_a_failed_write_removes_the_directories_it_created(tmp_path):
    (tmp_path / "kept").mkdir()
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "kept" / "a" / "b" / "f.json"):
            raise RuntimeError("disk full")
    with pytest.raises(RuntimeError):
        with atomic_dir(tmp_path / "x" / "y" / "out"):
            raise RuntimeError("disk full")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == [Path("kept")]
