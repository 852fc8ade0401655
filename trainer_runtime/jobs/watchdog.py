"""The watchdog: notices a worker that stopped making progress or stopped responding.

A worker is *stopped* when a process of its tree is in the stopped state (SIGSTOP, SIGTSTP,
a debugger): noticed at the next check. It is *unresponsive* when for ``timeout_s`` it wrote
no event and its process tree used (almost) no CPU: a worker blocked on a lock, a dead network
file system or a device. A busy worker (a long step, a slow evaluation, loading a big model)
uses CPU and is never marked; a worker spinning without progress is not "unresponsive" either
(it may be computing): the watchdog only says what it sees.

It marks and tells (``health``: None or ``{"status", "since", "message"}``); it never stops a
worker by itself. Pause and cancel use what it sees to escalate (see ``Supervisor``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil

from trainer_runtime.jobs.process import WorkerHandle

log = logging.getLogger(__name__)
CHECK_INTERVAL_S = 1.0  # /proc reads per job at most this often
TREE_REFRESH_S = 10.0  # finding the tree's processes reads all of /proc: less often
IDLE_CPU_FRACTION = 0.02  # under 2 % of one core over a check interval counts as "no CPU",
IDLE_CPU_MAX_S = 0.05  # and under 50 ms however long the interval (a hung process uses ~0)

Health = dict[str, Any]


@dataclass
class _Watch:
    last_check: float
    last_active: float
    cpu: float
    events_size: int
    procs: list[psutil.Process]
    procs_at: float
    health: Health | None = None


def tree(pid: int) -> list[psutil.Process]:
    """The worker's process and its descendants (torchrun's ranks); [] once it is gone."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def stopped_pids(procs: list[psutil.Process]) -> list[int]:
    out = []
    for p in procs:
        try:
            if p.status() in (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP):
                out.append(p.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out


def cpu_seconds(procs: list[psutil.Process]) -> float:
    """User + system CPU of the tree, with what its ended children used."""
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def _size(handle: WorkerHandle) -> int:
    try:
        return (handle.job_dir / "events.jsonl").stat().st_size
    except OSError:
        return 0


class Watchdog:
    def __init__(self, clock: Callable[[], float], timeout_s: float, wall: Callable[[], float] = time.time):
        self.clock, self.wall, self.timeout_s = clock, wall, timeout_s
        self._watches: dict[str, _Watch] = {}

    def health(self, job_id: str) -> Health | None:
        w = self._watches.get(job_id)
        return w.health if w else None

    def forget(self, job_id: str) -> None:
        self._watches.pop(job_id, None)

    def check(self, handle: WorkerHandle) -> bool:
        """Look at a live worker; True when its health changed (read it with ``health``)."""
        now = self.clock()
        w = self._watches.get(handle.job_id)
        if w is None:  # first sight: counts as activity
            procs = tree(handle.pid)
            self._watches[handle.job_id] = _Watch(now, now, cpu_seconds(procs), _size(handle), procs, now)
            return False
        if now - w.last_check < CHECK_INTERVAL_S and w.health is None:
            return False
        if now - w.procs_at >= TREE_REFRESH_S or not w.procs:
            w.procs, w.procs_at = tree(handle.pid), now
        procs = w.procs
        cpu, size = cpu_seconds(procs), _size(handle)
        idle_cpu = min(IDLE_CPU_FRACTION * max(now - w.last_check, 1e-3), IDLE_CPU_MAX_S)
        if size != w.events_size or cpu - w.cpu > idle_cpu:
            w.last_active = now
        w.last_check, w.cpu, w.events_size = now, cpu, size
        new = self._judge(handle, w, stopped_pids(procs), now)
        if _same(new, w.health):
            return False
        w.health = new
        if new is None:
            log.info("job %s: the worker is making progress again", handle.job_id)
        else:
            log.warning("job %s: %s", handle.job_id, new["message"])
        return True

    def _judge(self, handle: WorkerHandle, w: _Watch, stopped: list[int], now: float) -> Health | None:
        if stopped:
            since = w.health["since"] if w.health and w.health["status"] == "stopped" else self.wall()
            which = "its process" if stopped == [handle.pid] else f"process {', '.join(map(str, stopped))}"
            return {
                "status": "stopped",
                "since": since,
                "message": (
                    f"the worker is stopped ({which} got SIGSTOP or is held by a debugger) and makes no "
                    f"progress; continue it with `kill -CONT {stopped[0]}`, or pause or cancel the job "
                    "(both continue it first)."
                ),
            }
        idle = now - w.last_active
        if idle < self.timeout_s:
            return None
        since = self.wall() - idle
        if w.health and w.health["status"] == "unresponsive":
            since = w.health["since"]
        return {
            "status": "unresponsive",
            "since": since,
            "message": (
                f"the worker has written no event and used no CPU for {_duration(idle)}; it looks hung "
                "(waiting on a lock, a network file system or a device). Its log may say on what; "
                "cancel the job to stop it."
            ),
        }


def _same(a: Health | None, b: Health | None) -> bool:
    if a is None or b is None:
        return a is b
    return a["status"] == b["status"]


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
