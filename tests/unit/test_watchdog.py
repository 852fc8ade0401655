"""The watchdog and the escalation of pause and cancel, driven tick by tick with an injected
clock against real worker processes (a small script that speaks the worker contract)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers import FakeClock
from trainer_runtime.jobs.bus import EventBus
from trainer_runtime.jobs.devices import DevicePool, cpu_devices
from trainer_runtime.jobs.spec import parse_spec
from trainer_runtime.jobs.state import JobState
from trainer_runtime.jobs.supervisor import Supervisor
from trainer_runtime.paths import DataDir
from trainer_runtime.store.store import Store

# "sleep": starts, then blocks without CPU or events and ignores SIGTERM (a hung worker);
# "spin": computes without writing events (busy, not hung).
SCRIPT = r"""
import json, os, sys, time, signal
job_dir = sys.argv[1]
with open(os.path.join(job_dir, "events.jsonl"), "a") as fh:
    fh.write(json.dumps({"type": "started", "time": time.time(), "step": 0, "total_steps": 3}) + "\n")
if os.environ.get("FAKE_MODE") == "sleep":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(120)
else:
    end = time.time() + 120
    while time.time() < end:
        sum(range(10000))
"""
WATCHDOG_S = 30.0
HEALTH_KEYS = {"status", "since", "message"}


@pytest.fixture
def setup(tmp_path: Path):
    script = tmp_path / "fake_worker.py"
    script.write_text(SCRIPT)
    mode = {"value": "sleep"}
    procs: list[subprocess.Popen] = []

    def spawner(job_dir: Path, nproc: int, env: dict) -> subprocess.Popen:
        out = (job_dir / "log.txt").open("ab")
        p = subprocess.Popen([sys.executable, str(script), str(job_dir)], env={**env, "FAKE_MODE": mode["value"]},
                             stdout=out, stderr=out, start_new_session=True)  # fmt: skip
        procs.append(p)
        return p

    data = DataDir(tmp_path / "home").ensure()
    store = Store(data.database_url)
    clock = FakeClock(1000.0)
    bus = EventBus()
    sup = Supervisor(store, data, DevicePool(cpu_devices(1)), bus, spawner=spawner, clock=clock,
                     cancel_timeout=10, watchdog_s=WATCHDOG_S, pause_timeout=60)  # fmt: skip
    corpus = tmp_path / "c.txt"
    corpus.write_text("some text to train on\n" * 20)
    spec = parse_spec({"name": "w", "model": {"builtin": "tiny-gpt2"}, "dataset": {"path": str(corpus)},
                       "train": {"max_steps": 3}})  # fmt: skip
    yield sup, store, clock, bus, spec, mode, procs
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    store.close()


def wait_until(cond, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def started(sup: Supervisor, job_id: str) -> None:
    sup.tick()  # starts the worker
    events = sup.data.job_dir(job_id, 1) / "events.jsonl"
    wait_until(lambda: events.exists() and events.stat().st_size > 0)


def advance(sup: Supervisor, clock: FakeClock, seconds: float, step: float = 1.0) -> None:
    """Let ``seconds`` pass on the supervisor's clock, a tick per ``step``."""
    end = clock.t + seconds
    while clock.t < end:
        clock.t += step
        sup.tick()


def health_events(sub) -> list[dict]:
    out = []
    while not sub.queue.empty():
        ev = sub.queue.get_nowait()
        if ev and ev["type"] == "job_health":
            out.append(ev)
    return out


def test_a_hung_worker_is_marked_unresponsive_once_and_pause_says_so(setup):
    sup, store, clock, bus, spec, _, procs = setup
    sub = bus.subscribe()
    job = sup.submit(spec)
    started(sup, job.id)
    advance(sup, clock, WATCHDOG_S - 5)
    assert sup.health(job.id) is None  # quiet for less than watchdog_s: fine
    advance(sup, clock, 10)
    health = sup.health(job.id)
    assert health is not None and set(health) == HEALTH_KEYS
    assert health["status"] == "unresponsive"
    assert health["message"].startswith("the worker has written no event and used no CPU for ")
    assert abs(health["since"] - (time.time() - (WATCHDOG_S + 5))) < 5  # when it went quiet, unix time
    advance(sup, clock, 20)
    events = health_events(sub)
    assert [e["health"]["status"] for e in events] == ["unresponsive"]  # told once, not every tick
    assert events[0]["job_id"] == job.id
    # Pause: the worker cannot checkpoint. After pause_timeout the reason says so; it stays RUNNING.
    sup.pause(job.id)
    advance(sup, clock, 59)
    assert store.get_job(job.id).reason.startswith("worker pid")
    advance(sup, clock, 2)
    job_now = store.get_job(job.id)
    assert job_now.state == JobState.RUNNING and job_now.pending_action == "pause"
    assert job_now.reason.startswith("pause requested 60 s ago, but the worker has not checkpointed yet: ")
    assert (
        "written no event and used no CPU" in job_now.reason
        and "newest checkpoint is none yet" in job_now.reason
    )
    # Cancel: SIGTERM is ignored by this worker, so SIGKILL follows after cancel_timeout.
    sup.cancel(job.id)
    advance(sup, clock, 11)
    wait_until(lambda: (sup.tick(), store.get_job(job.id).state)[1] == JobState.CANCELLED)
    assert store.get_job(job.id).reason == "cancelled by user (worker ended by SIGKILL)"
    assert sup.health(job.id) is None


def test_a_busy_worker_without_events_is_not_unresponsive(setup):
    sup, _, clock, _, spec, mode, procs = setup
    mode["value"] = "spin"
    job = sup.submit(spec)
    started(sup, job.id)
    for _ in range(4):  # real CPU time passes between the checks
        time.sleep(0.3)
        advance(sup, clock, WATCHDOG_S / 2, step=WATCHDOG_S / 2)
    assert sup.health(job.id) is None


def test_a_stopped_worker_is_marked_at_once_and_pause_continues_it(setup):
    sup, store, clock, bus, spec, mode, procs = setup
    mode["value"] = "spin"
    sub = bus.subscribe()
    job = sup.submit(spec)
    started(sup, job.id)
    worker = psutil.Process(procs[0].pid)
    os.kill(worker.pid, signal.SIGSTOP)
    wait_until(lambda: worker.status() == psutil.STATUS_STOPPED)
    advance(sup, clock, 1.5)
    health = sup.health(job.id)
    assert health is not None and set(health) == HEALTH_KEYS and health["status"] == "stopped"
    assert f"kill -CONT {worker.pid}" in health["message"]
    assert abs(health["since"] - time.time()) < 5
    sup.pause(job.id)  # the request is a file the stopped worker cannot see: pause continues it
    wait_until(lambda: worker.status() != psutil.STATUS_STOPPED)
    used = sum(worker.cpu_times()[:2])
    wait_until(lambda: sum(worker.cpu_times()[:2]) > used + 0.05)  # it runs again (a loaded machine: later)
    advance(sup, clock, 1.5)
    assert sup.health(job.id) is None
    assert [e["health"] and e["health"]["status"] for e in health_events(sub)] == ["stopped", None]


def test_cancel_of_a_stopped_worker_continues_it_so_sigterm_works(setup):
    sup, store, clock, _, spec, mode, procs = setup
    mode["value"] = "spin"  # this worker dies by SIGTERM (the default action)
    job = sup.submit(spec)
    started(sup, job.id)
    os.kill(procs[0].pid, signal.SIGSTOP)
    wait_until(lambda: psutil.Process(procs[0].pid).status() == psutil.STATUS_STOPPED)
    sup.cancel(job.id)
    wait_until(lambda: (sup.tick(), store.get_job(job.id).state)[1] == JobState.CANCELLED)
    assert store.get_job(job.id).reason == "cancelled by user (worker ended by SIGTERM)"
    assert clock.t == 1000.0  # no timeout was needed: no SIGKILL
