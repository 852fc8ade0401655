"""One worker per job dir: a daemon killed after spawning a worker but before recording it left
a job that still looked queued, and the next daemon started a second worker in the same job dir
(two writers of one events.jsonl). The job dir's lock, held by the worker, makes the next daemon
re-attach to the first instead."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psutil
import pytest

from trainer_runtime.jobs import process as proc
from trainer_runtime.jobs.bus import EventBus
from trainer_runtime.jobs.devices import DevicePool, cpu_devices
from trainer_runtime.jobs.spec import parse_spec
from trainer_runtime.jobs.supervisor import Supervisor
from trainer_runtime.paths import DataDir
from trainer_runtime.store.store import Store


class DaemonDied(BaseException):
    """The daemon dies right after the spawn, before the store records the worker."""


def workers_of(job_dir: Path) -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["cwd"]) if p.info["cwd"] == str(job_dir)]


def test_a_worker_the_store_never_recorded_is_adopted_not_started_twice(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"line {i} of a small corpus to train on\n" for i in range(200)))
    data = DataDir(tmp_path / "home").ensure()
    store = Store(data.database_url)
    spawned: list[int] = []

    def dying_spawner(job_dir: Path, nproc: int, env: dict) -> None:
        spawned.append(proc.spawn_worker(job_dir, nproc, env).pid)
        raise DaemonDied()

    first = Supervisor(store, data, DevicePool(cpu_devices(1)), EventBus(), spawner=dying_spawner)
    spec = parse_spec({
        "name": "adopted", "model": {"builtin": "tiny-gpt2"}, "dataset": {"path": str(corpus)},
        "train": {"max_steps": 40, "batch_size": 2, "seq_len": 16, "eval_every": 0, "log_every": 1},
    })  # fmt: skip
    job = first.submit(spec)
    with pytest.raises(DaemonDied):
        first.tick()
    assert store.get_job(job.id).state == "QUEUED"  # the store never heard of the worker
    job_dir = data.job_dir(job.id, 1)

    second = Supervisor(store, data, DevicePool(cpu_devices(1)), EventBus())  # the next daemon
    second.recover()
    second.tick()
    now = store.get_job(job.id)
    assert now.state == "RUNNING" and now.pid == spawned[0], now.reason
    assert "re-attached" in (now.reason or "")
    deadline = time.monotonic() + 300
    while store.get_job(job.id).state == "RUNNING":
        assert len(workers_of(job_dir)) <= 1, "a second worker runs in the same job dir"
        assert time.monotonic() < deadline, "the adopted worker did not finish"
        second.tick()
        time.sleep(0.05)
    done = store.get_job(job.id)
    assert done.state == "COMPLETED", done.reason
    events = [json.loads(line) for line in (job_dir / "events.jsonl").read_text().splitlines()]
    assert [e["type"] for e in events].count("started") == 1
    assert [p.step for p in store.metrics(job.id, key="loss")] == list(range(1, 41))
    assert proc.lock_job_dir(job_dir) is not None  # the worker is gone: the lock is free again
