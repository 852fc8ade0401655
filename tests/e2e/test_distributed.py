"""resources.devices > 1 runs through torchrun: DDP with two gloo processes on CPU."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers import cli

pytestmark = pytest.mark.e2e


def test_two_process_ddp_job_completes(daemon, spec_file):
    spec = spec_file(resources={"devices": 2}, train={"max_steps": 100, "eval_every": 50, "batch_size": 8})
    job_id = cli("jobs", "submit", str(spec), check=True).stdout.strip()
    # While it runs: torchrun with two worker ranks under it.
    ranks: set[str] = set()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(ranks) < 2:
        job = daemon.job(job_id)
        if job.state != "RUNNING" or not job.pid:
            assert job.state in ("QUEUED", "RUNNING"), job.reason
            time.sleep(0.2)
            continue
        top = psutil.Process(job.pid)
        assert "torch.distributed.run" in " ".join(top.cmdline())
        for child in top.children(recursive=True):
            env = child.environ()
            if "trainer_runtime.worker" in " ".join(child.cmdline()) and "RANK" in env:
                ranks.add(env["RANK"])
        time.sleep(0.2)
    assert ranks == {"0", "1"}
    out = cli("jobs", "wait", job_id, "--timeout", "400", "--json", timeout=450)
    job = json.loads(out.stdout)  # the CLI's --json: the JobView dumped
    assert out.returncode == 0, job["reason"]
    assert job["devices"] == ["cpu:0", "cpu:1"]
    events = [json.loads(x) for x in (Path(job["job_dir"]) / "events.jsonl").read_text().splitlines()]
    started = next(e for e in events if e["type"] == "started")
    assert started["world_size"] == 2
    steps = [p.step for p in daemon.metrics(job_id, key="loss").points]
    assert steps == list(range(1, 101))  # one series, written by rank 0 only
