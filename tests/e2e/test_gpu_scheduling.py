"""GPU-aware scheduling on the simulated 8x H100 set: real daemon, real workers (training on CPU,
pinned with CUDA_VISIBLE_DEVICES to simulated GPU and MIG UUIDs), real MIG apply on the simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import cli, make_spec
from trainer_runtime.client.client import ApiError, Client
from trainer_runtime.jobs.spec import load_spec_file
from trainer_runtime.jobs.state import JobState

pytestmark = pytest.mark.e2e
TINY = {"max_steps": 3, "batch_size": 2, "seq_len": 16, "eval_every": 0, "eval_batches": 1}


@pytest.fixture
def sim_daemon(daemon_with, monkeypatch) -> Client:
    monkeypatch.setenv("SPARKTRAINER_GPU_SIM", "8xH100-80GB")
    monkeypatch.setenv("SPARKTRAINER_MLFLOW", "off")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # many tiny workers share few cores
    return daemon_with()


@pytest.fixture
def foreign(sim_daemon):
    """A process this daemon did not start that 'uses' a device (names it in CUDA_VISIBLE_DEVICES)."""
    procs: list[subprocess.Popen] = []

    def start(device_uuid: str) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if k != "SPARKTRAINER_HOME"}
        p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                             env={**env, "CUDA_VISIBLE_DEVICES": device_uuid})  # fmt: skip
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.kill()
        p.wait()


def until(cond, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def submit(client: Client, tmp: Path, corpus: Path, name: str, train: dict | None = None, **resources) -> str:
    """Straight through the API: ten submissions take well under a second, before any job ends."""
    spec = make_spec(tmp / f"{name}.yaml", corpus, name=name, train=train or TINY, resources=resources)
    return client.submit(load_spec_file(spec).to_dict()).id


def started_event(job: dict) -> dict:
    lines = (Path(job["job_dir"]) / "events.jsonl").read_text().splitlines()
    return next(e for e in map(json.loads, lines) if e["type"] == "started")


def test_ten_jobs_on_whole_gpus_and_mig_slices(sim_daemon, tmp_path, corpus):
    client = sim_daemon
    gpus = client.gpus()
    assert gpus.backend == "sim" and len(gpus.gpus) == 8
    assert gpus.gpus[0].label == "GPU 0 · H100 80GB"
    uuid = [g.uuid for g in gpus.gpus]
    # Pre-partition two GPUs through the real apply transaction (performed, read back, asserted).
    r0 = client.mig_apply(uuid[0], ["3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"], dry_run=False)
    assert r0.applied and not r0.dry_run
    assert sorted((i.profile, i.start) for i in r0.readback) == sorted(
        (p.profile, p.start) for p in r0.placed) == [("1g.10gb", 2), ("1g.10gb", 3), ("2g.20gb", 0), ("3g.40gb", 4)]  # fmt: skip
    r1 = client.mig_apply(uuid[1], ["4g.40gb", "3g.40gb"], dry_run=False)
    assert r1.applied and len(r1.readback) == 2
    view = {g.uuid: g for g in client.gpus().gpus}
    assert view[uuid[0]].mig.current and view[uuid[0]].mig.pending and len(view[uuid[0]].mig_devices) == 4
    assert view[uuid[0]].mig_devices[0].label.startswith("GPU 0 · ")
    until(lambda: client.status().devices.total == 12, what="the scheduler to see 4 + 2 slices + 6 GPUs")

    needs = [("a", {"memory_gb": 5}), ("b", {"memory_gb": 8}), ("c", {"memory_gb": 9}), ("d", {"memory_gb": 15}),
             ("e", {"memory_gb": 30}), ("f", {"memory_gb": 40}), ("g", {"devices": 2}), ("h", {"memory_gb": 60}),
             ("i", {}), ("j", {"memory_gb": 70})]  # fmt: skip
    ids = {name: submit(client, tmp_path, corpus, name, **res) for name, res in needs}
    seen_tagged = until(
        lambda: any(p.job_id in ids.values() for g in client.gpus().gpus for p in g.processes),
        timeout=240,
        what="a worker process to show up on its simulated GPU, tagged with its job",
    )
    assert seen_tagged
    jobs = {}
    for name, job_id in ids.items():
        out = cli("jobs", "wait", job_id, "--timeout", "500", "--json", timeout=560)
        jobs[name] = json.loads(out.stdout)
        assert out.returncode == 0, (name, jobs[name]["reason"])

    migs = {m.uuid: (g.index, m.profile) for g in client.gpus().gpus for m in g.mig_devices}
    where = {n: [migs.get(d) or ("gpu", uuid.index(d)) for d in j["devices"]] for n, j in jobs.items()}
    assert where["a"] == [(0, "1g.10gb")] and where["b"] == [(0, "1g.10gb")]
    assert where["c"] == [(0, "2g.20gb")]  # 9 GB: the 1g slices are taken, the next smallest holds it
    assert where["d"] == [(0, "3g.40gb")]
    assert sorted([where["e"][0], where["f"][0]]) == [(1, "3g.40gb"), (1, "4g.40gb")]
    assert where["g"] == [("gpu", 2), ("gpu", 3)]  # a 2-device job: two whole GPUs, never slices
    assert where["h"] == [("gpu", 4)] and where["i"] == [("gpu", 5)] and where["j"] == [("gpu", 6)]
    every = [d for j in jobs.values() for d in j["devices"]]
    assert len(every) == len(set(every)) == 11  # nobody shared a device
    for name, job in jobs.items():
        started = started_event(job)
        assert started["cuda_visible_devices"] == ",".join(job["devices"]), name  # only its own device(s)
        assert [d["id"] for d in job["device_info"]] == job["devices"]
    assert started_event(jobs["g"])["world_size"] == 2
    assert {d["kind"] for d in jobs["a"]["device_info"]} == {"mig"} and jobs["i"]["device_info"][0][
        "kind"
    ] == "gpu"
    hist = client.gpu_history(600)
    assert hist.interval_s == 1.0 and uuid[5] in hist.devices and r0.readback[0].uuid in hist.devices


def test_busy_gpus_invalid_layouts_and_cancel(sim_daemon, foreign, tmp_path, corpus):
    client = sim_daemon
    uuid = [g.uuid for g in client.gpus().gpus]
    intruder = foreign(uuid[0])
    until(lambda: any(p.pid == intruder.pid for p in client.gpus().gpus[0].processes),
          what="the foreign process on GPU 0")  # fmt: skip
    out = cli("gpus")
    assert out.returncode == 0 and "(not ours)" in out.stdout and str(intruder.pid) in out.stdout
    # apply on a busy GPU: refused, naming the process; nothing changed
    with pytest.raises(ApiError) as err:
        client.mig_apply(uuid[0], ["7g.80gb"], dry_run=False)
    assert err.value.status == 409 and f"pid {intruder.pid}" in err.value.message
    out = cli("mig", "apply", "--gpu", "0", "--layout", "7g.80gb", "--yes")
    assert out.returncode == 2 and f"pid {intruder.pid}" in out.stderr
    assert client.gpus().gpus[0].mig.current is False
    # an invalid layout gives the reason, in the API and on the CLI
    plan = client.mig_plan(uuid[2], [{"profile": "3g.40gb", "start": 2}])
    assert plan.valid is False
    assert plan.errors[0].reason == "3g.40gb cannot start at memory slice 2 on H100-80GB: NVIDIA allows it only at 0, 4"  # fmt: skip
    with pytest.raises(ApiError) as err:
        client.mig_apply(uuid[2], ["4g.40gb", "4g.40gb"], dry_run=False)
    assert err.value.status == 400 and "4g.40gb can exist at most 1 time(s)" in str(err.value)
    out = cli("mig", "plan", "--gpu", "2", "--layout", "7g.80gb,1g.10gb")
    assert out.returncode == 2 and "the layout needs 8 compute slices; H100-80GB has 7" in out.stderr
    # without --yes apply is a dry run that lists the NVML operations
    out = cli("mig", "apply", "--gpu", uuid[3], "--layout", "3g.40gb,3g.40gb")
    assert out.returncode == 0 and "dry run: nothing was changed" in out.stdout
    assert "enable MIG mode on GPU 3 (nvmlDeviceSetMigMode)" in out.stdout
    assert client.gpus().gpus[3].mig.current is False
    # the scheduler skips the busy GPU 0; cancel leaves no process of the job on its device
    job_id = submit(client, tmp_path, corpus, "long", train={**TINY, "max_steps": 100_000}, memory_gb=20)
    until(lambda: client.job(job_id).state == JobState.RUNNING, timeout=60, what="the job to start")
    assert client.job(job_id).devices == [uuid[1]]
    until(lambda: any(p.job_id == job_id for p in client.gpus().gpus[1].processes), timeout=120,
          what="the job's worker on GPU 1")  # fmt: skip
    cli("jobs", "cancel", job_id, check=True)
    job = until(
        lambda: (j := client.job(job_id)).state == JobState.CANCELLED and j, timeout=60, what="cancel"
    )
    until(lambda: not any(p.job_id == job_id for g in client.gpus().gpus for p in g.processes),
          timeout=10, what="the cancelled job's processes to leave the GPU")  # fmt: skip
    assert "still holds" not in (Path(job.job_dir) / "log.txt").read_text()
