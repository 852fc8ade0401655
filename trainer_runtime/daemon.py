"""The runtime daemon: one per data dir. Owns the store, the queue, the
supervisor and the MLflow mirror; serves the API on a Unix socket.

Run with ``python -m trainer_runtime.daemon`` (the CLI does this for you)."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.exc import DatabaseError

from trainer_runtime import __version__
from trainer_runtime.api.schema.jobs import JobView, StatusView, devices_label
from trainer_runtime.api.server import API_VERSION, Api
from trainer_runtime.daemon_lock import AlreadyRunning, DaemonLock
from trainer_runtime.daemon_start import StartReport, setup_logging
from trainer_runtime.gpu.backend import open_backend
from trainer_runtime.gpu.monitor import GpuMonitor
from trainer_runtime.jobs.bus import EventBus
from trainer_runtime.jobs.devices import DevicePool
from trainer_runtime.jobs.state import JobState
from trainer_runtime.jobs.supervisor import Supervisor
from trainer_runtime.jsontext import gc_paused
from trainer_runtime.loopwatch import LoopWatch
from trainer_runtime.paths import DataDir, UnsafeRuntimeDir
from trainer_runtime.settings import Settings, SettingsError, load_settings
from trainer_runtime.store.health import DatabaseDamaged
from trainer_runtime.store.identity import StoreRefused, open_store
from trainer_runtime.store.records import JobInfo, job_info

log = logging.getLogger("trainer_runtime.daemon")
TICK_S = 0.25
SWITCH_INTERVAL_S = 0.001  # how soon a thread hands the GIL back to the event loop (default 5 ms)
IDLE_TICK_S = 1.0
# exit codes of a daemon that does not start (the client reads the sentence from the start report)
EXIT_SETTINGS, EXIT_RUNNING, EXIT_REFUSED = 2, 3, 4
LIVE = {JobState.RUNNING.value, JobState.QUEUED.value}  # views with an ETA or a wait reason


def secrets_environment() -> dict[str, str]:
    """Credentials for a worker, from the OS keyring; none when no keyring works."""
    try:
        from trainer_runtime.secrets.store import KeyringUnavailable, SecretStore
    except ImportError:
        return {}
    try:
        return SecretStore().worker_environment()
    except KeyringUnavailable as err:
        log.warning("starting the worker without credentials: %s", err)
        return {}


class Credentials:
    """``secrets_environment()`` as the supervisor's ``secrets_env``, without blocking the event
    loop: a keyring read is a D-Bus round trip per credential (0.1-0.2 s on a busy machine), and
    the supervisor asks at every submit and worker start, on the loop. The API refreshes it on a
    thread before a submit (``refresh``); a call returns what was last read and, when that is
    older than ``MAX_AGE_S``, reads again on a thread for the next one."""

    MAX_AGE_S = 5.0

    def __init__(self) -> None:
        self._env: dict[str, str] = {}
        self._at = -math.inf
        self._reading = threading.Lock()

    def refresh(self) -> dict[str, str]:
        """Read the keyring now (blocking: call it on a thread)."""
        env = secrets_environment()
        self._env, self._at = env, time.monotonic()
        return env

    def __call__(self) -> dict[str, str]:
        if time.monotonic() - self._at > self.MAX_AGE_S and self._reading.acquire(blocking=False):
            threading.Thread(target=self._refresh_once, name="keyring-read", daemon=True).start()
        return dict(self._env)

    def _refresh_once(self) -> None:
        try:
            self.refresh()
        finally:
            self._reading.release()


class Daemon:
    def __init__(self, data: DataDir, settings: Settings | None = None, lock: DaemonLock | None = None):
        self.data = data.ensure()
        self.lock = lock
        self.settings = settings or load_settings(data)
        self.store = open_store(data)  # refuses a missing, empty, damaged or foreign database
        self.gpu = GpuMonitor(*open_backend(data.root))  # SPARKTRAINER_GPU_SIM picks the simulated set
        self.devices = DevicePool.detect(self.settings.cpu_slots, self.gpu)
        self.bus = EventBus()
        self.credentials = Credentials()
        self.supervisor = Supervisor(
            self.store, data, self.devices, self.bus, secrets_env=self.credentials,
            cancel_timeout=self.settings.cancel_timeout_s, watchdog_s=self.settings.watchdog_s,
            pause_timeout=self.settings.pause_timeout_s,
        )  # fmt: skip
        self.tracking_uri = self.settings.effective_tracking_uri(data)
        self.started = time.time()
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self.mirror: Any = None
        self.api: Any = None  # the Api serving this daemon, once serve() made it
        self._jobs_dir = str(data.jobs)
        self._rendered: dict[str, tuple[Any, bytes]] = {}  # list rows of jobs not running, as JSON
        self._rendered_devices: tuple = ()

    # ----------------------------------------------------------------- views
    def status(self, counts: dict[str, int] | None = None) -> dict[str, Any]:
        counts = self.store.count_by_state() if counts is None else counts
        return {
            "version": __version__,
            "api": API_VERSION,
            "pid": os.getpid(),
            "socket": str(self.data.socket_path),
            "data_dir": str(self.data.root),
            "started": self.started,
            "tracking_uri": self.tracking_uri,
            "devices": self.devices.summary(),
            "gpu": {
                "backend": self.gpu.backend.name if self.gpu.backend else None,
                "message": self.gpu.message,
            },
            "store_id": self.store.store_id,
            "jobs": {s.value: n for s in JobState if (n := counts.get(s.value, 0))},
            "mlflow": self.mirror.status() if self.mirror else {"enabled": False},
        }

    async def status_view(self) -> StatusView:
        """``status()`` with its one query (job counts by state) on a thread."""
        counts = await asyncio.to_thread(self.store.count_by_state)
        return StatusView.model_validate(self.status(counts))

    def job_view(self, job: JobInfo) -> JobView:
        """Everything about one job, with its metric summaries."""
        summaries = {s.key: s.to_json() for s in self.store.summaries(job.id)}
        view = self._base_view(job, summaries.get("eval_loss", {}).get("min"))
        view["metrics"] = summaries
        return JobView.model_validate(view)

    async def job_list_json(self, states: list[str] | None = None) -> bytes:
        """The job table as the JSON body ``{"jobs": [...]}``: one statement on a thread (rows,
        experiment names, best eval loss), then the rows rendered on the loop (they read the
        supervisor's live state)."""
        # Thousands of fresh tuples would set the cyclic collector off, and a full collection of the
        # daemon's heap took longer than the list itself (the rows hold no cycles).
        with gc_paused():
            rows = await asyncio.to_thread(self.store.job_rows, states)
            return b'{"jobs":[' + b",".join(self.render_job_rows(rows)) + b"]}"

    def render_job_rows(self, rows: list[Any]) -> list[bytes]:  # store.JobRow tuples
        """Each row's view without its spec, as JSON. The view of a job that is neither running nor
        queued depends on its row alone (no worker, no ETA, no wait reason), so its JSON is kept
        while its row tuple is unchanged: a list of 5,000 mostly finished jobs renders only what
        changed."""
        devices = tuple((d.id, d.kind, d.name, d.memory_mb) for d in self.devices.devices)
        old = self._rendered if devices == self._rendered_devices else {}
        self._rendered, self._rendered_devices = {}, devices
        out = []
        for row in rows:
            kept = old.get(row.id)
            if kept is not None and kept[0] == row:
                body = kept[1]
            else:
                view = self._base_view(job_info(row, row.experiment_name or ""), row.best)
                view.pop("spec")
                body = json.dumps(view, separators=(",", ":")).encode()
                if row.state not in LIVE and row.id not in self.supervisor.handles:
                    kept = (row, body)
            if kept is not None:
                self._rendered[row.id] = kept
            out.append(body)
        return out

    def _base_view(self, job: JobInfo, best_eval_loss: float | None) -> dict[str, Any]:
        """A ``JobRow`` as a dict (the list renders thousands of these without building models);
        its computed fields are filled by the rules the model's properties call."""
        view = job.to_json()
        view["progress"] = job.step / job.total_steps if job.total_steps else 0.0
        view["eta_s"] = self._eta(job)
        view["best_eval_loss"] = best_eval_loss
        view["job_dir"] = (
            f"{self._jobs_dir}/{job.id}/attempt-{job.attempt}"  # data.job_dir, without pathlib's cost
        )
        view["device_info"] = self.devices.describe(job.devices)
        view["health"] = self.supervisor.health(job.id)  # None, or what the watchdog saw (jobs/watchdog.py)
        view["waiting_for"] = self.supervisor.wait_reason(job) if job.state == JobState.QUEUED else None
        state = JobState(job.state)
        view["is_terminal"] = state.is_terminal()
        view["allowed_actions"] = state.allowed_actions()
        view["device_label"] = devices_label(d["label"] for d in view["device_info"])
        return view

    def _eta(self, job: JobInfo) -> float | None:
        handle = self.supervisor.handles.get(job.id)
        if job.state != JobState.RUNNING or handle is None or not job.total_steps:
            return None
        t0, s0 = handle.extra.setdefault("rate_origin", (time.monotonic(), job.step))
        done = job.step - s0
        if done <= 0:
            return None
        return (job.total_steps - job.step) * (time.monotonic() - t0) / done

    # ------------------------------------------------------------------ loop
    def wake(self) -> None:
        self._wake.set()

    def request_stop(self) -> None:
        self._stop.set()

    async def _supervise(self) -> None:
        while not self._stop.is_set():
            try:
                self.supervisor.tick()
            except Exception:  # one bad tick must not stop supervision; the log has the traceback
                log.exception("supervisor tick failed")
            self._keep_lock()
            self._wake.clear()
            self.gpu.workers = {h.pid: job_id for job_id, h in self.supervisor.handles.items()}
            # Workers flush their events about once a second; tick faster only while a live
            # client (GUI, `logs -f`) watches. Every wake-up costs training CPU on a busy machine.
            interval = TICK_S if self.bus.has_subscribers else IDLE_TICK_S
            try:
                await asyncio.wait_for(self._wake.wait(), interval)
            except TimeoutError:
                continue

    def _keep_lock(self) -> None:
        """A deleted daemon.lock is re-created and locked again, a deleted pointer file rewritten."""
        if self.lock is None:
            return
        try:
            self.lock.check()
            if not self.data.pointer_file.exists():
                self._write_pointer(self.data.socket_path)
                log.warning("%s was deleted while the daemon ran; wrote it again", self.data.pointer_file)
        except OSError:
            log.exception("could not check or re-create %s", self.data.lock_file)

    async def serve(self, report: StartReport | None = None) -> None:
        # The loop gives up the GIL at every socket call and waits the switch interval to get it
        # back from a thread doing Python work (an input check walking 50,000 files, an import's
        # scan): at the default 5 ms one status answer took 30-140 ms; at 1 ms it stays under 40.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        watch = LoopWatch.from_environment(asyncio.get_running_loop())
        if watch:
            watch.start()
        await asyncio.to_thread(self.credentials.refresh)
        self.supervisor.recover()
        self.gpu.workers = {h.pid: job_id for job_id, h in self.supervisor.handles.items()}
        self.gpu.start()
        self._start_mirror()
        sock = self.data.socket_path
        sock.unlink(missing_ok=True)  # we hold the lock, so a leftover socket is stale
        self.api = Api(self)  # kept: a settings change reaches its parts (import limits)
        runner = web.AppRunner(self.api.app(), handle_signals=False, access_log=None)
        await runner.setup()
        old_umask = os.umask(0o177)
        try:
            site = web.UnixSite(runner, str(sock))
            await site.start()
        finally:
            os.umask(old_umask)
        os.chmod(sock, 0o600)
        self._write_pointer(sock)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        log.info(
            "daemon %s serving %s (store %s) on %s", __version__, self.data.root, self.store.store_id, sock
        )
        if report:
            report.ready()
        task = asyncio.create_task(self._supervise())
        await self._stop.wait()
        log.info("daemon stopping; running workers keep running")
        self.bus.close_all()
        await task
        self.supervisor.shutdown()
        if self.mirror:
            self.mirror.stop()
        self.gpu.stop()
        await runner.cleanup()
        sock.unlink(missing_ok=True)
        self.data.pointer_file.unlink(missing_ok=True)
        self.store.close()
        if watch:
            watch.stop()

    def _write_pointer(self, sock: Path) -> None:
        info = {
            "pid": os.getpid(),
            "socket": str(sock),
            "version": __version__,
            "api": API_VERSION,
            "started": self.started,
        }
        tmp = self.data.pointer_file.with_suffix(".tmp")
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
            fh.write(json.dumps(info))
        os.replace(tmp, self.data.pointer_file)

    def _start_mirror(self) -> None:
        if os.environ.get("SPARKTRAINER_MLFLOW") == "off":
            return
        from trainer_runtime.tracking.sync import MirrorThread

        loop = asyncio.get_running_loop()

        def changed(job_id: str) -> None:  # on the mirror's thread: publish on the loop
            loop.call_soon_threadsafe(self.supervisor.publish_job, job_id)

        self.mirror = MirrorThread(
            self.store, self.data, self.tracking_uri, self.settings.mlflow_sync_interval_s, on_change=changed
        )
        self.mirror.start()


def main(argv: list[str] | None = None) -> int:
    report = StartReport.from_environment()
    data = DataDir.default().ensure()
    tightened = data.secure()
    setup_logging(data)
    for change in tightened:
        log.info("tightened the mode of %s (the data dir is private to its user)", change)
    # MLflow's HTTP client retries for minutes by default; the mirror has its own backoff.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    try:
        data.socket_path  # noqa: B018 (refuses a socket dir another user could control)
        lock = DaemonLock.acquire(data)
    except UnsafeRuntimeDir as err:
        return report.refused(str(err), EXIT_REFUSED, "unsafe_socket_dir")
    except AlreadyRunning as err:
        return report.refused(str(err), EXIT_RUNNING, "already_running")
    try:
        daemon = Daemon(data, lock=lock)
    except SettingsError as err:
        lock.release()
        return report.refused(str(err), EXIT_SETTINGS, "settings")
    except (StoreRefused, DatabaseDamaged) as err:
        lock.release()
        return report.refused(f"SparkTrainer will not start: {err}", EXIT_REFUSED, "store_refused")
    except DatabaseError as err:
        lock.release()
        log.exception("could not open the store")
        from trainer_runtime.store.health import describe_database_error, shown_url

        sentence = describe_database_error(err, f"the database {shown_url(data.database_url)}")
        return report.refused(f"SparkTrainer will not start: {sentence}", EXIT_REFUSED, "store_refused")
    try:
        asyncio.run(daemon.serve(report))
    finally:
        lock.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
