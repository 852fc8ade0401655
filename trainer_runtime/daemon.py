"""The runtime daemon: one per data dir. Owns the store, the queue, the
supervisor and the MLflow mirror; serves the API on a Unix socket.

Run with ``python -m trainer_runtime.daemon`` (the CLI does this for you)."""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from trainer_runtime import __version__
from trainer_runtime.api.server import API_VERSION, Api
from trainer_runtime.gpu.backend import open_backend
from trainer_runtime.gpu.monitor import GpuMonitor
from trainer_runtime.jobs.bus import EventBus
from trainer_runtime.jobs.devices import DevicePool
from trainer_runtime.jobs.state import JobState
from trainer_runtime.jobs.supervisor import Supervisor
from trainer_runtime.paths import DataDir
from trainer_runtime.settings import Settings, SettingsError, load_settings
from trainer_runtime.store.records import JobInfo
from trainer_runtime.store.store import Store

log = logging.getLogger("trainer_runtime.daemon")
TICK_S = 0.25
IDLE_TICK_S = 1.0


class AlreadyRunning(RuntimeError):
    pass


def acquire_lock(data: DataDir) -> int:
    fd = os.open(data.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        pid = "unknown"
        try:
            pid = json.loads(data.pointer_file.read_text())["pid"]
        except (OSError, ValueError, KeyError):
            log.debug("no readable pointer file")
        raise AlreadyRunning(f"a daemon is already running for data dir {data.root} (pid {pid})") from None
    return fd


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


class Daemon:
    def __init__(self, data: DataDir, settings: Settings | None = None):
        self.data = data.ensure()
        self.settings = settings or load_settings(data)
        self.store = Store(data.database_url)
        self.gpu = GpuMonitor(*open_backend(data.root))  # SPARKTRAINER_GPU_SIM picks the simulated set
        self.devices = DevicePool.detect(self.settings.cpu_slots, self.gpu)
        self.bus = EventBus()
        self.supervisor = Supervisor(
            self.store, data, self.devices, self.bus, secrets_env=secrets_environment,
            cancel_timeout=self.settings.cancel_timeout_s,
        )  # fmt: skip
        self.tracking_uri = self.settings.effective_tracking_uri(data)
        self.started = time.time()
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self.mirror: Any = None

    # ----------------------------------------------------------------- views
    def status(self) -> dict[str, Any]:
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
            "jobs": {s.value: n for s, n in self._counts().items() if n},
            "mlflow": self.mirror.status() if self.mirror else {"enabled": False},
        }

    def _counts(self) -> dict[JobState, int]:
        counts = dict.fromkeys(JobState, 0)
        for job in self.store.list_jobs():
            counts[JobState(job.state)] += 1
        return counts

    def job_view(self, job: JobInfo) -> dict[str, Any]:
        """Everything about one job, with its metric summaries."""
        summaries = {s.key: s.to_json() for s in self.store.summaries(job.id)}
        view = self._base_view(job, summaries.get("eval_loss", {}).get("min"))
        view["metrics"] = summaries
        return view

    def job_list_view(self, jobs: list[JobInfo]) -> list[dict[str, Any]]:
        """The table rows: no spec, and every job's best eval loss in one query."""
        best = self.store.metric_minimums([j.id for j in jobs], "eval_loss")
        views = [self._base_view(j, best.get(j.id)) for j in jobs]
        for view in views:
            view.pop("spec")
        return views

    def _base_view(self, job: JobInfo, best_eval_loss: float | None) -> dict[str, Any]:
        view = job.to_json()
        view["progress"] = job.step / job.total_steps if job.total_steps else 0.0
        view["eta_s"] = self._eta(job)
        view["best_eval_loss"] = best_eval_loss
        view["job_dir"] = str(self.data.job_dir(job.id, job.attempt))
        view["device_info"] = self.devices.describe(job.devices)
        if job.state == JobState.QUEUED:
            view["waiting_for"] = self.supervisor.wait_reason(job)
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
            self._wake.clear()
            self.gpu.workers = {h.pid: job_id for job_id, h in self.supervisor.handles.items()}
            # Workers flush their events about once a second; tick faster only while a live
            # client (GUI, `logs -f`) watches. Every wake-up costs training CPU on a busy machine.
            interval = TICK_S if self.bus.has_subscribers else IDLE_TICK_S
            try:
                await asyncio.wait_for(self._wake.wait(), interval)
            except TimeoutError:
                continue

    async def serve(self) -> None:
        self.supervisor.recover()
        self.gpu.workers = {h.pid: job_id for job_id, h in self.supervisor.handles.items()}
        self.gpu.start()
        self._start_mirror()
        sock = self.data.socket_path
        sock.unlink(missing_ok=True)  # we hold the lock, so a leftover socket is stale
        runner = web.AppRunner(Api(self).app(), handle_signals=False, access_log=None)
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
        log.info("daemon %s serving %s on %s", __version__, self.data.root, sock)
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

    def _write_pointer(self, sock: Path) -> None:
        info = {
            "pid": os.getpid(),
            "socket": str(sock),
            "version": __version__,
            "api": API_VERSION,
            "started": self.started,
        }
        tmp = self.data.pointer_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(info), encoding="utf-8")
        os.replace(tmp, self.data.pointer_file)

    def _start_mirror(self) -> None:
        if os.environ.get("SPARKTRAINER_MLFLOW") == "off":
            return
        from trainer_runtime.tracking.sync import MirrorThread

        self.mirror = MirrorThread(
            self.store, self.data, self.tracking_uri, self.settings.mlflow_sync_interval_s
        )
        self.mirror.start()


def main(argv: list[str] | None = None) -> int:
    data = DataDir.default().ensure()
    # MLflow's HTTP client retries for minutes by default; the mirror has its own backoff.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[logging.FileHandler(data.daemon_log), logging.StreamHandler(sys.stderr)],
    )
    try:
        lock = acquire_lock(data)
    except AlreadyRunning as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    try:
        daemon = Daemon(data)
    except SettingsError as err:
        print(f"error: {err}", file=sys.stderr)
        os.close(lock)
        return 2
    try:
        asyncio.run(daemon.serve())
    finally:
        os.close(lock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
