"""A job is settled only after its events.jsonl is read to the end: when its worker ended
while no daemon ran (``recover``), and when it ends under a daemon (``tick``), even when the
file holds more than one pass (``events.MAX_READ``) of events."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainer_runtime.jobs.bus import EventBus
from trainer_runtime.jobs.devices import DevicePool, cpu_devices
from trainer_runtime.jobs.events import MAX_READ, read_events
from trainer_runtime.jobs.spec import parse_spec
from trainer_runtime.jobs.state import JobState
from trainer_runtime.jobs.supervisor import Supervisor
from trainer_runtime.paths import DataDir
from trainer_runtime.store.store import Store

PAD = "x" * 2000  # events may carry fields the daemon does not read; these make the file big
STEPS = 5000  # 5,000 lines of ~2.1 kB: about 10.5 MB, more than one pass of 8 MiB


def big_events(steps: int = STEPS, every: int = 1000) -> bytes:
    lines = [{"type": "started", "time": 1.0, "step": 0, "total_steps": steps}]
    for s in range(1, steps + 1):
        lines.append({"type": "metrics", "time": 1.0, "step": s, "values": {"loss": 1.0 / s}, "pad": PAD})
        if s % every == 0 and s < steps:
            lines.append({"type": "checkpoint", "time": 1.0, "step": s, "path": f"checkpoints/step-{s:08d}"})
    lines.append({"type": "checkpoint", "time": 1.0, "step": steps, "path": f"checkpoints/step-{steps:08d}"})
    lines.append(
        {"type": "completed", "time": 1.0, "step": steps, "artifact": {"kind": "adapter", "path": "final"}}
    )
    data = b"".join(json.dumps(ev).encode() + b"\n" for ev in lines)
    assert len(data) > MAX_READ
    return data


SCRIPT = r"""
import os, sys
job_dir = sys.argv[1]
data = open(os.environ["EVENTS_SOURCE"], "rb").read()
with open(os.path.join(job_dir, "events.jsonl"), "ab") as fh:
    fh.write(data)
os.makedirs(os.path.join(job_dir, "final"), exist_ok=True)
"""


@pytest.fixture
def env(tmp_path: Path):
    data = DataDir(tmp_path / "home").ensure()
    store = Store(data.database_url)
    corpus = tmp_path / "c.txt"
    corpus.write_text("some text to train on\n" * 20)
    source = tmp_path / "events-source.jsonl"
    source.write_bytes(big_events())
    script = tmp_path / "writer.py"
    script.write_text(SCRIPT)
    spawned: list[subprocess.Popen] = []

    def spawner(job_dir: Path, nproc: int, env: dict) -> subprocess.Popen:
        p = subprocess.Popen(
            [sys.executable, str(script), str(job_dir)], env={**env, "EVENTS_SOURCE": str(source)},
            start_new_session=True,
        )  # fmt: skip
        spawned.append(p)
        return p

    yield data, store, corpus, spawner, spawned
    store.close()


def _spec(corpus: Path):
    return parse_spec(
        {"name": "big", "model": {"builtin": "tiny-gpt2"}, "dataset": {"path": str(corpus)},
         "train": {"max_steps": STEPS}}
    )  # fmt: skip


def _assert_fully_recorded(store: Store, job_id: str, job_dir: Path) -> None:
    job = store.get_job(job_id)
    assert job.state == JobState.COMPLETED, job.reason
    steps = [p.step for p in store.metrics(job_id, key="loss")]
    assert steps == list(range(1, STEPS + 1))  # every step, once, in order
    assert (job.step, job.total_steps) == (STEPS, STEPS)  # progress 100 %
    arts = {(a.kind, a.path, a.step) for a in store.artifacts(job_id)}
    assert ("adapter", str(job_dir / "final"), STEPS) in arts
    assert {a[2] for a in arts if a[0] == "checkpoint"} == {1000, 2000, 3000, 4000, STEPS}
    assert job.events_offset == (job_dir / "events.jsonl").stat().st_size


def test_recover_drains_a_big_events_file_of_a_worker_that_ended_while_no_daemon_ran(env):
    data, store, corpus, spawner, _ = env
    job = store.create_job(_spec(corpus).to_dict())
    store.transition(job.id, JobState.QUEUED, "queued")
    dead = subprocess.Popen(["true"])
    dead.wait()  # a worker pid that no longer exists
    store.transition(job.id, JobState.RUNNING, "started", pid=dead.pid, pid_create_time=time.time() - 60)
    job_dir = data.job_dir(job.id, 1)
    job_dir.mkdir(parents=True)
    (job_dir / "events.jsonl").write_bytes(big_events())
    (job_dir / "final").mkdir()
    sup = Supervisor(store, data, DevicePool(cpu_devices(1)), EventBus(), spawner=spawner)
    sup.recover()
    _assert_fully_recorded(store, job.id, job_dir)


def test_tick_drains_the_rest_before_settling_an_ended_worker(env):
    data, store, corpus, spawner, spawned = env
    sup = Supervisor(store, data, DevicePool(cpu_devices(1)), EventBus(), spawner=spawner)
    job = sup.submit(_spec(corpus))
    sup.tick()  # starts the worker
    assert len(spawned) == 1
    spawned[0].wait(60)  # it wrote everything and ended before the daemon read anything
    deadline = time.monotonic() + 60
    while store.get_job(job.id).state == JobState.RUNNING:
        assert time.monotonic() < deadline, "the job was never settled"
        sup.tick()
    _assert_fully_recorded(store, job.id, data.job_dir(job.id, 1))


def test_a_line_longer_than_one_pass_is_skipped_and_reading_goes_on(tmp_path: Path):
    good = [
        json.dumps({"type": "metrics", "step": s, "values": {"loss": 1.0}}).encode() + b"\n" for s in (1, 2)
    ]
    huge = b'{"type": "metrics", "note": "' + b"y" * 5000 + b'"}\n'
    (tmp_path / "events.jsonl").write_bytes(good[0] + huge + good[1])
    offset, steps, corrupt, passes = 0, [], [], 0
    while True:
        r = read_events(tmp_path, offset, final=True, max_read=1024)
        passes += 1
        assert passes < 100, "reading made no progress"
        steps += [m[1] for m in r.ingest.metrics]
        corrupt += r.corrupt
        offset = r.ingest.new_offset
        if r.at_end:
            break
    assert steps == [1, 2]
    assert offset == (tmp_path / "events.jsonl").stat().st_size
    assert len(corrupt) == 1 and f"a line of {len(huge)} bytes at byte {len(good[0])} skipped" in corrupt[0]
