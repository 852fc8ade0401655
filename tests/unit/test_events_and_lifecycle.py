"""Reading events.jsonl and deciding how a worker ended."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from trainer_runtime.jobs.events import read_events
from trainer_runtime.jobs.lifecycle import final_state, last_lifecycle_event
from trainer_runtime.jobs.state import JobState
from trainer_runtime.store.store import Store


def write(job_dir: Path, *events: dict, raw: bytes = b"") -> None:
    with (job_dir / "events.jsonl").open("ab") as fh:
        for ev in events:
            fh.write(json.dumps({"time": 1.0, **ev}).encode() + b"\n")
        fh.write(raw)


def test_partial_last_line_waits_and_corrupt_line_is_reported(tmp_path: Path):
    write(
        tmp_path,
        {"type": "started", "step": 0, "total_steps": 3},
        {"type": "metrics", "step": 1, "values": {"loss": 2.0}},
    )
    write(tmp_path, raw=b'{"type": "metrics", "st')
    r = read_events(tmp_path, 0)
    assert [m[:3] for m in r.ingest.metrics] == [("loss", 1, 2.0)]
    assert r.ingest.total_steps == 3 and r.corrupt == []
    offset = r.ingest.new_offset
    # The writer finishes its line, then a corrupt line, then a good one.
    write(tmp_path, raw=b'ep": 2, "values": {"loss": 1.5}}\n\x00garbage\n')
    write(tmp_path, {"type": "metrics", "step": 3, "values": {"loss": 1.0}})
    r2 = read_events(tmp_path, offset)
    assert [m[:3] for m in r2.ingest.metrics] == [("loss", 2, 1.5), ("loss", 3, 1.0)]
    assert len(r2.corrupt) == 1 and "corrupt line" in r2.corrupt[0]
    assert r2.ingest.new_offset == (tmp_path / "events.jsonl").stat().st_size


def test_final_read_reports_an_unfinished_line(tmp_path: Path):
    write(tmp_path, {"type": "metrics", "step": 1, "values": {"loss": 2.0}}, raw=b'{"type": "metr')
    r = read_events(tmp_path, 0, final=True)
    assert len(r.ingest.metrics) == 1 and "unfinished last line" in r.corrupt[0]


def _job(tmp_path: Path, pending: str | None = None):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    job = store.create_job({"name": "a"})
    if pending:
        job = store.update_job(job.id, pending_action=pending)
    return job


def test_final_states(tmp_path: Path):
    d = tmp_path / "job"
    d.mkdir()
    job = _job(tmp_path)
    assert final_state(job, d, -signal.SIGKILL, None)[:2] == (
        JobState.FAILED,
        "worker killed by signal SIGKILL",
    )
    assert "code 2" in final_state(job, d, 2, None)[1]
    assert "without reporting completion" in final_state(job, d, 0, None)[1]
    write(
        d,
        {"type": "started", "step": 0},
        {"type": "paused", "step": 7, "checkpoint": "checkpoints/step-00000007"},
    )
    last = last_lifecycle_event(d)
    assert final_state(job, d, 0, last) == (
        JobState.PAUSED,
        "paused at step 7",
        {"resume_from": "checkpoints/step-00000007"},
    )
    (d / "error.json").write_text(json.dumps({"error": "dataset vanished"}))
    assert final_state(job, d, 1, last)[:2] == (JobState.FAILED, "dataset vanished")
    write(d, {"type": "completed", "step": 10})
    assert final_state(job, d, 0, last_lifecycle_event(d))[0] == JobState.COMPLETED
    cancelled = _job(tmp_path, pending="cancel")
    assert final_state(cancelled, tmp_path, -signal.SIGTERM, None)[:2] == (
        JobState.CANCELLED, "cancelled by user (worker ended by SIGTERM)")  # fmt: skip


def test_last_lifecycle_event_reads_from_the_end_of_a_big_file(tmp_path: Path):
    write(
        tmp_path,
        {"type": "started", "step": 0},
        *({"type": "metrics", "step": i, "values": {"loss": 1.0}} for i in range(1, 5000)),
    )
    write(
        tmp_path,
        {"type": "completed", "step": 4999},
        {"type": "metrics", "step": 5000, "values": {"eval_loss": 1.0}},
    )
    assert last_lifecycle_event(tmp_path)["type"] == "completed"
