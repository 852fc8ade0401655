"""Reading a job dir (``spec.json``, ``run.json``) and running the job in this process.

This module stays light (no torch import) so a bad spec or dataset fails in well under a
second; the trainer is imported only once the inputs are known to be good.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer_runtime.jobs import recipes
from trainer_runtime.jobs.checks import check_inputs
from trainer_runtime.jobs.spec import JobSpec, parse_spec
from trainer_runtime.worker.disk import DiskReserve
from trainer_runtime.worker.errors import WorkerError

PAUSE_FILE = ("control", "pause")


@dataclass(frozen=True)
class Job:
    job_dir: Path
    spec: JobSpec
    job_id: str
    attempt: int
    resume_from: str | None


def _read_json(path: Path, what: str) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkerError(f"the job dir {path.parent} has no {path.name} ({what})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise WorkerError(f"{path} is not valid JSON ({what}): {err}") from None


def load_job(job_dir: str | Path, check: bool = True) -> Job:
    """Validate ``spec.json`` (SpecError on a bad spec) and ``run.json``; check the inputs again."""
    job_dir = Path(job_dir).resolve()
    if not job_dir.is_dir():
        raise WorkerError(f"job dir not found: {job_dir}")
    spec = parse_spec(_read_json(job_dir / "spec.json", "the job spec"))
    run_path = job_dir / "run.json"
    run = _read_json(run_path, "the attempt's run settings") if run_path.exists() else {}
    if not isinstance(run, dict):
        raise WorkerError(f"{run_path} must hold a JSON object")
    resume = run.get("resume_from")
    if resume is not None and not isinstance(resume, str):
        raise WorkerError(f"{run_path}: resume_from must be a checkpoint path or null")
    if check:
        check_inputs(spec)
    return Job(
        job_dir=job_dir,
        spec=spec,
        job_id=str(run.get("job_id") or job_dir.name),
        attempt=int(run.get("attempt") or 1),
        resume_from=resume or None,
    )


class PauseRequest:
    """A pause is asked for by ``JOB_DIR/control/pause`` or by SIGUSR1."""

    def __init__(self, job_dir: Path):
        self.path = job_dir.joinpath(*PAUSE_FILE)
        self.signalled = False

    def install_signal(self) -> None:
        signal.signal(signal.SIGUSR1, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        self.signalled = True

    def __call__(self) -> bool:
        return self.signalled or os.path.exists(self.path)

    def consume(self) -> None:
        """Forget the request once the pause is done, so the resumed run does not pause at once."""
        self.signalled = False
        self.path.unlink(missing_ok=True)


def run_job(
    job_dir: str | Path,
    credentials: list[str] | None = None,
    pause: PauseRequest | None = None,
    reserve: DiskReserve | None = None,
):
    """Run the job in this process (one rank under torchrun); return the finished trainer.

    On a failure the disk ``reserve`` is given up before the last events are flushed: on a full
    disk they still fit, and so does the error report written after this returns."""
    job = load_job(job_dir)
    recipe = recipes.get(job.spec.recipe)  # registered (parse_spec checked it)
    from trainer_runtime.secrets.redact import Redactor
    from trainer_runtime.worker.distributed import Dist
    from trainer_runtime.worker.events import EventWriter, NullEventWriter

    dist = Dist.from_env()
    events = (
        EventWriter(job.job_dir / "events.jsonl", redact=Redactor.from_environ())
        if dist.is_main
        else NullEventWriter()
    )
    try:
        entry: Any = _entry_point(recipe)  # imports the recipe's trainer (torch, transformers...)
        trainer = entry(job, dist, events, credentials or [], pause or PauseRequest(job.job_dir))
        trainer.run()
    except BaseException:
        if reserve is not None:
            reserve.release()
        _close_after_failure(events)
        raise
    else:
        events.close()
        return trainer
    finally:
        dist.close()


def _entry_point(recipe: recipes.Recipe) -> Any:
    try:
        return recipes.load(recipe.worker)
    except (ImportError, AttributeError) as err:
        raise WorkerError(
            f"recipe '{recipe.name}' names its worker {recipe.worker}, which cannot be loaded: {err}"
        ) from err


def _close_after_failure(events) -> None:
    """Flush what the run emitted; a write error here must not hide the error that ended the run
    (the lost events are recomputed by a resume from the last checkpoint)."""
    try:
        events.close()
    except OSError as err:
        try:
            sys.stderr.write(f"error: could not write the last events to events.jsonl: {err}\n")
        except OSError:
            return  # the log is on the same full disk
