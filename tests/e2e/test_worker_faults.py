"""Workers in trouble, against a real daemon and real tiny-gpt2 workers: a stopped (SIGSTOP)
worker is marked and pause/cancel still work; a disk that fills up during a checkpoint pauses
the job at its last good checkpoint, and a resume after space is freed continues exactly."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers import cli, fill, wait_job
from trainer_runtime.client.client import Client

pytestmark = pytest.mark.e2e


def submit(spec: Path) -> str:
    return cli("jobs", "submit", str(spec), check=True).stdout.strip()


def losses(client: Client, job_id: str) -> list[tuple[int, float]]:
    return [(p.step, p.value) for p in client.metrics(job_id, key="loss").points]


# ---------------------------------------------------------------------- a stopped worker


def test_a_stopped_worker_is_marked_and_pause_continues_it(daemon_with, spec_file):
    client = daemon_with(watchdog_s=5)
    job_id = submit(spec_file(train={"max_steps": 100000, "eval_every": 0}))
    job = wait_job(client, job_id, lambda j: j.step >= 3)
    assert job.health is None
    worker = psutil.Process(job.pid)
    os.kill(worker.pid, signal.SIGSTOP)
    job = wait_job(
        client, job_id, lambda j: j.health is not None and j.health.status == "stopped", 60, "for health"
    )
    assert f"kill -CONT {worker.pid}" in job.health.message
    assert abs(job.health.since - time.time()) < 60
    assert client.jobs()[0].health == job.health  # the table rows carry it too
    cli("jobs", "pause", job_id, check=True)  # the worker must be continued to see the request
    job = wait_job(client, job_id, lambda j: j.state == "PAUSED", 120, "for the pause")
    assert job.resume_from and job.health is None
    cli("jobs", "resume", job_id, check=True)
    job = wait_job(client, job_id, lambda j: j.state == "RUNNING" and j.step > 3, what="for the resume")
    cli("jobs", "cancel", job_id, check=True)
    wait_job(client, job_id, lambda j: j.state == "CANCELLED", 60)


def test_cancel_of_a_stopped_worker_ends_it_by_sigterm(daemon, spec_file):
    job_id = submit(spec_file(train={"max_steps": 100000, "eval_every": 0}))
    job = wait_job(daemon, job_id, lambda j: j.step >= 3)
    os.kill(job.pid, signal.SIGSTOP)
    cli("jobs", "cancel", job_id, check=True)
    job = wait_job(daemon, job_id, lambda j: j.state == "CANCELLED", 60)
    # Continued, it acted on SIGTERM (flushing its events); no SIGKILL after the timeout was needed.
    assert job.reason == "cancelled by user (worker ended by SIGTERM)"
    assert not psutil.pid_exists(job.pid or -1) or job.pid is None


# ----------------------------------------------------------------- a disk that fills up


FULL = re.compile(
    r"the disk holding (?P<where>\S+) is full while writing checkpoint step (?P<step>\d+); "
    r"free space and resume \(continues from step (?P<cont>\d+)\)\.$"
)


def test_disk_full_during_a_checkpoint_pauses_and_resume_continues_exactly(
    home: Path, daemon_with, spec_file, tmpfs
):
    jobs = tmpfs(home / "jobs", "6m")  # every job dir lives on this small disk
    client = daemon_with()
    train = {"max_steps": 200, "batch_size": 8, "seq_len": 64, "eval_every": 20, "checkpoint_every": 20}
    job_id = submit(spec_file("a.yaml", name="full", train=train))
    job = wait_job(client, job_id, lambda j: j.state == "RUNNING")
    second = Path(job.job_dir) / "checkpoints" / "step-00000040" / "state.json"
    deadline = time.monotonic() + 300
    while not second.exists():  # the moment the second checkpoint is complete
        assert time.monotonic() < deadline and client.job(job_id).state == "RUNNING"
        time.sleep(0.01)
    filler = fill(jobs)
    filled_at = time.monotonic()
    job = wait_job(client, job_id, lambda j: j.state != "RUNNING", 120, "for the job to stop")
    noticed = time.monotonic() - filled_at
    assert job.state == "PAUSED", job.reason
    m = FULL.match(job.reason)
    assert m, job.reason
    failed, cont = int(m["step"]), int(m["cont"])
    assert m["where"] == f"{job.job_dir}/checkpoints" and cont >= 40 and failed == cont + 20
    assert job.resume_from == f"checkpoints/step-{cont:08d}"
    assert noticed < 60, f"the daemon took {noticed:.0f} s to notice"  # promptly, not "a minute"
    report = json.loads((Path(job.job_dir) / "error.json").read_text())
    assert report["disk_full"] is True and report["checkpoint_step"] == failed
    assert not list(Path(job.job_dir).glob(".disk-reserve-*"))  # given back
    # Space is freed; the resume continues from the last good checkpoint, float for float.
    filler.unlink()
    cli("jobs", "resume", job_id, check=True)
    job = wait_job(client, job_id, lambda j: j.state == "COMPLETED", 300, "for completion")
    straight = submit(spec_file("b.yaml", name="straight", train=train))
    wait_job(client, straight, lambda j: j.state == "COMPLETED", 300, "for the reference run")
    assert losses(client, job_id) == losses(client, straight)
    assert [s for s, _ in losses(client, job_id)] == list(range(1, 201))
    states = [t.to_state for t in client.transitions(job_id)]
    assert states == ["PENDING", "QUEUED", "RUNNING", "PAUSED", "QUEUED", "RUNNING", "COMPLETED"]


def test_a_disk_full_under_the_store_too_still_pauses_the_job_promptly(
    home: Path, daemon_with, spec_file, tmpfs, monkeypatch: pytest.MonkeyPatch
):
    """The whole data dir (database, job dirs, log) on one disk that fills up: the store cannot
    write either, which kept the job RUNNING with a dead worker until space came back."""
    monkeypatch.setenv("SPARKTRAINER_MLFLOW", "off")  # its store would live on this small disk too
    tmpfs(home, "24m")
    client = daemon_with()
    train = {"max_steps": 200, "batch_size": 8, "seq_len": 64, "eval_every": 20, "checkpoint_every": 20}
    job_id = submit(spec_file(train=train))
    job = wait_job(client, job_id, lambda j: j.state == "RUNNING")
    second = Path(job.job_dir) / "checkpoints" / "step-00000040" / "state.json"
    deadline = time.monotonic() + 300
    while not second.exists():
        assert time.monotonic() < deadline and client.job(job_id).state == "RUNNING"
        time.sleep(0.01)
    filler = fill(home)
    filled_at = time.monotonic()
    job = wait_job(client, job_id, lambda j: j.state != "RUNNING", 60, "for the job to stop")
    assert job.state == "PAUSED", job.reason
    assert FULL.match(job.reason), job.reason
    assert time.monotonic() - filled_at < 60
    filler.unlink()
    cli("jobs", "resume", job_id, check=True)
    wait_job(client, job_id, lambda j: j.state == "COMPLETED", 300, "for completion")
    assert [s for s, _ in losses(client, job_id)] == list(range(1, 201))
