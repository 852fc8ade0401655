"""The supervisor's state machine, driven tick by tick with an injected spawner
(a small script speaking the worker contract) and an injected clock."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import FakeClock
from trainer_runtime.jobs.bus import EventBus
from trainer_runtime.jobs.devices import DevicePool, cpu_devices
from trainer_runtime.jobs.spec import parse_spec
from trainer_runtime.jobs.supervisor import Supervisor
from trainer_runtime.paths import DataDir
from trainer_runtime.store.store import Store

SCRIPT = r"""
import json, os, sys, time, signal
job_dir = sys.argv[1]
run = json.load(open(os.path.join(job_dir, "run.json")))
mode = os.environ.get("FAKE_MODE", "complete")
def ev(**kw):
    with open(os.path.join(job_dir, "events.jsonl"), "a") as fh:
        fh.write(json.dumps({"time": time.time(), **kw}) + "\n")
ev(type="started", step=0, total_steps=3)
if mode == "hang":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(60)
for s in (1, 2, 3):
    ev(type="metrics", step=s, values={"loss": 1.0 / s})
if mode == "fail":
    json.dump({"error": "the dataset vanished"}, open(os.path.join(job_dir, "error.json"), "w"))
    sys.exit(1)
ev(type="completed", step=3, artifact={"kind": "adapter", "path": "final"})
"""


@pytest.fixture
def setup(tmp_path: Path):
    script = tmp_path / "fake_worker.py"
    script.write_text(SCRIPT)
    spawned: list[tuple[str, dict]] = []
    mode = {"value": "complete"}

    def spawner(job_dir: Path, nproc: int, env: dict) -> subprocess.Popen:
        spawned.append((job_dir.parent.name, env))
        out = (job_dir / "log.txt").open("ab")
        return subprocess.Popen([sys.executable, str(script), str(job_dir)], env={**env, "FAKE_MODE": mode["value"]},
                                stdout=out, stderr=out, start_new_session=True)  # fmt: skip

    data = DataDir(tmp_path / "home").ensure()
    store = Store(data.database_url)
    clock = FakeClock()
    sup = Supervisor(
        store, data, DevicePool(cpu_devices(2)), EventBus(), spawner=spawner, clock=clock, cancel_timeout=5
    )
    corpus = tmp_path / "c.txt"
    corpus.write_text("some text to train on\n" * 20)
    return sup, store, spawned, mode, clock, corpus


def spec(corpus: Path, name: str, priority: int = 0, devices: int = 1):
    return parse_spec({"name": name, "model": {"builtin": "tiny-gpt2"}, "dataset": {"path": str(corpus)},
                       "train": {"max_steps": 3}, "priority": priority, "resources": {"devices": devices}})  # fmt: skip


def run_until(sup: Supervisor, cond, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        sup.tick()
        time.sleep(0.02)


def test_priority_order_and_device_slots(setup):
    sup, store, spawned, _, _, corpus = setup
    low = sup.submit(spec(corpus, "low", priority=0))
    big = sup.submit(spec(corpus, "big", priority=5, devices=2))
    high = sup.submit(spec(corpus, "high", priority=9))
    sup.tick()
    # "high" takes one slot; "big" needs both, so "low" backfills the other.
    assert [s[0] for s in spawned] == [high.id, low.id]
    assert sup.waiting == {big.id: "waiting for 2 free CPU slots (2 of 2 busy)"}
    run_until(sup, lambda: store.get_job(big.id).state == "RUNNING")
    run_until(sup, lambda: all(store.get_job(j.id).state == "COMPLETED" for j in (low, big, high)))
    assert sup.waiting == {}
    assert [p.step for p in store.metrics(high.id, key="loss")] == [1, 2, 3]
    assert store.get_job(big.id).devices == ["cpu:0", "cpu:1"]
    assert spawned[2][1]["CUDA_VISIBLE_DEVICES"] == ""


def test_worker_error_file_becomes_the_reason(setup):
    sup, store, _, mode, _, corpus = setup
    mode["value"] = "fail"
    job = sup.submit(spec(corpus, "f"))
    run_until(sup, lambda: store.get_job(job.id).state == "FAILED")
    assert store.get_job(job.id).reason == "the dataset vanished"


def test_cancel_escalates_to_sigkill_after_timeout(setup):
    sup, store, _, mode, clock, corpus = setup
    mode["value"] = "hang"
    job = sup.submit(spec(corpus, "h"))
    run_until(sup, lambda: (sup.data.job_dir(job.id, 1) / "events.jsonl").exists())
    sup.cancel(job.id)
    sup.tick()
    assert store.get_job(job.id).state == "RUNNING"  # SIGTERM is ignored by this worker
    clock.t = 6.0
    run_until(sup, lambda: store.get_job(job.id).state == "CANCELLED")
    assert store.get_job(job.id).reason == "cancelled by user (worker ended by SIGKILL)"
    assert sup.devices.free() == sup.devices.devices


def test_recover_reattaches_to_a_live_worker(setup, tmp_path: Path):
    sup, store, _, mode, _, corpus = setup
    mode["value"] = "hang"
    job = sup.submit(spec(corpus, "r"))
    run_until(sup, lambda: (sup.data.job_dir(job.id, 1) / "events.jsonl").exists())
    pid = store.get_job(job.id).pid
    # A new supervisor (as after a daemon restart) finds the same process again.
    sup2 = Supervisor(store, sup.data, DevicePool(cpu_devices(2)), EventBus())
    sup2.recover()
    assert sup2.handles[job.id].pid == pid
    assert sup2.devices.free()[0].id == "cpu:1"
    sup.handles[job.id].popen.kill()
    sup.handles[job.id].popen.wait()
    run_until(sup2, lambda: store.get_job(job.id).state == "FAILED")
    assert "left no final report" in store.get_job(job.id).reason
    events = [json.loads(x) for x in (sup.data.job_dir(job.id, 1) / "events.jsonl").read_text().splitlines()]
    assert events[0]["type"] == "started"
