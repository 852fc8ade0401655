"""Pause/resume exactness, cancel, restart, and surviving kill -9 of the daemon or the worker."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers import cli, wait_job
from trainer_runtime.api.schema.events import Event, JobStateEvent, MetricsEvent
from trainer_runtime.client.client import Client, start_daemon
from trainer_runtime.paths import DataDir

pytestmark = pytest.mark.e2e


def submit(spec: Path) -> str:
    return cli("jobs", "submit", str(spec), check=True).stdout.strip()


def losses(client: Client, job_id: str) -> list[tuple[int, float]]:
    return [(p.step, p.value) for p in client.metrics(job_id, key="loss").points]


def test_pause_then_resume_equals_uninterrupted_run(daemon, spec_file):
    train = {"max_steps": 1500, "eval_every": 500, "checkpoint_every": 0}
    paused = submit(spec_file("a.yaml", name="paused", train=train))
    straight = submit(spec_file("b.yaml", name="straight", train=train))
    wait_job(daemon, paused, lambda j: j.step >= 50, until_end=True)
    out = cli("jobs", "pause", paused, check=True)
    assert "pause requested" in out.stdout
    job = wait_job(daemon, paused, lambda j: j.state == "PAUSED", until_end=True)
    pause_step = int(job.reason.split()[-1])
    assert 50 <= pause_step < 1500 and job.resume_from.endswith(f"{pause_step:08d}")
    out = cli("jobs", "pause", paused)
    assert out.returncode == 2 and "it is PAUSED" in out.stderr
    cli("jobs", "resume", paused, check=True)
    assert cli("jobs", "wait", paused, "--timeout", "400").returncode == 0
    assert cli("jobs", "wait", straight, "--timeout", "400").returncode == 0
    a, b = losses(daemon, paused), losses(daemon, straight)
    assert [s for s, _ in a] == list(range(1, 1501))
    assert a == b  # value by value, float-equal
    states = [t.to_state for t in daemon.transitions(paused)]
    assert states == ["PENDING", "QUEUED", "RUNNING", "PAUSED", "QUEUED", "RUNNING", "COMPLETED"]
    # A finished job cannot be paused, and says so.
    out = cli("jobs", "pause", paused)
    assert out.returncode == 2 and "cannot pause job" in out.stderr and "it is COMPLETED" in out.stderr


def test_kill_9_daemon_mid_job_loses_and_duplicates_nothing(daemon, spec_file, home: Path):
    job_id = submit(spec_file(train={"max_steps": 1500, "eval_every": 500}))
    wait_job(daemon, job_id, lambda j: j.step >= 50, until_end=True)
    daemon_pid = daemon.status().pid
    worker_pid = daemon.job(job_id).pid
    os.kill(daemon_pid, signal.SIGKILL)
    psutil.Process(daemon_pid).wait(10) if psutil.pid_exists(daemon_pid) else None
    time.sleep(1.5)  # the worker keeps training and writing while no daemon watches
    assert psutil.pid_exists(worker_pid)
    start_daemon(DataDir.default())
    job = wait_job(daemon, job_id, lambda j: j.state in ("COMPLETED", "FAILED"), timeout=400, until_end=True)
    assert job.state == "COMPLETED", job.reason
    steps = [s for s, _ in losses(daemon, job_id)]
    assert steps == list(range(1, 1501))
    assert daemon.job(job_id).metrics["loss"].count == 1500


def test_kill_9_worker_fails_with_signal_name(daemon, spec_file):
    job_id = submit(spec_file(train={"max_steps": 100000}))
    job = wait_job(daemon, job_id, lambda j: j.step >= 2, until_end=True)
    os.kill(job.pid, signal.SIGKILL)
    job = wait_job(daemon, job_id, lambda j: j.state == "FAILED", timeout=60, until_end=True)
    assert job.reason == "worker killed by signal SIGKILL"


def test_cancel_then_restart_makes_a_new_attempt(daemon, spec_file):
    job_id = submit(spec_file(train={"max_steps": 100000}))
    worker_pid = wait_job(daemon, job_id, lambda j: j.step >= 2, until_end=True).pid
    cli("jobs", "cancel", job_id, check=True)
    job = wait_job(daemon, job_id, lambda j: j.state == "CANCELLED", timeout=60, until_end=True)
    assert job.reason.startswith("cancelled by user")
    assert not psutil.pid_exists(worker_pid)  # the worker's process is gone, not just the state
    cli("jobs", "restart", job_id, check=True)
    job = wait_job(daemon, job_id, lambda j: j.attempt == 2 and j.state == "RUNNING", until_end=True)
    cli("jobs", "cancel", job_id, check=True)
    wait_job(daemon, job_id, lambda j: j.state == "CANCELLED", timeout=60, until_end=True)
    hist = [(t.attempt, t.to_state) for t in daemon.transitions(job_id)]
    assert hist[-4:] == [(2, "PENDING"), (2, "QUEUED"), (2, "RUNNING"), (2, "CANCELLED")]


def test_corrupt_event_line_is_reported_and_metrics_stay_intact(daemon, spec_file):
    job_id = submit(spec_file(train={"max_steps": 100000}))
    job = wait_job(daemon, job_id, lambda j: j.step >= 3, until_end=True)
    events = Path(job.job_dir) / "events.jsonl"
    with events.open("ab") as fh:  # a line mangled on disk, between two writes of the worker
        fh.write(b'{"type": "metrics", "step": \xff\xfe broken\n')
    wait_job(daemon, job_id, lambda j: j.step >= job.step + 3, until_end=True)
    cli("jobs", "cancel", job_id, check=True)
    wait_job(daemon, job_id, lambda j: j.state == "CANCELLED", timeout=60, until_end=True)
    log = cli("jobs", "logs", job_id, check=True).stdout
    assert "events.jsonl: corrupt line at byte" in log
    steps = [s for s, _ in losses(daemon, job_id)]
    assert steps == list(range(1, len(steps) + 1))


def test_events_stream_reports_state_and_metrics(daemon, spec_file):
    import threading

    seen: list[Event] = []
    subscribed = threading.Event()

    def listen():
        for ev in Client(daemon.data).events(types=["job_state", "metrics"]):
            subscribed.set()  # the stream's hello: from here on nothing is missed
            seen.append(ev)
            if isinstance(ev, JobStateEvent) and ev.job.state == "COMPLETED":
                return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert subscribed.wait(60), "the event stream never said hello"
    job_id = submit(spec_file(train={"max_steps": 10, "eval_every": 5}))
    t.join(120)
    states = [e.job.state for e in seen if isinstance(e, JobStateEvent) and e.job_id == job_id]
    # submit creates and queues the job in one transaction: its first event is QUEUED
    assert states[0] == "QUEUED" and states[-1] == "COMPLETED" and "RUNNING" in states
    steps = sorted(p.step for e in seen if isinstance(e, MetricsEvent) for p in e.points if p.key == "loss")
    assert steps == list(range(1, 11))
    # parsed Event models, of the types asked (and the stream's own hello and heartbeats)
    assert (
        {"hello", "job_state", "metrics"}
        <= {e.type for e in seen}
        <= {"hello", "heartbeat", "job_state", "metrics"}
    )
