"""Job specs and their inputs: every bad input gets a sentence naming the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer_runtime.jobs.checks import check_dataset_file, check_model_folder
from trainer_runtime.jobs.spec import SpecError, load_spec_file, parse_spec

BASE = {
    "name": "ok",
    "model": {"builtin": "tiny-gpt2"},
    "dataset": {"path": "/data/c.txt"},
    "train": {"max_steps": 10},
}


def problems(data) -> dict[str, str]:
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    return dict(info.value.problems)


def test_valid_spec_fills_defaults():
    spec = parse_spec(BASE)
    assert spec.method == "lora" and spec.lora is not None and spec.lora.r == 8
    assert spec.train.batch_size == 8 and spec.resources.devices == 1


def test_unknown_fields_are_named():
    p = problems({**BASE, "colour": "red", "train": {"max_steps": 5, "bogus": 1}})
    assert p == {"colour": "unknown field", "train.bogus": "unknown field"}


def test_wrong_types_and_negative_steps_are_named():
    p = problems({**BASE, "train": {"max_steps": -3, "lr": "fast"}, "resources": {"devices": 0}})
    assert "greater than 0" in p["train.max_steps"]
    assert "number" in p["train.lr"]
    assert "greater than or equal to 1" in p["resources.devices"]


def test_model_needs_exactly_one_source_and_known_builtin():
    assert "exactly one" in problems({**BASE, "model": {"builtin": "tiny-gpt2", "path": "/m"}})["model"]
    assert "tiny-gpt2" in problems({**BASE, "model": {"builtin": "gpt-17"}})["model.builtin"]


def test_name_rules_and_lora_with_full():
    assert "letters" in problems({**BASE, "name": "../etc"})["name"]
    assert "method is 'full'" in problems({**BASE, "method": "full", "lora": {"r": 4}})[""]


def test_not_a_mapping():
    assert "mapping" in problems(["a", "b"])[""]


def test_yaml_file_errors(tmp_path: Path):
    with pytest.raises(SpecError, match="not found"):
        load_spec_file(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec_file(bad)


def test_relative_dataset_path_resolves_against_spec_folder(tmp_path: Path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "c.txt").write_text("hello")
    f = tmp_path / "s.yaml"
    f.write_text(json.dumps({**BASE, "dataset": {"path": "data/c.txt"}}))
    assert load_spec_file(f).dataset.path == str(tmp_path / "data" / "c.txt")


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (None, "missing.txt", "not found"),
        (b"", "empty.txt", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image.txt", "binary"),
        ("caf\u00e9 au lait".encode("latin-1") + b" and more text", "latin.txt", "not UTF-8"),
        (b"   \n\n  ", "blank.txt", "no text"),
        (b"text", "data.csv", "unsupported dataset format"),
        (b'{"text": "a"}\nnot json\n', "rows.jsonl", "line 2 of rows.jsonl is not JSON"),
        (b'{"body": "a"}\n', "rows2.jsonl", "no string field 'text'"),
    ],
)
def test_bad_datasets(tmp_path: Path, content: bytes | None, name: str, message: str):
    p = tmp_path / name
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(SpecError, match=message) as info:
        check_dataset_file(p)
    assert info.value.problems[0][0] == "dataset.path"


def test_dataset_folder_is_refused(tmp_path: Path):
    with pytest.raises(SpecError, match="is a folder"):
        check_dataset_file(tmp_path)


def test_model_folder_that_is_not_a_model(tmp_path: Path):
    with pytest.raises(SpecError, match="model folder not found"):
        check_model_folder(tmp_path / "nope")
    with pytest.raises(SpecError, match="no config.json"):
        check_model_folder(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(SpecError, match="not valid JSON"):
        check_model_folder(tmp_path)
    (tmp_path / "config.json").write_text('{"hidden_size": 4}')
    with pytest.raises(SpecError, match="names no model_type"):
        check_model_folder(tmp_path)
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    assert check_model_folder(tmp_path)["model_type"] == "gpt2"
