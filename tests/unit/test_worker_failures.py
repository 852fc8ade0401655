"""Worker failures reach the user as one sentence in error.json (and the log), with exit code 1;
secrets never reach any file of the job dir."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from trainer_runtime.secrets.redact import MASK
from trainer_runtime.worker.testing import (
    log_text,
    make_corpus,
    read_events,
    run_worker,
    tiny_spec,
    worker_env,
    write_job,
)


def run_failing(job: Path, env: dict | None = None) -> dict:
    assert run_worker(job, env=env) == 1, log_text(job)
    err = json.loads((job / "error.json").read_text(encoding="utf-8"))
    keys = {"error", "type", "traceback", "time"}
    assert set(err) == (keys | DISK_FULL_KEYS if err.get("disk_full") else keys)
    assert err["error"] in log_text(job) and "Traceback" in err["traceback"]
    return err


DISK_FULL_KEYS = {"disk_full", "checkpoint_step", "resume_from", "resume_step"}


def _write(p: Path, data: bytes) -> Path:
    p.write_bytes(data)
    return p


BAD_DATASETS = {
    "missing": (lambda d: d / "nope.txt", "dataset file not found"),
    "empty": (lambda d: _write(d / "empty.txt", b""), "dataset file is empty"),
    "binary": (lambda d: _write(d / "blob.txt", b"\x89PNG\x00\x00\x01\x02" * 64), "looks binary"),
    "not-utf8": (
        lambda d: _write(d / "latin1.txt", "Café crème\n".encode("latin-1") * 50),
        "is not UTF-8 text",
    ),
    "jsonl-field": (lambda d: _write(d / "rows.jsonl", b'{"body": "hi"}\n'), "has no string field 'text'"),
}


@pytest.mark.parametrize("case", list(BAD_DATASETS))
def test_bad_dataset_fails_with_the_check_sentence(tmp_path: Path, case: str):
    make, phrase = BAD_DATASETS[case]
    path = make(tmp_path)
    err = run_failing(write_job(tmp_path / "job", tiny_spec(path)))
    assert err["type"] == "SpecError"
    assert err["error"].startswith("dataset.path: ") and phrase in err["error"], err["error"]
    assert path.name in err["error"]


def test_bad_byte_past_the_probe_is_caught_while_reading(tmp_path: Path):
    """checks.py reads the first MiB; the worker reads all of it and says the same thing."""
    text = make_corpus(300).encode()
    data = _write(tmp_path / "big.txt", text * (2_000_000 // len(text) + 1) + b"\xff\xfe tail\n")
    err = run_failing(write_job(tmp_path / "job", tiny_spec(data)))
    assert err["type"] == "WorkerError"
    assert "dataset file is not UTF-8 text (bad byte at offset" in err["error"]


def test_dataset_too_small_names_the_sizes(tmp_path: Path):
    data = _write(tmp_path / "tiny.txt", b"Just a few words here.\n")
    err = run_failing(write_job(tmp_path / "job", tiny_spec(data, seq_len=64)))
    assert "too small for train.seq_len 64" in err["error"] and "tokens" in err["error"]
    assert "lower train.seq_len" in err["error"]


def test_model_folder_without_config_fails_clearly(tmp_path: Path):
    data = _write(tmp_path / "c.txt", make_corpus(50).encode())
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"\x00" * 16)
    spec = tiny_spec(data)
    spec["model"] = {"path": str(folder)}
    err = run_failing(write_job(tmp_path / "job", spec))
    assert err["error"] == f"model.path: {folder} is not a Hugging Face model folder: it has no config.json"


def test_invalid_spec_fails_with_the_field(tmp_path: Path):
    data = _write(tmp_path / "c.txt", make_corpus(50).encode())
    spec = tiny_spec(data)
    spec["train"]["learning_rate"] = 0.1
    err = run_failing(write_job(tmp_path / "job", spec))
    assert err == {**err, "type": "SpecError", "error": "train.learning_rate: unknown field"}


def test_disk_full_during_checkpoint_keeps_the_earlier_one(tmp_path: Path, tmpfs):
    data = _write(tmp_path / "c.txt", make_corpus(300).encode())
    spec = tiny_spec(data, max_steps=30, checkpoint_every=10, eval_every=0)
    spec["lora"] = {"r": 8}
    job = write_job(tmp_path / "job", spec)
    tmpfs(job / "checkpoints", "120k")  # one LoRA checkpoint (~80 KiB in pages) fits, two do not
    err = run_failing(job)
    assert err["type"] == "CheckpointWriteError"
    assert err["error"] == (
        f"the disk holding {job / 'checkpoints'} is full while writing checkpoint step 20; "
        "free space and resume (continues from step 10)."
    )
    assert err["disk_full"] is True and err["checkpoint_step"] == 20
    assert (err["resume_from"], err["resume_step"]) == ("checkpoints/step-00000010", 10)
    assert not list(job.glob(".disk-reserve-*"))  # given back on the way out
    assert sorted(p.name for p in (job / "checkpoints").iterdir()) == ["step-00000010"]
    from trainer_runtime.worker.checkpoint import load_checkpoint

    assert load_checkpoint(job / "checkpoints" / "step-00000010")["state"]["step"] == 10
    assert [e["step"] for e in read_events(job) if e["type"] == "checkpoint"] == [10]


SECRET = "hf_TestSecretValue_0123456789abcdef"


def test_secret_is_fingerprinted_and_never_written(tmp_path: Path):
    data = _write(tmp_path / "c.txt", make_corpus(200).encode())
    job = write_job(tmp_path / "job", tiny_spec(data, max_steps=5, eval_every=0))
    env = worker_env(HF_TOKEN=SECRET, SPARKTRAINER_SECRET_NAMES="HF_TOKEN")
    assert run_worker(job, env=env) == 0, log_text(job)
    fp = hashlib.sha256(SECRET.encode()).hexdigest()[:12]
    assert f"credential HF_TOKEN available (sha256 {fp})" in log_text(job)
    assert read_events(job)[0]["credentials"] == ["HF_TOKEN"]
    for f in job.rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f


def test_secret_in_an_error_is_redacted(tmp_path: Path):
    """A secret that turns up in an error message (here: in a path) is masked in error.json and the log."""
    data = _write(tmp_path / "c.txt", make_corpus(50).encode())
    spec = tiny_spec(data)
    spec["model"] = {"path": str(tmp_path / f"models-{SECRET}")}
    job = write_job(tmp_path / "job", spec)
    env = worker_env(HF_TOKEN=SECRET, SPARKTRAINER_SECRET_NAMES="HF_TOKEN")
    err = run_failing(job, env=env)
    assert f"models-{MASK}" in err["error"] and "model folder not found" in err["error"]
    for f in (job / "error.json", job / "log.txt"):
        assert SECRET not in f.read_text(encoding="utf-8"), f
