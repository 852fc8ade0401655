"""Fault injection against a real daemon and real workers: the daemon is killed with SIGKILL
at random moments and restarted by a CLI call; afterwards nothing is lost or counted twice.

``kill_daemon`` / ``restart_daemon`` / ``DaemonKiller`` are small helpers other fault tests
(imports, MLflow's first start) reuse: ``DaemonKiller(home, seed).run(n, between=...)``.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from tests.helpers import cli, daemon_pid
from trainer_runtime.client.client import Client

pytestmark = pytest.mark.e2e


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
    ) -> None:
        """Kill ``n`` times; ``before(i)`` waits for the moment of kill ``i`` (e.g. a step), then
        a random pause of ``between`` seconds makes the moment random within it; ``while_down(i)``
        runs while no daemon runs (e.g. wait for a worker to finish)."""
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


def wait_for(client: Client, job_id: str, cond, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.job(job_id)
        if cond(job):
            return job
        assert time.monotonic() < deadline, (
            f"timed out; job is {job['state']} at step {job['step']}: {job['reason']}"
        )
        time.sleep(0.1)


def loss_steps(client: Client, job_id: str) -> list[int]:
    return [p["step"] for p in client.metrics(job_id, key="loss")["points"]]


def checkpoint_dirs(job_dir: Path) -> set[str]:
    return {str(p) for p in (job_dir / "checkpoints").glob("step-*")}


def assert_everything_recorded(client: Client, job_id: str, steps: int) -> None:
    """Every loss step once, the artifacts that exist recorded once each, progress 100 %."""
    job = client.job(job_id)
    assert job["state"] == "COMPLETED", job["reason"]
    assert loss_steps(client, job_id) == list(range(1, steps + 1))
    assert job["metrics"]["loss"]["count"] == steps
    assert job["progress"] == 1.0 and job["step"] == job["total_steps"] == steps
    job_dir = Path(job["job_dir"])
    arts = client.artifacts(job_id)
    paths = [a["path"] for a in arts]
    assert len(paths) == len(set(paths)), f"an artifact recorded twice: {paths}"
    assert {a["path"] for a in arts if a["kind"] == "checkpoint"} == checkpoint_dirs(job_dir)
    assert checkpoint_dirs(job_dir), "no checkpoint on disk"
    final = [a for a in arts if a["kind"] != "checkpoint"]
    assert [(a["path"], a["step"]) for a in final] == [(str(job_dir / "final"), steps)]
    assert (job_dir / "final").is_dir()


def test_job_that_finishes_while_no_daemon_runs_is_recorded_whole(daemon, spec_file, home: Path):
    train = {"max_steps": 200, "eval_every": 50, "checkpoint_every": 50}
    job_id = cli("jobs", "submit", str(spec_file(train=train)), check=True).stdout.strip()
    job = wait_for(daemon, job_id, lambda j: j["step"] >= 20)
    kill_daemon(home)
    psutil.Process(job["pid"]).wait(300)  # the worker trains to the end while no daemon runs
    restart_daemon(home)
    job = wait_for(daemon, job_id, lambda j: j["state"] != "RUNNING")
    assert_everything_recorded(daemon, job_id, 200)
    states = [t["to_state"] for t in daemon.transitions(job_id)]
    assert states == ["PENDING", "QUEUED", "RUNNING", "COMPLETED"]


def test_ten_daemon_kills_during_a_job_lose_and_duplicate_nothing(
    home: Path, daemon_with, spec_file, monkeypatch: pytest.MonkeyPatch
):
    """Nine kills at random steps, spread over the job; the tenth near its end, and the daemon
    comes back only after the worker has finished (what lost the last steps and the final
    checkpoint of a 3,000-step job)."""
    # MLflow's first import costs each restarted daemon seconds of CPU; its own kills are tested apart.
    monkeypatch.setenv("SPARKTRAINER_MLFLOW", "off")
    daemon = daemon_with()
    steps, kills, last = 2000, 10, 1700  # kill i comes at a random step of the i-th share of what is left
    train = {"max_steps": steps, "batch_size": 8, "seq_len": 64, "eval_every": 50, "checkpoint_every": 25}
    job_id = cli("jobs", "submit", str(spec_file(train=train)), check=True).stdout.strip()
    worker = psutil.Process(wait_for(daemon, job_id, lambda j: j["state"] == "RUNNING" and j["pid"])["pid"])
    killer = DaemonKiller(home)

    def before(i: int) -> None:
        now = daemon.job(job_id)["step"]
        if i < kills - 1:
            target = now + killer.rng.randint(0, max(0, (last - now) // (kills - 1 - i)))
        else:
            target = max(now, killer.rng.randint(steps - 60, steps - 20))
        wait_for(daemon, job_id, lambda j: j["step"] >= target or j["state"] != "RUNNING", timeout=400)

    def note() -> str:
        job = daemon.job(job_id)
        return f"(job {job['state']} at step {job['step']})"

    def while_down(i: int) -> None:
        if i == kills - 1:
            worker.wait(300)  # it finishes the job while no daemon runs

    killer.run(kills, between=(0.0, 0.5), before=before, note=note, while_down=while_down)
    wait_for(daemon, job_id, lambda j: j["state"] != "RUNNING", timeout=400)
    during = [line for line in killer.log if "RUNNING" in line]
    print(f"{len(during)} of {kills} kills came while the job ran")
    assert len(during) == kills, killer.log  # the schedule spreads them over the job
    assert_everything_recorded(daemon, job_id, steps)
    assert daemon.job(job_id)["metrics"]["eval_loss"]["count"] == steps // 50 + 1  # step 0 and every 50th
    states = [t["to_state"] for t in daemon.transitions(job_id)]
    assert states == ["PENDING", "QUEUED", "RUNNING", "COMPLETED"], killer.log
