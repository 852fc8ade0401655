"""Real worker subprocesses on a tiny GPT-2: completion, the events contract, pause/resume, cancel."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainer_runtime.worker import allocator
from trainer_runtime.worker.testing import (
    log_text,
    make_corpus,
    metric_series,
    read_events,
    run_worker,
    set_resume,
    start_worker,
    tiny_spec,
    write_job,
)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    p = tmp_path / "corpus.txt"
    p.write_text(make_corpus(300), encoding="utf-8")
    return p


def wait_until(cond, timeout: float = 120, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def training_series(events: list[dict]) -> list[tuple[int, dict]]:
    """(step, values without tokens_per_s) of every metrics event, in order."""
    out = []
    for e in events:
        if e["type"] == "metrics":
            out.append((e["step"], {k: v for k, v in e["values"].items() if k != "tokens_per_s"}))
    return out


@pytest.mark.parametrize("method", ["lora", "full"])
def test_job_completes_and_follows_the_events_contract(tmp_path: Path, corpus: Path, method: str):
    steps = 40
    job = write_job(tmp_path / "job", tiny_spec(corpus, method=method, max_steps=steps, eval_every=20))
    assert run_worker(job) == 0, log_text(job)
    events = read_events(job)
    assert all({"type", "time"} <= e.keys() for e in events)
    started = events[0]
    assert started["type"] == "started" and started["step"] == 0 and started["total_steps"] == steps
    assert started["world_size"] == 1 and started["device"] == "cpu" and started["resumed_from"] is None
    assert 0 < started["params_trainable"] <= started["params_total"]
    if method == "lora":
        assert started["params_trainable"] < started["params_total"] // 10
    else:
        assert started["params_trainable"] == started["params_total"]
    losses = metric_series(events, "loss")
    assert [s for s, _ in losses] == list(range(1, steps + 1))
    for key in ("lr", "grad_norm", "tokens_per_s"):
        assert len(metric_series(events, key)) == steps
    evals = metric_series(events, "eval_loss")
    assert [s for s, _ in evals] == [0, 20, 40]
    assert evals[-1][1] < evals[0][1], evals
    assert events[-2] == {
        **events[-2],
        "type": "checkpoint",
        "step": steps,
        "path": "checkpoints/step-00000040",
    }
    assert events[-1]["type"] == "completed" and events[-1]["step"] == steps
    kind = "adapter" if method == "lora" else "model"
    assert events[-1]["artifact"] == {"kind": kind, "path": "final"}
    final = job / "final"
    assert (final / "tokenizer.json").is_file() and (job / "tokenizer" / "tokenizer.json").is_file()
    assert (final / ("adapter_model.safetensors" if method == "lora" else "model.safetensors")).is_file()
    assert not (job / "error.json").exists()
    if sys.platform.startswith("linux") and allocator.user_choice(os.environ) is None:
        assert "allocator: glibc malloc reuses freed blocks below 256 MiB" in log_text(job)


@pytest.mark.parametrize("method", ["lora", "full"])
def test_pause_and_resume_give_exactly_the_uninterrupted_losses(tmp_path: Path, corpus: Path, method: str):
    """Pause once by control/pause and once by SIGUSR1, at steps chosen by timing; resume each time.

    The metrics of the three segments together equal those of an uninterrupted run, value for
    value (loss, lr, grad_norm, eval_loss), and no step is logged twice.
    """
    steps = 400
    train = {
        "max_steps": steps,
        "eval_every": 25,
        "checkpoint_every": 150,
        "warmup_steps": 10,
        "weight_decay": 0.01,
    }
    spec = tiny_spec(corpus, method=method, **train)
    if method == "lora":
        spec["lora"] = {"r": 4, "alpha": 8, "dropout": 0.1}  # dropout: the RNG state must resume too
    ref = write_job(tmp_path / "ref", spec)
    job = write_job(tmp_path / "job", spec)
    reference = start_worker(ref)  # runs alongside the paused job

    def pause_after_some_progress(how: str) -> int:
        before = len(metric_series(read_events(job), "loss"))
        p = start_worker(job)
        wait_until(lambda: len(metric_series(read_events(job), "loss")) > before, what="training to log")
        if how == "file":
            (job / "control").mkdir(exist_ok=True)
            (job / "control" / "pause").touch()
        else:
            p.send_signal(signal.SIGUSR1)
        assert p.wait(timeout=120) == 0, log_text(job)
        paused = read_events(job)[-1]
        assert paused["type"] == "paused", paused
        assert (job / paused["checkpoint"] / "state.json").is_file()
        assert not (job / "control" / "pause").exists()  # consumed: the resumed run goes on
        set_resume(job, paused["checkpoint"])
        return paused["step"]

    first = pause_after_some_progress("file")
    second = pause_after_some_progress("signal")
    assert 0 < first < second < steps
    assert run_worker(job) == 0, log_text(job)
    assert reference.wait(timeout=300) == 0, log_text(ref)

    events = read_events(job)
    starts = [e for e in events if e["type"] == "started"]
    assert [s["step"] for s in starts] == [0, first, second]
    assert starts[1]["resumed_from"] == f"checkpoints/step-{first:08d}"
    got, want = training_series(events), training_series(read_events(ref))
    assert [s for s, _ in got] == [s for s, _ in want]
    assert got == want
    assert events[-1]["type"] == "completed"


def test_sigterm_cancels_promptly_and_flushes_events(tmp_path: Path, corpus: Path):
    job = write_job(tmp_path / "job", tiny_spec(corpus, max_steps=100_000, eval_every=0))
    p = start_worker(job)
    wait_until(lambda: metric_series(read_events(job), "loss"), what="training to log")
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == -signal.SIGTERM
    events = read_events(job)
    assert events[0]["type"] == "started" and events[-1]["type"] == "metrics"
    assert (job / "events.jsonl").read_bytes().endswith(b"\n")
    assert not (job / "error.json").exists()
    assert "cancelled (SIGTERM)" in log_text(job)


def test_bad_command_line_exits_2(tmp_path: Path):
    out = subprocess.run(
        [sys.executable, "-m", "trainer_runtime.worker"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2 and "job_dir" in out.stderr
