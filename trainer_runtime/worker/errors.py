"""Failures of a worker, as the user reads them: one sentence in ``error.json`` and the log."""

from __future__ import annotations

import json
import os
import time
import traceback
from pathlib import Path

from trainer_runtime.jobs.spec import SpecError
from trainer_runtime.secrets.redact import Redactor
from trainer_runtime.worker.checkpoint_files import last_good_checkpoint
from trainer_runtime.worker.disk import disk_full_sentence, full_path, is_disk_full


class WorkerError(Exception):
    """A failure whose message is already a sentence for the user (what went wrong, what to do)."""


class CheckpointWriteError(WorkerError):
    """A checkpoint could not be written; earlier checkpoints are left intact."""

    def __init__(self, message: str, checkpoint_step: int | None = None):
        super().__init__(message)
        self.checkpoint_step = checkpoint_step


class Cancelled(BaseException):
    """Raised from the SIGTERM handler so ``finally`` blocks run (events are flushed) before exit."""


def sentence(exc: BaseException) -> str:
    """The user-facing sentence for an exception."""
    if isinstance(exc, SpecError | WorkerError):
        return str(exc)
    if is_disk_full(exc):
        return f"the disk is full ({exc}); free some space and resume the job."
    if _is_out_of_memory(exc):
        return (
            "the device ran out of memory. Lower train.batch_size or train.seq_len, "
            "or use method 'lora' instead of 'full'."
        )
    text = str(exc).strip() or "(no message)"
    return f"training failed with {type(exc).__name__}: {text}. The log has the traceback."


def _is_out_of_memory(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name == "OutOfMemoryError" or (isinstance(exc, RuntimeError) and "out of memory" in str(exc))


def error_record(
    exc: BaseException, redactor: Redactor, job_dir: Path | None = None, clock=time.time
) -> dict:
    """``error.json``'s content. A full disk adds ``disk_full`` (true), ``checkpoint_step`` (the
    checkpoint being written, or null) and ``resume_from``/``resume_step`` (the newest complete
    checkpoint, or null): the daemon pauses such a job instead of failing it."""
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    record: dict = {"error": sentence(exc), "type": type(exc).__name__, "traceback": tb, "time": clock()}
    if job_dir is not None and is_disk_full(exc):
        step = getattr(exc, "checkpoint_step", None)
        if not isinstance(exc, CheckpointWriteError):
            where = full_path(exc)
            record["error"] = disk_full_sentence(job_dir, Path(where).parent if where else job_dir, step)
        last = last_good_checkpoint(job_dir)
        record.update(
            disk_full=True,
            checkpoint_step=step,
            resume_from=last.rel if last else None,
            resume_step=last.step if last else None,
        )
    return redactor.redact_obj(record)


def write_error_file(job_dir: str | Path, record: dict) -> Path:
    """Write ``error.json`` atomically (temp file + rename), so the daemon never reads half of it."""
    path = Path(job_dir) / "error.json"
    tmp = path.with_name(f".error.json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
