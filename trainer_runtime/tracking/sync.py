"""The daemon's MLflow mirror loop: a background thread that turns stored jobs
into MLflow runs. Bookkeeping (run id, the last metric row sent) lives in the
store, so an MLflow outage only delays the mirror and a daemon restart resumes it.

What a failure does depends on its kind (``errors.py``):

- unreachable: the pass stops, and the loop retries with backoff (up to a minute) for as long
  as it lasts; the job keeps the sentence in ``mlflow_error`` with ``mlflow_done`` false.
- rejected: that job's mirror stops: ``mlflow_done`` true with the sentence in ``mlflow_error``.
- broken (the store itself): retried ``MAX_BROKEN_TRIES`` times; when every try fails with the
  same cause the mirror stops: ``status()["permanent_error"]`` says why, and every job waiting
  for the mirror (and each new one) gets ``mlflow_done`` true with that sentence.

A job given up on (``mlflow_done`` true with an error) is tried once more when the daemon
starts again, so after a repair and a restart every job catches up.

``switch(uri)`` moves the mirror to another tracking store while the daemon runs (a new
``tracking_uri`` setting): between two passes, so no pass writes to both stores. Runs already
finished stay in the old store; a job still being mirrored starts its run again in the new
store (from its first metric: its run in the old store is not reachable from there).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from trainer_runtime.jobs.spec import ADAPTER_METHODS
from trainer_runtime.jobs.state import JobState
from trainer_runtime.paths import DataDir
from trainer_runtime.secrets.redact import Redactor
from trainer_runtime.store.records import JobInfo
from trainer_runtime.store.store import JobNotFound, Store
from trainer_runtime.tracking.errors import ErrorKind, MirrorUnavailable
from trainer_runtime.tracking.mlflow_mirror import MlflowMirror

log = logging.getLogger(__name__)
BATCH_ROWS = 5000
MAX_BACKOFF_S = 60.0
MAX_BROKEN_TRIES = 3
MIRROR_NICENESS = 10
MLFLOW_STATUS = {JobState.COMPLETED: "FINISHED", JobState.FAILED: "FAILED", JobState.CANCELLED: "KILLED"}


class MirrorThread:
    def __init__(
        self, store: Store, data: DataDir, tracking_uri: str, interval_s: float = 2.0,
        redactor: Callable[[], Redactor] = Redactor, on_change: Callable[[str], None] = lambda job_id: None,
    ):  # fmt: skip
        self.store, self.data, self.interval = store, data, interval_s
        # Told (from this thread) when a job's visible mirror state changes: run id, error, done.
        self.on_change = on_change
        self._shown: dict[tuple[str, int], tuple[Any, ...]] = {}
        # The daemon learns new credentials as jobs start: always mask with its current list.
        self.redactor = redactor
        self.mirror = self._make_mirror(tracking_uri)
        self._stop = threading.Event()
        self._kick = threading.Event()  # a switch or a stop: do not wait out the delay
        self._switch_lock = threading.Lock()
        self._switch_to: tuple[str, threading.Event] | None = None
        self._thread = threading.Thread(target=self._run, name="mlflow-mirror", daemon=True)
        self.last_error: str | None = None
        self.last_sync: float | None = None
        self.permanent_error: str | None = None  # set when the mirror stopped trying
        self._cause: tuple[str, str | None, str] | None = None
        self._opened = False
        self._tries = 0
        self.max_backoff = min(MAX_BACKOFF_S, interval_s * 16)

    def _make_mirror(self, tracking_uri: str) -> MlflowMirror:
        # The daemon learns new credentials as jobs start: always mask with its current list.
        return MlflowMirror(
            tracking_uri, self.data.mlflow_artifacts, lambda text: self.redactor()(text),
            own_store=tracking_uri == self.data.default_tracking_uri,
        )  # fmt: skip

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._kick.set()
        self._thread.join(timeout)

    def switch(self, tracking_uri: str) -> threading.Event:
        """Mirror to ``tracking_uri`` from the next pass on (any thread). The event is set once
        the mirror writes there: a job submitted after it is mirrored to the new store."""
        done = threading.Event()
        with self._switch_lock:
            if self._switch_to is not None:
                self._switch_to[1].set()  # superseded: its caller need not wait any longer
            self._switch_to = (tracking_uri, done)
        if not self._thread.is_alive():
            self._switched()  # not started (or stopped): nothing runs a pass to race with
        self._kick.set()
        return done

    def set_interval(self, interval_s: float) -> None:
        self.interval = interval_s
        self.max_backoff = min(MAX_BACKOFF_S, interval_s * 16)
        self._kick.set()

    def _switched(self) -> bool:
        """Take a pending switch (mirror thread, between passes); whether there was one."""
        with self._switch_lock:
            pending, self._switch_to = self._switch_to, None
        if pending is None:
            return False
        uri, done = pending
        try:
            if uri != self.mirror.tracking_uri:
                log.info("MLflow mirror: switching to %s", shown_uri(uri))
                self.mirror = self._make_mirror(uri)
                self._opened, self.permanent_error, self.last_error = False, None, None
                self._cause, self._tries = None, 0
                for job in self.store.jobs_to_mirror():
                    if job.mlflow_run_id is not None or job.mlflow_error is not None:
                        self._mark(job, mlflow_run_id=None, mlflow_metric_cursor=0, mlflow_error=None)
        finally:
            done.set()
        return True

    def status(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "tracking_uri": self.mirror.tracking_uri,
            "last_sync": self.last_sync,
            "last_error": self.last_error,
            "permanent_error": self.permanent_error,
        }

    def _run(self) -> None:
        # Training comes first: with every core busy, a mirror pass at equal priority stalls an
        # OpenMP thread of the worker and with it the whole step. Niceness is per thread on Linux,
        # and workers are spawned from the main thread, so they keep normal priority.
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), MIRROR_NICENESS)
        except OSError as err:
            log.debug("could not lower the mirror thread's priority: %s", err)
        try:
            self._retry_given_up()
        except Exception:  # the mirror must never take the daemon down; the log has the traceback
            log.exception("MLflow mirror could not list the jobs it had given up on")
        try:
            self._open()
        except MirrorUnavailable as err:
            self._failed(err)  # the loop below retries and reports it
        except Exception:  # the mirror must never take the daemon down; the log has the traceback
            log.exception("MLflow mirror could not open the tracking store")
        delay = self.interval
        while True:
            self._kick.wait(delay)
            self._kick.clear()
            if self._stop.is_set():
                break
            try:
                if self._switched():
                    delay = self.interval
                if self.permanent_error is not None:
                    self._give_up_waiting_jobs()  # jobs submitted since learn why they are not mirrored
                    delay = self.interval
                    continue
                self._open()
                self.sync_once()
                self.last_error = None
                self.last_sync = time.time()
                self._cause, self._tries = None, 0
                delay = self.interval
            except MirrorUnavailable as err:
                self._failed(err)
                delay = min(self.max_backoff, delay * 2)
                if self.permanent_error is None:
                    log.warning("MLflow mirror is behind, retrying in %.0fs: %s", delay, err)
            except Exception:  # the mirror must never take the daemon down; the log has the traceback
                log.exception("MLflow mirror pass failed")
                delay = min(self.max_backoff, delay * 2)
        if self.permanent_error is not None or not self._opened:
            return
        try:
            self.sync_once()
        except MirrorUnavailable as err:
            log.warning("MLflow mirror left behind at shutdown (it catches up at next start): %s", err)

    def _open(self) -> None:
        """Open (make, upgrade) the tracking store, until that has worked once. While it fails,
        every job waiting for the mirror carries the sentence."""
        if self._opened:
            return
        try:
            self.mirror.warm_up()
        except MirrorUnavailable as err:
            for job in self.store.jobs_to_mirror():
                if job.mlflow_error != str(err):
                    self._mark(job, mlflow_error=str(err))
            raise
        self._opened = True

    def _failed(self, err: MirrorUnavailable) -> None:
        """Count a failed try; stop after MAX_BROKEN_TRIES in a row with the same broken store."""
        self.last_error = str(err)
        if err.kind is not ErrorKind.BROKEN:
            self._cause, self._tries = None, 0
            return
        self._tries = self._tries + 1 if err.cause == self._cause else 1
        self._cause = err.cause
        if self._tries < MAX_BROKEN_TRIES:
            return
        self.permanent_error = (
            f"{err} The MLflow mirror stopped after {self._tries} tries; jobs still train, and "
            "catch up when the daemon restarts with a working store."
        )
        log.error("MLflow mirror stopped: %s", err)
        self._give_up_waiting_jobs()

    def _give_up_waiting_jobs(self) -> None:
        for job in self.store.jobs_to_mirror():
            self._mark(job, mlflow_done=True, mlflow_error=self.permanent_error)

    def _retry_given_up(self) -> None:
        """Jobs the mirror gave up on earlier (done with an error) get one more try now."""
        again = [j for j in self.store.list_jobs() if j.mlflow_done and j.mlflow_error]
        for job in again:
            self._mark(job, mlflow_done=False, mlflow_error=None)
        if again:
            log.info("MLflow mirror: trying again %d job(s) it had given up on", len(again))

    def _mark(self, job: JobInfo, **fields: Any) -> None:
        """Store ``fields`` of the job's mirror bookkeeping; tell ``on_change`` when what a job
        view shows of it (run id, error, done) differs from what it showed last."""
        self.store.set_mlflow(job.id, job.attempt, **fields)
        key = (job.id, job.attempt)
        was = self._shown.get(key, (job.mlflow_run_id, job.mlflow_error, job.mlflow_done))
        names = ("mlflow_run_id", "mlflow_error", "mlflow_done")
        now = tuple(fields.get(k, old) for k, old in zip(names, was, strict=True))
        self._shown[key] = now
        if now != was:
            self.on_change(job.id)

    def sync_once(self) -> None:
        for job in self.store.jobs_to_mirror():
            if self._stop.is_set() and not JobState(job.state).is_terminal():
                continue
            try:
                self._sync_job(job)
            except JobNotFound:
                continue  # deleted while we worked
            except MirrorUnavailable as err:
                if err.kind is ErrorKind.REJECTED:
                    # MLflow refused the request itself; retrying cannot help. Stop, and say why.
                    log.error("job %s is not mirrored to MLflow: %s", job.id, err)
                    self._mark(job, mlflow_error=str(err), mlflow_done=True)
                    continue
                self._mark(job, mlflow_error=str(err))
                raise

    def _sync_job(self, job: JobInfo) -> None:
        run_id, cursor = job.mlflow_run_id, job.mlflow_metric_cursor
        had_error = job.mlflow_error is not None
        if run_id is None:
            spec = job.spec
            run_id = self.mirror.ensure_run(
                experiment=job.experiment, run_name=job.name, job_id=job.id, attempt=job.attempt,
                params={k: v for k, v in spec.items() if k not in ("name", "experiment", "tags")},
                tags={**spec.get("tags", {}), "sparktrainer.recipe": spec.get("recipe", ""),
                      "sparktrainer.method": spec.get("method", ""), **_dataset_tags(spec)},
            )  # fmt: skip
            cursor = 0
            self._mark(job, mlflow_run_id=run_id, mlflow_metric_cursor=0)
        while True:
            points = self.store.metrics(job.id, attempt=job.attempt, after_id=cursor, limit=BATCH_ROWS)
            if not points:
                break
            self.mirror.log_metrics(run_id, [(p.key, p.value, p.step, int(p.time * 1000)) for p in points])
            cursor = points[-1].id
            self._mark(job, mlflow_metric_cursor=cursor, mlflow_error=None)
            had_error = False
        state = JobState(job.state)
        if had_error and not state.is_terminal():
            self._mark(job, mlflow_error=None)  # caught up after an outage
        if state.is_terminal():
            job_dir = self.data.job_dir(job.id, job.attempt)
            if (job_dir / "spec.json").exists():
                self.mirror.log_artifacts(run_id, job_dir / "spec.json")
            final = job_dir / "final"
            if state == JobState.COMPLETED and final.is_dir():
                self.mirror.log_artifacts(run_id, final, _artifact_name(job))
            self.mirror.set_tags(
                run_id, {"sparktrainer.state": state.value, "sparktrainer.reason": job.reason or ""}
            )
            self.mirror.finish(run_id, MLFLOW_STATUS[state])
            self._mark(job, mlflow_done=True, mlflow_error=None)


def shown_uri(uri: str) -> str:
    """``uri`` for a log or an answer: a password in it becomes ***."""
    from urllib.parse import urlsplit

    try:
        password = urlsplit(uri).password if "://" in uri else None
    except ValueError:
        return uri
    return uri.replace(f":{password}@", ":***@") if password else uri


def _dataset_tags(spec: dict[str, Any]) -> dict[str, str]:
    """``sparktrainer.dataset`` (name@vN) and ``sparktrainer.dataset_hash`` for a job on an imported dataset."""
    ds = spec.get("dataset") or {}
    if not ds.get("name") or not ds.get("hash"):
        return {}
    return {
        "sparktrainer.dataset": f"{ds['name']}@v{ds.get('version')}",
        "sparktrainer.dataset_hash": ds["hash"],
    }


def _artifact_name(job: JobInfo) -> str:
    return "adapter" if job.spec.get("method") in ADAPTER_METHODS else "model"


__all__ = ["MirrorThread", "shown_uri"]
