"""How a worker's end becomes a job state: from its last lifecycle event, its
error file, the requested action and its exit status — in that order of trust.

A full disk pauses the job instead of failing it (its checkpoints are intact and a resume
continues from the newest): the worker says so in error.json (``disk_full``), or, when even
that could not be written, the daemon sees a worker that failed without a report on a disk
with under ``LOW_SPACE`` free."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from trainer_runtime.jobs.process import signal_name
from trainer_runtime.jobs.state import JobState
from trainer_runtime.store.records import JobInfo
from trainer_runtime.worker.checkpoint_files import last_good_checkpoint

LIFECYCLE = ("started", "paused", "completed")
LOW_SPACE = 1 << 20  # a worker that failed silently with less free than this was stopped by the disk


def last_lifecycle_event(job_dir: Path, window: int = 64 * 1024) -> dict[str, Any] | None:
    """The newest started/paused/completed event, reading the file from its end."""
    path = job_dir / "events.jsonl"
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    with path.open("rb") as fh:
        while True:
            start = max(0, size - window)
            fh.seek(start)
            lines = fh.read(size - start).split(b"\n")
            if start > 0:
                lines = lines[1:]  # the first may be cut
            for raw in reversed(lines):
                if b'"type"' not in raw:
                    continue
                try:
                    ev = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(ev, dict) and ev.get("type") in LIFECYCLE:
                    return ev
            if start == 0:
                return None
            window *= 4


def read_error_record(job_dir: Path) -> dict[str, Any] | None:
    """error.json as written by the worker; an unreadable one becomes a record with a sentence."""
    path = job_dir / "error.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (ValueError, UnicodeDecodeError, OSError) as err:
        return {"error": f"the worker failed and its error file is unreadable ({err}); see the log"}
    if isinstance(data, dict) and data.get("error"):
        return {**data, "error": str(data["error"])}
    return {"error": "the worker failed without a message; see the log"}


def disk_nearly_full(job_dir: Path, floor: int = LOW_SPACE) -> int | None:
    """Free bytes on the disk holding ``job_dir`` when under ``floor``, else None."""
    try:
        free = shutil.disk_usage(job_dir).free
    except OSError:
        return None
    return free if free < floor else None


def _paused_by_full_disk(job_dir: Path, reason: str) -> tuple[JobState, str, dict[str, Any]]:
    last = last_good_checkpoint(job_dir)
    return JobState.PAUSED, reason, {"resume_from": last.rel if last else None}


def final_state(
    job: JobInfo, job_dir: Path, rc: int | None, last: dict[str, Any] | None
) -> tuple[JobState, str, dict[str, Any]]:
    kind = last.get("type") if last else None
    if kind == "completed":
        return JobState.COMPLETED, f"completed {last.get('step', '?')} steps", {}  # type: ignore[union-attr]
    if job.pending_action == "cancel":
        how = f" (worker ended by {signal_name(rc)})" if rc is not None and rc < 0 else ""
        return JobState.CANCELLED, f"cancelled by user{how}", {}
    error = read_error_record(job_dir)
    if error and error.get("disk_full"):
        # Nothing is wrong with the job: it resumes from its newest complete checkpoint once there
        # is space again (the daemon looks for it itself: the worker's view may be older).
        return _paused_by_full_disk(job_dir, error["error"])
    if error:
        return JobState.FAILED, error["error"], {}
    if kind == "paused" and last and last.get("checkpoint") and rc in (0, None):
        return JobState.PAUSED, f"paused at step {last.get('step')}", {"resume_from": str(last["checkpoint"])}
    free = disk_nearly_full(job_dir) if rc != 0 and (rc is None or rc > 0) else None
    if free is not None:  # no report because the disk was too full even for that
        how = "ended" if rc is None else f"exited with code {rc}"
        return _paused_by_full_disk(
            job_dir,
            f"the worker {how} without an error report and the disk holding {job_dir} is full "
            f"({free // 1024} KiB free); {_resume_hint(job_dir)}",
        )
    if rc is None:
        return (
            JobState.FAILED,
            "the worker ended while the daemon was not watching and left no final report; see the log",
            {},
        )
    if rc < 0:
        return JobState.FAILED, f"worker killed by signal {signal_name(rc)}", {}
    if rc > 0:
        return JobState.FAILED, f"worker exited with code {rc} without an error report; see the log", {}
    return JobState.FAILED, "worker exited without reporting completion; see the log", {}


def _resume_hint(job_dir: Path) -> str:
    last = last_good_checkpoint(job_dir)
    cont = f"continues from step {last.step}" if last else "starts again from step 0: no checkpoint was saved"
    return f"free space and resume ({cont}); the log may say more."
