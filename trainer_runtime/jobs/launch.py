"""Starting a job's worker: its job dir as the worker contract wants it (docs/architecture.md,
"Worker contract"), its environment (credentials, device pinning, thread counts), and finding
the worker that an earlier daemon started but never recorded."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from trainer_runtime.jobs import process as proc
from trainer_runtime.jobs.devices import DevicePool
from trainer_runtime.store.records import JobInfo

log = logging.getLogger(__name__)


def write_job_dir(job_dir: Path, job: JobInfo) -> None:
    """``spec.json`` and ``run.json``, and no pause request left from an earlier run."""
    (job_dir / "control").mkdir(parents=True, exist_ok=True)
    (job_dir / "control" / "pause").unlink(missing_ok=True)
    _write_json(job_dir / "spec.json", job.spec)
    _write_json(
        job_dir / "run.json", {"job_id": job.id, "attempt": job.attempt, "resume_from": job.resume_from}
    )


def worker_env(
    job: JobInfo, device_ids: list[str], devices: DevicePool, secrets: dict[str, str]
) -> tuple[dict[str, str], int]:
    """The worker's environment and its process count: pinned to its GPUs (by UUID), or on CPU
    slots with its share of the cores as OpenMP threads, so concurrent jobs do not oversubscribe."""
    env = {**os.environ, **secrets, "PYTHONUNBUFFERED": "1", "SPARKTRAINER_JOB_ID": job.id}
    if devices.kind == "gpu":
        env["CUDA_VISIBLE_DEVICES"] = ",".join(device_ids)
        return env, len(device_ids)
    env["CUDA_VISIBLE_DEVICES"] = ""
    nproc = int(job.spec.get("resources", {}).get("devices", 1))
    share = (os.cpu_count() or 1) * len(device_ids) // len(devices.devices)
    env.setdefault("OMP_NUM_THREADS", str(max(1, share // max(1, nproc))))
    return env, nproc


def adopt(job: JobInfo, job_dir: Path) -> proc.WorkerHandle:
    """A handle on the worker that holds ``job_dir``'s lock although the store never recorded it
    as running (its daemon died right after the spawn); never start a second one beside it."""
    found = proc.find_worker(job_dir)
    handle = proc.attach(job.id, job.attempt, job_dir, found.pid, found.create_time()) if found else None
    if handle is None:
        raise proc.JobDirBusy(
            f"a process still holds {job_dir / 'worker.lock'} but is not this job's worker (a child "
            "of a worker that died?); the job starts once it ends"
        )
    log.warning("job %s: re-attached to worker pid %s, which the daemon had not recorded", job.id, handle.pid)
    return handle


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)
