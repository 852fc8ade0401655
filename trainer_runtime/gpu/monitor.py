"""The daemon's GPU sampler: reads the back end once a second on its own thread (never on the
event loop), tags processes with the job they belong to, and keeps one hour of history per
GPU and MIG device in ring buffers. The API and the scheduler read the latest snapshot."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import psutil

from trainer_runtime.gpu.backend import GpuBackend
from trainer_runtime.gpu.errors import GpuError
from trainer_runtime.gpu.model import GpuInfo

log = logging.getLogger(__name__)
INTERVAL_S = 1.0
HISTORY_S = 3600
FIELDS = ("util_pct", "memory_used_mb", "temp_c", "power_w")


def job_of(pid: int, workers: dict[int, str]) -> str | None:
    """The job whose worker is ``pid`` or one of its ancestors (torchrun ranks are children)."""
    if pid in workers:
        return workers[pid]
    try:
        for parent in psutil.Process(pid).parents():
            if parent.pid in workers:
                return workers[parent.pid]
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return None


class GpuMonitor:
    def __init__(self, backend: GpuBackend | None, message: str | None = None, interval: float = INTERVAL_S):
        self.backend = backend
        self.message = message
        self.interval = interval
        self.workers: dict[int, str] = {}  # worker pid -> job id; the daemon keeps it current
        self.job_pids: dict[str, set[int]] = {}  # job -> pids seen on a GPU
        self.on_sample: Callable[[], None] | None = None
        self._latest: list[GpuInfo] = []
        self._time = 0.0
        self._error: str | None = None
        self._history: dict[str, dict[str, deque]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if backend is not None:
            self.sample()

    # --------------------------------------------------------------- sampling
    def sample(self) -> list[GpuInfo]:
        """Read the back end now (on the caller's thread) and record the sample."""
        if self.backend is None:
            return []
        try:
            gpus = self.backend.snapshot()
        except GpuError as err:
            with self._lock:
                if self._error != str(err):
                    log.error("GPU read failed: %s", err)
                self._error = str(err)
            return self.latest()
        workers = dict(self.workers)
        now = time.time()
        with self._lock:
            self._error = None
            for g in gpus:
                for p in g.processes:
                    p.job_id = job_of(p.pid, workers)
                    if p.job_id:
                        self.job_pids.setdefault(p.job_id, set()).add(p.pid)
                self._record(g.uuid, now, g.util_pct, g.memory_used_mb, g.temp_c, g.power_w)
                for m in g.mig_devices:
                    self._record(m.uuid, now, m.util_pct, m.memory_used_mb, None, None)
            self._latest, self._time = gpus, now
        if self.on_sample:
            self.on_sample()
        return gpus

    def _record(self, uuid: str, t: float, *values: Any) -> None:
        buf = self._history.get(uuid)
        if buf is None:
            n = int(HISTORY_S / self.interval)
            buf = self._history[uuid] = {k: deque(maxlen=n) for k in ("time", *FIELDS)}
        buf["time"].append(round(t, 3))
        for k, v in zip(FIELDS, values, strict=True):
            buf[k].append(v)

    def start(self) -> None:
        if self.backend is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="gpu-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except Exception:  # the sampler must keep going; the log has the traceback
                log.exception("GPU sampler failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.backend is not None:
            self.backend.close()

    # ------------------------------------------------------------------ views
    def latest(self) -> list[GpuInfo]:
        with self._lock:
            return list(self._latest)

    def view(self) -> dict[str, Any]:
        with self._lock:
            return {
                "backend": self.backend.name if self.backend else None,
                "message": self._error or self.message,
                "time": self._time or time.time(),
                "gpus": [g.to_json() for g in self._latest],
            }

    def history(self, seconds: float = HISTORY_S) -> dict[str, Any]:
        cutoff = time.time() - seconds
        out: dict[str, Any] = {}
        with self._lock:
            for uuid, buf in self._history.items():
                times = list(buf["time"])
                first = next((i for i, t in enumerate(times) if t >= cutoff), len(times))
                out[uuid] = {k: list(v)[first:] for k, v in buf.items()}
        return {"interval_s": self.interval, "devices": out}
