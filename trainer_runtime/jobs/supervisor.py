"""The supervisor: queue, placement, worker processes, and turning their files
into state. Everything here runs on the daemon's event loop thread; ``tick`` is
synchronous and cheap so it can also be driven step by step in tests."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trainer_runtime.jobs import process as proc
from trainer_runtime.jobs.bus import EventBus
from trainer_runtime.jobs.checks import check_inputs
from trainer_runtime.jobs.devices import DevicePool
from trainer_runtime.jobs.events import read_events
from trainer_runtime.jobs.lifecycle import final_state, last_lifecycle_event
from trainer_runtime.jobs.spec import JobSpec, SpecError, parse_spec
from trainer_runtime.jobs.state import IllegalTransition, JobState
from trainer_runtime.paths import DataDir
from trainer_runtime.secrets.redact import SECRET_NAMES_ENV, Redactor
from trainer_runtime.store.records import JobInfo
from trainer_runtime.store.store import Store

log = logging.getLogger(__name__)
LOG_CHUNK = 64 * 1024

Spawner = Callable[[Path, int, dict[str, str]], Any]


class Supervisor:
    def __init__(
        self,
        store: Store,
        data: DataDir,
        devices: DevicePool,
        bus: EventBus,
        secrets_env: Callable[[], dict[str, str]] = dict,
        spawner: Spawner = proc.spawn_worker,
        clock: Callable[[], float] = time.monotonic,
        cancel_timeout: float = 10.0,
    ):
        self.store, self.data, self.devices, self.bus = store, data, devices, bus
        self.secrets_env, self.spawner, self.clock = secrets_env, spawner, clock
        self.cancel_timeout = cancel_timeout
        self.handles: dict[str, proc.WorkerHandle] = {}
        self._seen_secrets: set[str] = set()
        self.redactor = Redactor()

    # --------------------------------------------------------------- start-up
    def recover(self) -> None:
        """After a (re)start: re-attach to workers that still live, settle the rest."""
        for job in self.store.list_jobs([JobState.RUNNING]):
            job_dir = self.data.job_dir(job.id, job.attempt)
            handle = proc.attach(job.id, job.attempt, job_dir, job.pid or -1, job.pid_create_time)
            if handle is None:
                log.warning("job %s: worker pid %s is gone; settling from its files", job.id, job.pid)
                self._finish(job, proc.WorkerHandle(job.id, job.attempt, job_dir, job.pid or -1, None), None)
                continue
            log.info("job %s: re-attached to worker pid %s", job.id, job.pid)
            handle.log_offset = _size(job_dir / "log.txt")
            self.handles[job.id] = handle
            self.devices.claim(job.id, job.devices)

    # ------------------------------------------------------------------- API
    def submit(self, spec: JobSpec) -> JobInfo:
        check_inputs(spec)
        self._refresh_redactor(self.secrets_env())
        # A credential pasted into a spec (a tag, a path) is masked before anything is stored.
        job = self._publish(self.store.create_job(self.redactor.redact_obj(spec.to_dict())))
        unfit = self.devices.unfit_reason(spec.resources.devices, spec.resources.memory_gb)
        if unfit:  # unreachable on CPU (need() caps it); on GPUs a job larger than the machine
            return self._set(job.id, JobState.FAILED, unfit)
        return self._set(job.id, JobState.QUEUED, "spec and inputs validated")

    def pause(self, job_id: str) -> JobInfo:
        job = self.store.get_job(job_id)
        if job.state != JobState.RUNNING:
            raise IllegalTransition(job_id, JobState(job.state), JobState.PAUSED, "pause")
        handle = self.handles.get(job_id)
        if handle is not None:
            control = handle.job_dir / "control"
            control.mkdir(exist_ok=True)
            (control / "pause").touch()
        return self._publish(self.store.update_job(job_id, pending_action="pause"))

    def resume(self, job_id: str) -> JobInfo:
        job = self.store.get_job(job_id)
        if job.state != JobState.PAUSED:
            raise IllegalTransition(job_id, JobState(job.state), JobState.QUEUED, "resume")
        return self._set(
            job_id, JobState.QUEUED, f"resume requested from {job.resume_from or 'the start'}", "resume"
        )

    def cancel(self, job_id: str) -> JobInfo:
        job = self.store.get_job(job_id)
        state = JobState(job.state)
        if state == JobState.RUNNING and job_id in self.handles:
            handle = self.handles[job_id]
            if handle.term_sent_at is None:
                handle.signal_group(signal.SIGTERM)
                handle.term_sent_at = self.clock()
            return self._publish(self.store.update_job(job_id, pending_action="cancel"))
        return self._set(job_id, JobState.CANCELLED, "cancelled by user", "cancel")

    def restart(self, job_id: str) -> JobInfo:
        job = self.store.new_attempt(job_id, "restart requested")
        self._publish(job)
        try:
            check_inputs(parse_spec(job.spec))
        except SpecError as err:
            return self._set(job_id, JobState.FAILED, f"cannot restart: {err}")
        return self._set(job_id, JobState.QUEUED, f"attempt {job.attempt} queued")

    def delete(self, job_id: str) -> None:
        self.store.delete_job(job_id)
        shutil.rmtree(self.data.jobs / job_id, ignore_errors=True)
        self.bus.publish("job_deleted", job_id=job_id)

    # ------------------------------------------------------------------ loop
    def tick(self) -> None:
        for job_id, handle in list(self.handles.items()):
            exited, rc = handle.poll()
            self._tail(handle, final=exited)
            if exited:
                del self.handles[job_id]
                self.devices.release(job_id)
                job = self.store.get_job(job_id)
                for left in self.devices.leftover(job_id, job.devices):  # GPU memory not released
                    log.warning("job %s: %s after its worker ended", job_id, left)
                    self._append_log(handle.job_dir, f"[sparktrainer] {left} after the worker ended\n")
                self._finish(job, handle, rc)
            elif handle.term_sent_at is not None and self.clock() - handle.term_sent_at > self.cancel_timeout:
                log.warning(
                    "job %s: worker ignored SIGTERM for %.0fs, sending SIGKILL", job_id, self.cancel_timeout
                )
                handle.signal_group(signal.SIGKILL)
                handle.term_sent_at = float("inf")
        self._schedule()

    def shutdown(self) -> None:
        """The daemon is stopping: workers keep running (a later daemon re-attaches)."""
        for handle in self.handles.values():
            self._tail(handle, final=False)

    # -------------------------------------------------------------- internals
    def _refresh_redactor(self, secrets: dict[str, str]) -> None:
        """Mask every credential seen by this daemon (old values too: they may be in old logs)."""
        self._seen_secrets.update(_secret_values(secrets))
        self.redactor = Redactor(self._seen_secrets)

    def _set(
        self, job_id: str, state: JobState, reason: str, action: str | None = None, **fields: Any
    ) -> JobInfo:
        return self._publish(self.store.transition(job_id, state, reason, action, **fields))

    def _publish(self, job: JobInfo) -> JobInfo:
        self.bus.publish("job_state", job_id=job.id, job=job.to_json())
        return job

    def _tail(self, handle: proc.WorkerHandle, final: bool) -> None:
        job = self.store.get_job(handle.job_id)
        result = read_events(handle.job_dir, job.events_offset, final=final)
        for problem in result.corrupt:
            log.warning("job %s: %s", handle.job_id, problem)
            self._append_log(handle.job_dir, f"[sparktrainer] {problem}\n")
        if result.ingest.new_offset != job.events_offset:
            new = self.store.ingest(handle.job_id, handle.attempt, result.ingest)
            if new:
                self.bus.publish(
                    "metrics", job_id=handle.job_id, attempt=handle.attempt, points=[m.to_json() for m in new]
                )
            if result.ingest.step is not None or result.ingest.total_steps:
                self.bus.publish(
                    "progress", job_id=handle.job_id, step=result.ingest.step, total=result.ingest.total_steps
                )
        if self.bus.has_subscribers:
            self._tail_log(handle)

    def _tail_log(self, handle: proc.WorkerHandle) -> None:
        try:
            with (handle.job_dir / "log.txt").open("rb") as fh:
                fh.seek(handle.log_offset)
                chunk = fh.read(LOG_CHUNK)
        except FileNotFoundError:
            return
        if chunk:
            handle.log_offset += len(chunk)
            text = self.redactor(chunk.decode("utf-8", errors="replace"))
            self.bus.publish("log", job_id=handle.job_id, attempt=handle.attempt, text=text)

    def _append_log(self, job_dir: Path, text: str) -> None:
        try:
            with (job_dir / "log.txt").open("a", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as err:
            log.warning("could not append to %s/log.txt: %s", job_dir, err)

    def _finish(self, job: JobInfo, handle: proc.WorkerHandle, rc: int | None) -> None:
        state, reason, fields = final_state(job, handle.job_dir, rc, last_lifecycle_event(handle.job_dir))
        reason = self.redactor(reason)
        log.info("job %s attempt %s -> %s (%s)", job.id, job.attempt, state, reason)
        self._set(job.id, state, reason, **fields)

    def _schedule(self) -> None:
        self.devices.refresh()
        if not self.devices.free():
            return
        queued = self.store.list_jobs([JobState.QUEUED])
        queued.sort(key=lambda j: (-j.priority, j.queued_at or j.created_at))
        for job in queued:
            if not self.devices.free():
                return
            requested, memory_gb = _needs(job)
            chosen = self.devices.allocate(job.id, requested, memory_gb)
            if chosen is None:
                continue  # a smaller job further down may still fit (backfill)
            try:
                self._start(job, [d.id for d in chosen])
            except OSError as err:
                self.devices.release(job.id)
                self._set(job.id, JobState.FAILED, f"could not start the worker: {err}")

    def wait_reason(self, job: JobInfo) -> str | None:
        """Why a queued job is not running yet, against the devices as they are now."""
        if job.state != JobState.QUEUED:
            return None
        return self.devices.wait_reason(*_needs(job))

    @property
    def waiting(self) -> dict[str, str]:
        """Every queued job's wait reason (computed when asked, never on the scheduling path)."""
        return {j.id: self.devices.wait_reason(*_needs(j)) for j in self.store.list_jobs([JobState.QUEUED])}

    def _start(self, job: JobInfo, device_ids: list[str]) -> None:
        job_dir = self.data.job_dir(job.id, job.attempt)
        (job_dir / "control").mkdir(parents=True, exist_ok=True)
        (job_dir / "control" / "pause").unlink(missing_ok=True)
        _write_json(job_dir / "spec.json", job.spec)
        _write_json(
            job_dir / "run.json", {"job_id": job.id, "attempt": job.attempt, "resume_from": job.resume_from}
        )
        secrets = self.secrets_env()
        self._refresh_redactor(secrets)
        env = {**os.environ, **secrets, "PYTHONUNBUFFERED": "1", "SPARKTRAINER_JOB_ID": job.id}
        if self.devices.kind == "gpu":
            env["CUDA_VISIBLE_DEVICES"] = ",".join(device_ids)
            nproc = len(device_ids)
        else:
            env["CUDA_VISIBLE_DEVICES"] = ""
            nproc = int(job.spec.get("resources", {}).get("devices", 1))
            share = (os.cpu_count() or 1) * len(device_ids) // len(self.devices.devices)
            env.setdefault("OMP_NUM_THREADS", str(max(1, share // max(1, nproc))))
        popen = self.spawner(job_dir, nproc, env)
        handle = proc.WorkerHandle(
            job.id, job.attempt, job_dir, popen.pid, proc.process_start_time(popen.pid), popen
        )
        handle.log_offset = _size(job_dir / "log.txt")
        self.handles[job.id] = handle
        where = ", ".join(device_ids)
        self._set(
            job.id, JobState.RUNNING, f"worker pid {popen.pid} started on {where}",
            pid=popen.pid, pid_create_time=handle.create_time, devices=json.dumps(device_ids),
        )  # fmt: skip


def _secret_values(env: dict[str, str]) -> list[str]:
    return [v for k, v in env.items() if k != SECRET_NAMES_ENV]


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _needs(job: JobInfo) -> tuple[int, float | None]:
    """How many devices and how much memory (GB) a job's spec asks for."""
    resources = job.spec.get("resources", {})
    return int(resources.get("devices", 1)), resources.get("memory_gb")
