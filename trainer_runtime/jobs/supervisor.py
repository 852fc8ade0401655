"""The supervisor: queue, placement, worker processes, and turning their files
into state. Everything here runs on the daemon's event loop thread; ``tick`` is
synchronous and cheap so it can also be driven step by step in tests.

A job's state is settled only after its events.jsonl is read to its end (at most
``events.MAX_READ`` bytes per pass and tick, so a big file never stalls the loop), both
when its worker ends under this daemon and when it ended while no daemon ran."""

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
from trainer_runtime.jobs.launch import adopt, worker_env, write_job_dir
from trainer_runtime.jobs.lifecycle import final_state, last_lifecycle_event
from trainer_runtime.jobs.spec import JobSpec, SpecError, parse_spec
from trainer_runtime.jobs.state import IllegalTransition, JobState
from trainer_runtime.jobs.watchdog import Health, Watchdog
from trainer_runtime.paths import DataDir
from trainer_runtime.secrets.redact import SECRET_NAMES_ENV, Redactor
from trainer_runtime.store.records import JobInfo
from trainer_runtime.store.store import JobNotFound, Store
from trainer_runtime.worker.checkpoint_files import last_good_checkpoint
from trainer_runtime.worker.disk import StoreReserve, is_disk_full

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
        watchdog_s: float = 600.0,
        pause_timeout: float = 300.0,
    ):
        self.store, self.data, self.devices, self.bus = store, data, devices, bus
        self.secrets_env, self.spawner, self.clock = secrets_env, spawner, clock
        self.cancel_timeout, self.pause_timeout = cancel_timeout, pause_timeout
        self.watchdog = Watchdog(clock, watchdog_s)
        self.handles: dict[str, proc.WorkerHandle] = {}
        self._start_blocked: dict[str, str] = {}  # queued job -> why its worker cannot start (disk full)
        self._tick_errors: dict[str, str] = {}  # job -> the last error its supervision logged
        self.reserve = StoreReserve(data.root / ".disk-reserve")  # see worker/disk.py
        self.reserve.claim_if_room(clock())
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
                gone = proc.WorkerHandle(job.id, job.attempt, job_dir, job.pid or -1, None)
                while not self._tail(gone, final=True):
                    pass  # the worker may have written much while no daemon ran: read it all first
                self._finish(self.store.get_job(job.id), gone, None)
                continue
            log.info("job %s: re-attached to worker pid %s", job.id, job.pid)
            handle.log_offset = _size(job_dir / "log.txt")
            if job.pending_action == "cancel":  # asked of the earlier daemon: escalate from now
                handle.term_sent_at = self.clock()
            elif job.pending_action == "pause":
                handle.pause_sent_at = self.clock()
            self.handles[job.id] = handle
            self.devices.claim(job.id, job.devices)

    # ------------------------------------------------------------------- API
    def submit(self, spec: JobSpec, inputs_checked: bool = False) -> JobInfo:
        if not inputs_checked:  # the API checks them on a thread: they read user-named files
            check_inputs(spec)
        self._refresh_redactor(self.secrets_env())
        # A credential pasted into a spec (a tag, a path) is masked before anything is stored.
        unfit = self.devices.unfit_reason(spec.resources.devices, spec.resources.memory_gb)
        # unfit: unreachable on CPU (need() caps it); on GPUs a job larger than the machine
        then = (JobState.FAILED, unfit) if unfit else (JobState.QUEUED, "spec and inputs validated")
        return self._publish(self.store.create_job(self.redactor.redact_obj(spec.to_dict()), then=then))

    def pause(self, job_id: str) -> JobInfo:
        job = self.store.get_job(job_id)
        if job.state != JobState.RUNNING:
            raise IllegalTransition(job_id, JobState(job.state), JobState.PAUSED, "pause")
        handle = self.handles.get(job_id)
        if handle is not None:
            control = handle.job_dir / "control"
            control.mkdir(exist_ok=True)
            (control / "pause").touch()
            handle.signal_group(signal.SIGCONT)  # a stopped worker cannot see the request
            if handle.pause_sent_at is None:
                handle.pause_sent_at = self.clock()
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
                handle.signal_group(signal.SIGCONT)  # a stopped process acts on SIGTERM only once continued
                handle.term_sent_at = self.clock()
            return self._publish(self.store.update_job(job_id, pending_action="cancel"))
        return self._set(job_id, JobState.CANCELLED, "cancelled by user", "cancel")

    def restart(
        self, job_id: str, inputs_checked: bool = False, inputs_problem: str | None = None
    ) -> JobInfo:
        """A new attempt; ``inputs_checked``: the caller checked the inputs off the event loop
        (``inputs_problem`` says why they cannot run, or None)."""
        job = self.store.new_attempt(job_id, "restart requested")
        self._publish(job)
        if not inputs_checked:
            try:
                check_inputs(parse_spec(job.spec))
            except SpecError as err:
                inputs_problem = str(err)
        if inputs_problem:
            return self._set(job_id, JobState.FAILED, f"cannot restart: {inputs_problem}")
        return self._set(job_id, JobState.QUEUED, f"attempt {job.attempt} queued")

    def delete(self, job_id: str) -> None:
        self.store.delete_job(job_id)
        shutil.rmtree(self.data.jobs / job_id, ignore_errors=True)
        self.bus.publish("job_deleted", job_id=job_id)

    # ------------------------------------------------------------------ loop
    def tick(self) -> None:
        for job_id, handle in list(self.handles.items()):
            try:
                self._supervise(job_id, handle)
            except Exception as err:  # one job's trouble (a full disk under the store) must not stop the rest
                if self.reserve.give_up_for(err):
                    continue  # the next tick has room to record it
                if self._tick_errors.get(job_id) != str(err):
                    self._tick_errors[job_id] = str(err)
                    log.exception("job %s: supervising its worker failed (retried every tick)", job_id)
            else:
                self._tick_errors.pop(job_id, None)
        self.reserve.claim_if_room(self.clock())
        self._schedule()

    def _supervise(self, job_id: str, handle: proc.WorkerHandle) -> None:
        exited, rc = handle.poll()
        drained = self._tail(handle, final=exited)
        if exited:
            if drained:  # else: the rest on the next tick, and only then the state
                self._settle(job_id, handle, rc)
            return
        if self.watchdog.check(handle):
            self.bus.publish("job_health", job_id=job_id, health=self.watchdog.health(job_id))
        now = self.clock()
        if handle.term_sent_at is not None and now - handle.term_sent_at > self.cancel_timeout:
            log.warning(
                "job %s: worker ignored SIGTERM for %.0fs, sending SIGKILL", job_id, self.cancel_timeout
            )
            handle.signal_group(signal.SIGKILL)
            handle.term_sent_at = float("inf")
        elif handle.pause_sent_at is not None and now - handle.pause_sent_at > self.pause_timeout:
            handle.pause_sent_at = float("inf")  # said once
            self._publish(self.store.update_job(job_id, reason=self._pause_overdue(handle)))

    def _pause_overdue(self, handle: proc.WorkerHandle) -> str:
        """The job's reason when a pause got no checkpoint in time. The job stays RUNNING and
        the request stands: a slow step is no reason to lose work; cancel is the user's call."""
        waited = f"pause requested {self.pause_timeout:.0f} s ago, but the worker has not checkpointed yet"
        last = last_good_checkpoint(handle.job_dir)
        kept = f"step {last.step}" if last else "none yet"
        health = self.watchdog.health(handle.job_id)
        if health is None:
            return f"{waited}; it is still working and pauses at the end of its current step."
        return f"{waited}: {health['message']} It stays RUNNING; its newest checkpoint is {kept}."

    def _settle(self, job_id: str, handle: proc.WorkerHandle, rc: int | None) -> None:
        job = self.store.get_job(job_id)
        if not handle.extra.get("leftover_checked"):
            handle.extra["leftover_checked"] = True
            for left in self.devices.leftover(job_id, job.devices):  # GPU memory not released
                log.warning("job %s: %s after its worker ended", job_id, left)
                self._append_log(handle.job_dir, f"[sparktrainer] {left} after the worker ended\n")
        self.watchdog.forget(job_id)  # a finished job has no health to report
        self._finish(job, handle, rc)  # if this fails (the store's disk is full), the next tick retries
        del self.handles[job_id]
        self.devices.release(job_id)

    def health(self, job_id: str) -> Health | None:
        """None when the job's worker is fine (or not running), else what the watchdog saw."""
        return self.watchdog.health(job_id) if job_id in self.handles else None

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

    def publish_job(self, job_id: str) -> None:
        """Tell the clients a job changed outside a transition (its MLflow mirror state)."""
        try:
            self._publish(self.store.get_job(job_id))
        except JobNotFound:
            return  # deleted meanwhile

    def _publish(self, job: JobInfo) -> JobInfo:
        self.bus.publish("job_state", job_id=job.id, job={**job.to_json(), "health": self.health(job.id)})
        return job

    def _tail(self, handle: proc.WorkerHandle, final: bool) -> bool:
        """One pass over the new part of events.jsonl; True when it reached the end."""
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
        return result.at_end

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
        for reserve in handle.job_dir.glob(".disk-reserve-*"):  # a worker killed before it gave it up
            reserve.unlink(missing_ok=True)
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
            if job.id in self.handles:  # started, but the store could not record it (yet): never twice
                continue
            requested, memory_gb = _needs(job)
            chosen = self.devices.allocate(job.id, requested, memory_gb)
            if chosen is None:
                continue  # a smaller job further down may still fit (backfill)
            try:
                self._start(job, [d.id for d in chosen])
            except OSError as err:
                self.devices.release(job.id)
                if is_disk_full(err):  # it stays queued and starts once there is space again
                    job_dir = self.data.job_dir(job.id, job.attempt)
                    why = (
                        f"the disk holding {job_dir} is full ({err.strerror}); free space and the job starts"
                    )
                    self._block_start(job, why + " by itself", err)
                    continue
                if isinstance(err, proc.JobDirBusy):  # it stays queued until that process ends
                    self._block_start(job, str(err), err)
                    continue
                self._set(job.id, JobState.FAILED, f"could not start the worker: {err}")
            else:
                self._start_blocked.pop(job.id, None)

    def _block_start(self, job: JobInfo, why: str, err: OSError) -> None:
        if self._start_blocked.get(job.id) != why:
            log.warning("job %s: cannot start its worker: %s", job.id, err)
        self._start_blocked[job.id] = why

    def wait_reason(self, job: JobInfo) -> str | None:
        """Why a queued job is not running yet, against the devices as they are now."""
        if job.state != JobState.QUEUED:
            return None
        return self._start_blocked.get(job.id) or self.devices.wait_reason(*_needs(job))

    @property
    def waiting(self) -> dict[str, str]:
        """Every queued job's wait reason (computed when asked, never on the scheduling path)."""
        return {j.id: self.wait_reason(j) or "" for j in self.store.list_jobs([JobState.QUEUED])}

    def _start(self, job: JobInfo, device_ids: list[str]) -> None:
        job_dir = self.data.job_dir(job.id, job.attempt)
        write_job_dir(job_dir, job)
        secrets = self.secrets_env()
        self._refresh_redactor(secrets)
        env, nproc = worker_env(job, device_ids, self.devices, secrets)
        lock = proc.lock_job_dir(job_dir)
        if lock is None:  # a worker of this job dir lives: an earlier daemon started it, then died
            handle = adopt(job, job_dir)
            self._running(
                job,
                handle,
                device_ids,
                f"re-attached to worker pid {handle.pid} (started before the daemon restarted)",
            )
            return
        try:
            popen = self.spawner(job_dir, nproc, {**env, proc.LOCK_FD_ENV: str(lock)})
        finally:
            os.close(lock)  # the worker holds the lock now
        handle = proc.WorkerHandle(
            job.id, job.attempt, job_dir, popen.pid, proc.process_start_time(popen.pid), popen
        )
        self._running(job, handle, device_ids, f"worker pid {popen.pid} started on {', '.join(device_ids)}")

    def _running(self, job: JobInfo, handle: proc.WorkerHandle, device_ids: list[str], reason: str) -> None:
        handle.log_offset = _size(handle.job_dir / "log.txt")
        self.handles[job.id] = handle
        self._set(
            job.id, JobState.RUNNING, reason,
            pid=handle.pid, pid_create_time=handle.create_time, devices=json.dumps(device_ids),
        )  # fmt: skip


def _secret_values(env: dict[str, str]) -> list[str]:
    return [v for k, v in env.items() if k != SECRET_NAMES_ENV]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _needs(job: JobInfo) -> tuple[int, float | None]:
    """How many devices and how much memory (GB) a job's spec asks for."""
    resources = job.spec.get("resources", {})
    return int(resources.get("devices", 1)), resources.get("memory_gb")
