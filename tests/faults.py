"""Killing the daemon at random moments for the fault tests: ``kill_daemon`` (SIGKILL and wait),
``restart_daemon`` (as a user does: any CLI call starts it) and ``DaemonKiller`` (``n`` seeded
kills, each followed by a restart; ``SPARKTRAINER_FAULT_SEED`` replays a run)."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from tests.helpers import cli, daemon_pid


def kill_daemon(home: Path, timeout: float = 30) -> int:
    """SIGKILL the daemon serving ``home`` and wait until it is gone; return its pid."""
    pid = daemon_pid(home)
    try:
        proc = psutil.Process(pid)
        os.kill(pid, signal.SIGKILL)
        proc.wait(timeout)
    except psutil.NoSuchProcess:
        pass
    return pid


def restart_daemon(home: Path) -> None:
    """Start the daemon again the way a user does: any CLI call starts it."""
    cli("jobs", "list", check=True, timeout=120)
    assert psutil.pid_exists(daemon_pid(home))


class DaemonKiller:
    """``n`` SIGKILLs of the daemon at random moments (seeded; the seed is printed, set
    SPARKTRAINER_FAULT_SEED to replay a run), each followed by a restart through the CLI."""

    def __init__(self, home: Path, seed: int | None = None):
        env_seed = os.environ.get("SPARKTRAINER_FAULT_SEED")
        self.seed = int(env_seed) if env_seed else (seed if seed is not None else time.time_ns() % 100_000)
        print(f"fault seed: {self.seed} (SPARKTRAINER_FAULT_SEED={self.seed} replays it)")
        self.rng = random.Random(self.seed)
        self.home = home
        self.log: list[str] = []

    def run(
        self,
        n: int,
        between: tuple[float, float] = (0.0, 2.0),
        before: Callable[[int], None] | None = None,
        note: Callable[[], str] = str,
        while_down: Callable[[int], None] | None = None,
        after_restart: Callable[[int], None] | None = None,
    ) -> None:
        """Kill ``n`` times; ``before(i)`` waits for the moment of kill ``i`` (e.g. a step), then
        a random pause of ``between`` seconds makes the moment random within it; ``while_down(i)``
        runs while no daemon runs (e.g. wait for a worker to finish), ``after_restart(i)`` once the
        next daemon answers."""
        for i in range(n):
            if before is not None:
                before(i)
            time.sleep(self.rng.uniform(*between))  # the random moment (chaos, not a wait for a condition)
            what = note()
            pid = kill_daemon(self.home)
            self.log.append(f"kill {i + 1}: daemon pid {pid} {what}")
            print(self.log[-1])
            if while_down is not None:
                while_down(i)
            restart_daemon(self.home)
            if after_restart is not None:
                after_restart(i)
