"""Each bad SFT input gets the same sentence, naming the line or example and the field, at submit
(``sparktrainer jobs submit``: refused before anything is queued) and at preview
(``sparktrainer datasets preview``), through a real daemon."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import cli

pytestmark = pytest.mark.e2e

SYSTEM = {"role": "system", "content": "Be brief."}


def _jsonl(rows: list) -> bytes:
    return "\n".join(json.dumps(r) for r in rows).encode("utf-8")


def _chat(*turns: tuple[str, str]) -> dict:
    return {"messages": [{"role": r, "content": c} for r, c in turns]}


CASES = {
    "mixed formats": (
        "mixed.jsonl",
        _jsonl([{"instruction": "a", "output": "b"}, {"prompt": "c", "completion": "d"}]),
        {},
        "line 2 of mixed.jsonl is prompt-completion (fields 'prompt', 'completion') but line 1 of "
        "mixed.jsonl is alpaca",
    ),
    "no assistant turn": (
        "noanswer.jsonl",
        _jsonl([_chat(("user", "hi"), ("assistant", "yo")), _chat(("system", "x"), ("user", "hi"))]),
        {},
        "line 2 of noanswer.jsonl has no assistant turn (roles found: system, user)",
    ),
    "empty content": (
        "empty.json",
        json.dumps([{"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": " "}]}]).encode(),
        {},
        "example 1 of empty.json: field conversations[2].value is empty",
    ),
    "not UTF-8": (
        "latin1.jsonl",
        b'{"prompt": "a", "completion": "b"}\n{"prompt": "caf\xe9", "completion": "b"}\n',
        {},
        "line 2 of latin1.jsonl is not valid UTF-8 (byte 0xe9 at column 16)",
    ),
    "mapping names missing fields": (
        "qa.jsonl",
        _jsonl([{"question": "a", "answer": "b"}]),
        {"format": "alpaca", "columns": {"instruction": "query", "output": "answer"}},
        "query",
    ),
    "roles the template cannot render": (
        "system.jsonl",
        _jsonl([_chat(("user", "hi"), ("assistant", "yo")), _chat(("system", "x"), ("user", "hi"), ("assistant", "yo"))]),
        {"template": "gemma"},
        "line 2 of system.jsonl: the chat template cannot render this conversation (System role not supported)",
    ),
    "a template that does not exist": ("ok.jsonl", _jsonl([{"prompt": "a", "completion": "b"}]), {"template": "vicuna"}, "vicuna"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_input_is_named_at_submit_and_at_preview(daemon, tmp_path: Path, case: str) -> None:
    name, body, extra, sentence = CASES[case]
    data = tmp_path / name
    data.write_bytes(body)
    dataset: dict = {"path": str(data)}
    sft: dict = {}
    if "format" in extra:
        dataset.update(format=extra["format"], columns=extra["columns"])
    if "template" in extra:
        sft["template"] = extra["template"]
    spec = {
        "name": "bad", "recipe": "sft", "model": {"builtin": "tiny-gpt2"}, "method": "full",
        "dataset": dataset, "train": {"max_steps": 2, "seq_len": 64},
    }  # fmt: skip
    if sft:
        spec["sft"] = sft
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")

    submit = cli("jobs", "submit", str(spec_path))
    assert submit.returncode == 2, submit.stdout + submit.stderr
    assert sentence in submit.stderr, submit.stderr
    field = "sft.template" if case == "a template that does not exist" else "dataset"
    assert field in submit.stderr
    assert daemon.jobs() == []  # refused before anything was queued

    args = ["datasets", "preview", str(data), "--model", "tiny-gpt2", "--seq-len", "64"]
    if "format" in extra:
        cols = ",".join(f"{k}={v}" for k, v in extra["columns"].items())
        args += ["--format", extra["format"], "--columns", cols]
    if "template" in extra:
        args += ["--template", extra["template"]]
    preview = cli(*args)
    assert preview.returncode != 0, preview.stdout
    assert sentence in preview.stderr and field in preview.stderr, preview.stderr
