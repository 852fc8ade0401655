"""How a worker's end becomes a job state: from its last lifecycle event, its
error file, the requested action and its exit status — in that order of trust."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trainer_runtime.jobs.process import signal_name
from trainer_runtime.jobs.state import JobState
from trainer_runtime.store.records import JobInfo

LIFECYCLE = ("started", "paused", "completed")


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


def read_error(job_dir: Path) -> str | None:
    path = job_dir / "error.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (ValueError, UnicodeDecodeError, OSError) as err:
        return f"the worker failed and its error file is unreadable ({err}); see the log"
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return "the worker failed without a message; see the log"


def final_state(
    job: JobInfo, job_dir: Path, rc: int | None, last: dict[str, Any] | None
) -> tuple[JobState, str, dict[str, Any]]:
    kind = last.get("type") if last else None
    if kind == "completed":
        return JobState.COMPLETED, f"completed {last.get('step', '?')} steps", {}  # type: ignore[union-attr]
    if job.pending_action == "cancel":
        how = f" (worker ended by {signal_name(rc)})" if rc is not None and rc < 0 else ""
        return JobState.CANCELLED, f"cancelled by user{how}", {}
    error = read_error(job_dir)
    if error:
        return JobState.FAILED, error, {}
    if kind == "paused" and last and last.get("checkpoint") and rc in (0, None):
        return JobState.PAUSED, f"paused at step {last.get('step')}", {"resume_from": str(last["checkpoint"])}
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
