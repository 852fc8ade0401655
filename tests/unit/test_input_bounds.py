"""Specs are bounded and strict (no string or boolean numbers, no Infinity, no control
characters, a bounded number of tags), YAML's ``3e-4`` is a number, and redaction masks free
text only: a real path that holds a secret's value is never rewritten."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from trainer_runtime.jobs.spec import SpecError, load_spec_file, parse_spec, resolve_paths
from trainer_runtime.secrets.redact import MASK, MIN_SECRET_LEN, Redactor

MAX_TAGS = 100  # the spec's bound
BASE = {
    "name": "x",
    "model": {"builtin": "tiny-gpt2"},
    "dataset": {"path": "/data/c.txt"},
    "train": {"max_steps": 5},
}


def with_(dotted: str, value) -> dict:
    spec = copy.deepcopy(BASE)
    *parents, leaf = dotted.split(".")
    node = spec
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value
    return spec


@pytest.mark.parametrize(
    ("dotted", "value", "field", "words"),
    [
        ("train.seed", 10**30, "train.seed", "less than or equal to 4294967295"),
        ("train.weight_decay", float("inf"), "train.weight_decay", "finite"),
        ("train.max_grad_norm", float("nan"), "train.max_grad_norm", "finite"),
        ("train.lr", float("inf"), "train.lr", "finite"),
        ("resources.memory_gb", float("inf"), "resources.memory_gb", "finite"),
        ("lora.alpha", float("inf"), "lora.alpha", "finite"),
        ("lora.alpha", 1e9, "lora.alpha", "less than or equal"),
        ("train.max_steps", "5", "train.max_steps", "valid integer"),
        ("train.max_steps", True, "train.max_steps", "valid integer"),
        ("train.max_steps", 5.0, "train.max_steps", "valid integer"),
        ("train.lr", "3e-4", "train.lr", "valid number"),
        ("train.warmup_steps", 2**62, "train.warmup_steps", "less than or equal"),
        ("experiment", "a\x00b", "experiment", "control characters"),
        ("experiment", "tab\there", "experiment", "control characters"),
        ("name", "job\n", "name", "use 1-80 letters"),
        ("tags", {"k": "v\x1b[31m"}, "tags.k", "control characters"),
        ("tags", {f"t{i}": "v" for i in range(MAX_TAGS + 1)}, "tags", "at most 100 items"),
        ("tags", {"k" * 300: "v"}, "tags.", "at most 250"),
        ("dataset.path", "/data/\x00.txt", "dataset.path", "control characters"),
        ("dataset.path", "/data/" + "n" * 256 + ".txt", "dataset.path", "too long"),
        ("dataset.text_field", "t\x00", "dataset.text_field", "control characters"),
        ("model", {"hub_id": "org/name; rm -rf"}, "model.hub_id", "owner/name"),
    ],
)
def test_invalid_values_are_refused_with_the_field_named(dotted, value, field, words) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(with_(dotted, value))
    problems = dict(info.value.problems)
    hit = [f for f in problems if f == field or f.startswith(field)]
    assert hit and words in problems[hit[0]], info.value.problems


def test_a_dataset_hash_is_64_hex_digits_and_only_with_a_name() -> None:
    with pytest.raises(SpecError, match="leave dataset.hash out"):
        parse_spec(with_("dataset", {"name": "ds", "version": 1, "hash": "forged"}))
    with pytest.raises(SpecError, match="belong to a dataset.name"):
        parse_spec(with_("dataset", {"path": "/data/c.txt", "hash": "a" * 64}))
    spec = parse_spec(with_("dataset", {"name": "ds", "version": 2, "hash": "a" * 64, "path": "/m/x"}))
    assert spec.dataset.hash == "a" * 64  # the shape of a resolved spec; the daemon checks the value
    with pytest.raises(SpecError, match="version number"):
        parse_spec(with_("dataset", {"name": "ds", "version": "2"}))


def test_yaml_numbers_are_numbers(tmp_path: Path) -> None:
    f = tmp_path / "spec.yaml"
    f.write_text(
        "name: y\nmodel: {builtin: tiny-gpt2}\ndataset: {path: c.txt}\n"
        "train: {max_steps: 5, lr: 3e-4, weight_decay: 1E-2, seed: 7}\nlora: {alpha: 1.6e1}\n"
    )
    spec = load_spec_file(f)
    assert (spec.train.lr, spec.train.weight_decay, spec.train.seed, spec.lora.alpha) == (3e-4, 0.01, 7, 16.0)
    assert spec.train.max_steps == 5 and isinstance(spec.train.max_steps, int)
    f.write_text("name: y\nmodel: {builtin: tiny-gpt2}\ndataset: {path: c.txt}\ntrain: {max_steps: '5'}\n")
    with pytest.raises(SpecError, match="train.max_steps: Input should be a valid integer"):
        load_spec_file(f)


def test_resolving_paths_never_fails_on_odd_ones(tmp_path: Path) -> None:
    spec = with_("dataset.path", "n" * 5000)
    assert resolve_paths(spec, tmp_path)["dataset"]["path"] == "n" * 5000  # left for validation
    assert resolve_paths(with_("dataset.path", "c.txt"), tmp_path)["dataset"]["path"] == str(
        tmp_path / "c.txt"
    )


# ------------------------------------------------------------------------ redaction
SECRET = "hf_AbCdEf0123456789ghijkl"


def test_paths_and_names_are_never_rewritten_free_text_is() -> None:
    r = Redactor([SECRET])
    path = f"/data/{SECRET}/corpus.txt"
    spec = with_("dataset.path", path)
    spec["experiment"] = f"runs with {SECRET}"
    spec["tags"] = {"note": f"token {SECRET}", "path": SECRET}
    spec["model"] = {"path": f"/models/{SECRET}"}
    out = r.redact_obj(spec)
    assert out["dataset"]["path"] == path and out["model"]["path"] == f"/models/{SECRET}"
    assert out["experiment"] == f"runs with {MASK}"
    assert out["tags"] == {"note": f"token {MASK}", "path": MASK}  # a tag is free text, whatever its key
    parse_spec(out)  # still a valid spec
    event = {"type": "checkpoint", "path": f"checkpoints/{SECRET}", "message": f"saved {SECRET}"}
    assert r.redact_obj(event) == {
        "type": "checkpoint",
        "path": f"checkpoints/{SECRET}",
        "message": f"saved {MASK}",
    }
    record = {"error": f"401 for {SECRET}", "traceback": f"... {SECRET} ..."}
    assert SECRET not in str(r.redact_obj(record))


def test_short_values_mask_nothing() -> None:
    assert MIN_SECRET_LEN == 8
    r = Redactor(["data", "model", "abcdefg"])  # shorter than 8: no real credential is that short
    assert not r
    assert r("/data/model/abcdefg.txt") == "/data/model/abcdefg.txt"
    assert Redactor(["abcdefgh"])("x abcdefgh y") == f"x {MASK} y"
