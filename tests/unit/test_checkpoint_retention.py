"""Checkpoint retention (``train.keep_checkpoints``): the newest N plus the best by eval loss
are kept, the rest removed after each checkpoint (and said in events.jsonl); a resume from a
kept checkpoint is still exact."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.helpers import SAMPLE_CORPUS
from trainer_runtime.worker.checkpoint_files import CheckpointDir, complete_checkpoints, prune, to_prune
from trainer_runtime.worker.testing import (
    log_text,
    metric_series,
    read_events,
    run_worker,
    set_resume,
    start_worker,
    tiny_spec,
    write_job,
)


def _fake_checkpoints(job_dir: Path, losses: dict[int, float | None]) -> list[CheckpointDir]:
    for step, loss in losses.items():
        d = job_dir / "checkpoints" / f"step-{step:08d}"
        d.mkdir(parents=True)
        evaluated = step if loss is not None else step - 1
        (d / "state.json").write_text(
            json.dumps({"step": step, "last_eval_step": evaluated, "eval_loss": loss})
        )
    return complete_checkpoints(job_dir)


def test_the_newest_n_and_the_best_by_eval_loss_are_kept(tmp_path: Path):
    # step 3 has the lowest eval loss of a model evaluated at its own step; step 5's lower value
    # belongs to an evaluation of an earlier model (last_eval_step != step), so it does not count.
    cks = _fake_checkpoints(tmp_path, {1: 3.0, 2: 2.5, 3: 1.0, 4: 2.0, 5: None, 6: 2.2, 7: 2.1, 8: 2.4})
    state5 = tmp_path / "checkpoints" / "step-00000005" / "state.json"
    state5.write_text(json.dumps({"step": 5, "last_eval_step": 4, "eval_loss": 0.1}))
    assert [c.step for c in to_prune(cks, 3)] == [1, 2, 4, 5]
    assert to_prune(cks, 0) == [] and to_prune(cks, 8) == []
    assert [c.step for c in to_prune(cks, 1)] == [1, 2, 4, 5, 6, 7]  # never the newest, never "none"
    (tmp_path / "checkpoints" / ".pruned-step-00000009-1").mkdir()  # a crash midway through a prune
    (tmp_path / "checkpoints" / ".tmp-step-00000009-1").mkdir()  # a checkpoint being written: not ours
    removed = prune(tmp_path, 3)
    assert [c.step for c in removed] == [1, 2, 4, 5]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        ".tmp-step-00000009-1", "step-00000003", "step-00000006", "step-00000007", "step-00000008",
    ]  # fmt: skip


def test_120_checkpoints_keep_3_and_the_best_and_a_resume_stays_exact(tmp_path: Path):
    data = SAMPLE_CORPUS  # with lr 0.03 its eval loss is lowest early (step 20) and rises again
    train = {"max_steps": 120, "batch_size": 4, "seq_len": 32, "lr": 0.03, "eval_every": 10}
    job = write_job(tmp_path / "job", tiny_spec(data, checkpoint_every=1, **train))
    # Train to about the middle, pause there, resume from that (kept) checkpoint.
    worker = start_worker(job)
    deadline = time.monotonic() + 300
    while not any(e["type"] == "metrics" and e["step"] >= 60 for e in read_events(job)):
        assert worker.poll() is None and time.monotonic() < deadline, log_text(job)
        time.sleep(0.05)
    (job / "control").mkdir(exist_ok=True)
    (job / "control" / "pause").touch()
    assert worker.wait(300) == 0, log_text(job)
    paused = read_events(job)[-1]
    assert paused["type"] == "paused" and 60 <= paused["step"] < 120, paused
    set_resume(job, paused["checkpoint"])
    assert run_worker(job) == 0, log_text(job)
    events = read_events(job)
    assert events[-1]["type"] == "completed"

    evals = {s: v for s, v in metric_series(events, "eval_loss") if s > 0}  # each a checkpoint's own model
    best = min(evals, key=lambda s: (evals[s], s))
    assert best < 118, "this run's best eval loss is an old checkpoint (lr 0.03 makes it rise again)"
    kept = sorted(p.name for p in (job / "checkpoints").iterdir())
    assert kept == [f"step-{s:08d}" for s in sorted({best, 118, 119, 120})]
    pruned = [e["step"] for e in events if e["type"] == "checkpoint_pruned"]
    assert sorted(pruned) == sorted(set(range(1, 121)) - {best, 118, 119, 120})  # each once
    saved = [e["step"] for e in events if e["type"] == "checkpoint"]
    assert sorted(set(saved)) == list(range(1, 121))

    # The same job straight through, without checkpoints: the same losses, float for float.
    straight = write_job(tmp_path / "straight", tiny_spec(data, checkpoint_every=0, **train))
    assert run_worker(straight) == 0, log_text(straight)
    resumed = {}
    for s, v in metric_series(events, "loss"):
        resumed.setdefault(s, v)  # steps after the pause point were logged twice (before and after)
    assert list(resumed.items()) == metric_series(read_events(straight), "loss")
