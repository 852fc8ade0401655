"""Fault injection against a real daemon and real workers: the daemon is killed with SIGKILL
at random moments and restarted by a CLI call; afterwards nothing is lost or counted twice.

The kills come from ``tests/faults.py`` (``DaemonKiller``), which the import fault test uses too.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import psutil
import pytest

from tests.faults import DaemonKiller, kill_daemon, restart_daemon
from tests.helpers import cli, wait_job
from trainer_runtime.client.client import Client

pytestmark = pytest.mark.e2e


def loss_steps(client: Client, job_id: str) -> list[int]:
    return [p.step for p in client.metrics(job_id, key="loss").points]


def checkpoint_dirs(job_dir: Path) -> set[str]:
    return {str(p) for p in (job_dir / "checkpoints").glob("step-*")}


def assert_everything_recorded(client: Client, job_id: str, steps: int) -> None:
    """Every loss step once, the artifacts that exist recorded once each, progress 100 %."""
    job = client.job(job_id)
    assert job.state == "COMPLETED", job.reason
    assert loss_steps(client, job_id) == list(range(1, steps + 1))
    assert job.metrics["loss"].count == steps
    assert job.progress == 1.0 and job.step == job.total_steps == steps
    job_dir = Path(job.job_dir)
    arts = client.artifacts(job_id)
    paths = [a.path for a in arts]
    assert len(paths) == len(set(paths)), f"an artifact recorded twice: {paths}"
    assert {a.path for a in arts if a.kind == "checkpoint"} == checkpoint_dirs(job_dir)
    assert checkpoint_dirs(job_dir), "no checkpoint on disk"
    final = [a for a in arts if a.kind != "checkpoint"]
    assert [(a.path, a.step) for a in final] == [(str(job_dir / "final"), steps)]
    assert (job_dir / "final").is_dir()


def test_job_that_finishes_while_no_daemon_runs_is_recorded_whole(daemon, spec_file, home: Path):
    train = {"max_steps": 200, "eval_every": 50, "checkpoint_every": 50}
    job_id = cli("jobs", "submit", str(spec_file(train=train)), check=True).stdout.strip()
    job = wait_job(daemon, job_id, lambda j: j.step >= 20)
    kill_daemon(home)
    psutil.Process(job.pid).wait(300)  # the worker trains to the end while no daemon runs
    restart_daemon(home)
    job = wait_job(daemon, job_id, lambda j: j.state != "RUNNING")
    assert_everything_recorded(daemon, job_id, 200)
    states = [t.to_state for t in daemon.transitions(job_id)]
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
    worker = psutil.Process(wait_job(daemon, job_id, lambda j: j.state == "RUNNING" and j.pid).pid)
    events = Path(daemon.job(job_id).job_dir) / "events.jsonl"
    killer = DaemonKiller(home)

    def worker_step() -> int:
        """The worker's own last step (the daemon's view lags while it restarts and drains)."""
        if not events.exists():  # the worker has not written its first event yet
            return 0
        with open(events, "rb") as fh:
            fh.seek(max(0, events.stat().st_size - 4096))
            data = fh.read()
        # The first line may be cut by the seek, the last by a write still under way.
        lines = data[: data.rfind(b"\n") + 1].decode("utf-8", "replace").splitlines()[1:]
        found = [json.loads(line)["step"] for line in lines if line.startswith('{"type":"metrics"')]
        return max(found, default=0)

    def before(i: int) -> None:
        now = worker_step()
        if i < kills - 1:
            target = now + killer.rng.randint(0, max(0, (last - now) // (kills - 1 - i)))
        else:
            target = max(now, killer.rng.randint(steps - 60, steps - 20))
        deadline = time.monotonic() + 400
        while worker_step() < target and worker.is_running():
            assert time.monotonic() < deadline, f"the worker is still at step {worker_step()}"
            time.sleep(0.05)

    def note() -> str:
        alive = worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE
        return f"(worker {'running' if alive else 'gone'} at step {worker_step()})"

    def while_down(i: int) -> None:
        if i == kills - 1:
            worker.wait(300)  # it finishes the job while no daemon runs
            return
        # The worker goes on writing events while no daemon runs, for a random moment; then it
        # is held (SIGSTOP) until the next daemon answers. A restart costs a Python start-up and
        # recovery: on a loaded machine the worker trained 300 steps meanwhile and outran the
        # schedule (the last kills found it finished).
        time.sleep(killer.rng.uniform(0.0, 0.5))
        worker.suspend()

    def after_restart(i: int) -> None:
        if i < kills - 1:
            worker.resume()

    killer.run(
        kills,
        between=(0.0, 0.5),
        before=before,
        note=note,
        while_down=while_down,
        after_restart=after_restart,
    )
    wait_job(daemon, job_id, lambda j: j.state != "RUNNING", timeout=400)
    during = [line for line in killer.log if "running" in line]
    print(f"{len(during)} of {kills} kills came while the worker ran")
    assert len(during) == kills, killer.log  # the schedule spreads them over the job
    assert_everything_recorded(daemon, job_id, steps)
    assert daemon.job(job_id).metrics["eval_loss"].count == steps // 50 + 1  # step 0 and every 50th
    states = [t.to_state for t in daemon.transitions(job_id)]
    assert states == ["PENDING", "QUEUED", "RUNNING", "COMPLETED"], killer.log
