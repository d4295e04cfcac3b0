"""`read_json_object`: the one reader of JSON files that must hold an object (config.json of a model
directory, hypernet.json of a hypernet directory) gives the same errors, naming the file, for both."""

import json

import pytest

from zett.checkpoint import CheckpointError, read_hf_config, read_json_object
from zett.hypernet.checkpoint import HYPERNET_META, read_hypernet_meta


def test_an_object_comes_back_as_a_dict(tmp_path):
    file = tmp_path / "x.json"
    file.write_text(json.dumps({"a": [1, 2], "b": {"c": None}}))
    assert read_json_object(file) == {"a": [1, 2], "b": {"c": None}}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{x", "invalid JSON"),
        (b"\xff\xfe{}", "invalid JSON"),
        ("[1, 2]", "top level must be a JSON object"),
        ('"text"', "top level must be a JSON object"),
    ],
)
@pytest.mark.parametrize("reader", ["hf_config", "hypernet_meta"])
def test_both_readers_name_the_file_and_the_fault(tmp_path, content, message, reader):
    name, read = {
        "hf_config": ("config.json", read_hf_config),
        "hypernet_meta": (HYPERNET_META, read_hypernet_meta),
    }[reader]
    file = tmp_path / name
    if isinstance(content, bytes):
        file.write_bytes(content)
    else:
        file.write_text(content)
    with pytest.raises(CheckpointError, match=message) as err:
        read(tmp_path)
    assert str(file) in str(err.value)


def test_a_missing_file_says_what_the_directory_is_not(tmp_path):
    with pytest.raises(CheckpointError, match="not a Hugging Face model directory"):
        read_hf_config(tmp_path)
    with pytest.raises(FileNotFoundError, match="not a zett hypernet directory"):
        read_hypernet_meta(tmp_path)
