"""A full disk, piece by piece, on real small tmpfs mounts: the worker's event writer keeps what
it could not write, the reserves, recognising the error, and how the daemon settles the job."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from pathlib import Path

import pytest

from tests.helpers import fill
from trainer_runtime.jobs.lifecycle import final_state
from trainer_runtime.jobs.state import JobState
from trainer_runtime.store.store import Store
from trainer_runtime.worker.disk import DiskReserve, StoreReserve, is_disk_full
from trainer_runtime.worker.events import EventWriter


def test_a_failed_flush_keeps_the_unwritten_rest_and_a_later_flush_completes_the_file(tmpfs, tmp_path: Path):
    disk = tmpfs(tmp_path / "disk", "64k")
    w = EventWriter(disk / "events.jsonl", interval_s=0)
    filler = fill(disk)
    for s in range(1, 200):
        w.metrics(s, {"loss": 1.0 / s, "note": "x" * 100})
    with pytest.raises(OSError) as info:
        w.flush()
    assert info.value.errno == errno.ENOSPC
    filler.unlink()  # as the worker's reserve is given up
    w.close()
    lines = (disk / "events.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b"" and [json.loads(x)["step"] for x in lines[:-1]] == list(range(1, 200))


def test_a_writer_after_a_killed_one_starts_on_a_line_of_its_own(tmp_path: Path):
    old = b'{"type":"metrics","step":1,"values":{"loss":1.0}}\n{"type":"metr'  # cut by a kill
    (tmp_path / "events.jsonl").write_bytes(old)
    w = EventWriter(tmp_path / "events.jsonl", interval_s=0)
    w.emit("started", step=1)
    w.close()
    data = (tmp_path / "events.jsonl").read_bytes()
    assert data.startswith(old + b"\n")  # the cut line stays one (corrupt) line; ours is whole
    assert json.loads(data[len(old) + 1 :])["type"] == "started"


def test_the_reserve_is_real_space_and_a_full_disk_refuses_it(tmpfs, tmp_path: Path):
    disk = tmpfs(tmp_path / "disk", "1m")
    before = os.statvfs(disk).f_bavail
    r = DiskReserve.for_rank(disk, 0)
    r.claim()
    assert r.held and (os.statvfs(disk).f_bavail - before) * os.statvfs(disk).f_frsize <= -r.size
    r.release()
    assert not r.path.exists() and not r.held
    fill(disk, leave=64 << 10)
    with pytest.raises(OSError) as info:
        r.claim()
    assert info.value.errno == errno.ENOSPC and not r.path.exists()


def test_full_disk_errors_are_recognised_through_wrappers():
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    wrapped = RuntimeError("could not save")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert is_disk_full(wrapped)
    assert is_disk_full(
        RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)")
    )
    assert is_disk_full(sqlite3.OperationalError("database or disk is full"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(ValueError("no"))


def test_the_store_reserve_is_given_up_once_for_a_full_disk_and_claimed_again(tmp_path: Path):
    r = StoreReserve(tmp_path / ".disk-reserve", size=1 << 20, recheck_s=60)
    r.claim_if_room(0.0)
    assert r.held and r.path.stat().st_size == 1 << 20
    assert not r.give_up_for(ValueError("something else"))
    assert r.give_up_for(sqlite3.OperationalError("database or disk is full"))
    assert not r.path.exists() and not r.give_up_for(OSError(errno.ENOSPC, "full"))  # once
    r.claim_if_room(30.0)
    assert not r.held  # checked again only after recheck_s
    r.claim_if_room(61.0)
    assert r.held


def _job(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    return store.create_job({"name": "a"})


def _checkpoint(job_dir: Path, step: int) -> None:
    d = job_dir / "checkpoints" / f"step-{step:08d}"
    d.mkdir(parents=True)
    (d / "state.json").write_text(json.dumps({"step": step}))


def test_a_disk_full_report_pauses_at_the_newest_complete_checkpoint(tmp_path: Path):
    job_dir = tmp_path / "job"
    for step in (20, 40):
        _checkpoint(job_dir, step)
    (job_dir / "checkpoints" / "step-00000060").mkdir()  # no state.json: not a checkpoint
    (job_dir / "checkpoints" / ".tmp-step-00000060-1").mkdir()
    reason = "the disk holding x is full while writing checkpoint step 60; free space and resume (continues from step 40)."
    (job_dir / "error.json").write_text(
        json.dumps({"error": reason, "disk_full": True, "checkpoint_step": 60})
    )
    assert final_state(_job(tmp_path), job_dir, 1, None) == (
        JobState.PAUSED, reason, {"resume_from": "checkpoints/step-00000040"},
    )  # fmt: skip


def test_a_silent_failure_on_a_nearly_full_disk_is_paused_too(tmp_path: Path, tmpfs):
    job_dir = tmpfs(tmp_path / "disk", "2m")
    _checkpoint(job_dir, 20)
    fill(job_dir, leave=100 << 10)
    state, reason, fields = final_state(_job(tmp_path), job_dir, 1, None)
    assert state == JobState.PAUSED and fields == {"resume_from": "checkpoints/step-00000020"}
    assert reason.startswith(
        f"the worker exited with code 1 without an error report and the disk holding {job_dir} is full ("
    )
    assert reason.endswith("KiB free); free space and resume (continues from step 20); the log may say more.")
    # The same exit on a disk with room is a plain failure.
    (job_dir / "filler").unlink()
    assert final_state(_job(tmp_path), job_dir, 1, None)[0] == JobState.FAILED
