"""The worker under torchrun: two CPU processes with gloo, as the daemon launches devices=2."""

from __future__ import annotations

import json
from pathlib import Path

from trainer_runtime.worker.testing import (
    log_text,
    make_corpus,
    metric_series,
    read_events,
    run_worker,
    set_resume,
    tiny_spec,
    write_job,
)


def test_two_processes_pause_resume_and_complete(tmp_path: Path):
    data = tmp_path / "c.txt"
    data.write_text(make_corpus(300), encoding="utf-8")
    spec = tiny_spec(data, max_steps=20, eval_every=10, checkpoint_every=0)
    spec["resources"] = {"devices": 2}
    job = write_job(tmp_path / "job", spec)
    # A pause asked for before the start: every rank stops after step 1 (agreed by all-reduce).
    (job / "control").mkdir()
    (job / "control" / "pause").touch()
    assert run_worker(job, nproc=2) == 0, log_text(job)
    events = read_events(job)
    assert events[0]["type"] == "started" and events[0]["world_size"] == 2
    assert events[-1] == {
        **events[-1],
        "type": "paused",
        "step": 1,
        "checkpoint": "checkpoints/step-00000001",
    }
    state = json.loads((job / "checkpoints" / "step-00000001" / "state.json").read_text())
    assert state["world_size"] == 2 and state["data_position"] == 8

    set_resume(job, "checkpoints/step-00000001")
    assert run_worker(job, nproc=2) == 0, log_text(job)
    events = read_events(job)
    assert [e["type"] for e in events].count("started") == 2  # rank 0 alone writes events
    assert events[-1] == {**events[-1], "type": "completed", "step": 20}
    assert [s for s, _ in metric_series(events, "loss")] == list(range(1, 21))
    assert [s for s, _ in metric_series(events, "eval_loss")] == [0, 10, 20]
    assert (job / "final" / "adapter_model.safetensors").is_file()
    assert not (job / "error.json").exists()
    log = log_text(job)
    assert "[rank 0]" in log and log.count("worker finished") == 2  # other ranks log warnings only
