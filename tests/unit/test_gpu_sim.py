"""The simulated GPU set, the apply transaction on it, the sampler, and GPU placement."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainer_runtime.gpu.apply import apply_layout
from trainer_runtime.gpu.backend import open_backend
from trainer_runtime.gpu.errors import ApplyFailed, GpuBusy, GpuError, LayoutInvalid, NeedsRoot
from trainer_runtime.gpu.monitor import GpuMonitor
from trainer_runtime.gpu.sim import SimBackend, parse_spec
from trainer_runtime.jobs.devices import GpuDevicePool

H100_3_2_1_1 = ["3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"]


@pytest.fixture
def sim(tmp_path: Path) -> SimBackend:
    return SimBackend(parse_spec("8xH100-80GB"), tmp_path / "gpu-sim.json", home=str(tmp_path))


def layout_of(sim: SimBackend, uuid: str) -> list[tuple[str, int]]:
    return sorted((i.profile, i.start) for i in sim.instances(uuid) if i.ci_id is not None)


@pytest.fixture
def foreign_process():
    procs = []

    def start(device_uuid: str) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if k != "SPARKTRAINER_HOME"}
        env["CUDA_VISIBLE_DEVICES"] = device_uuid
        p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env)
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.kill()
        p.wait()


def test_spec_parsing_and_unknown_models():
    assert parse_spec("2xA100-40GB, 1xh200") == ["A100-40GB", "A100-40GB", "H200"]
    assert parse_spec("A100-80GB") == ["A100-80GB"]
    with pytest.raises(GpuError) as err:
        parse_spec("4xV100")
    assert "unknown simulated GPU model 'V100'" in str(err.value)
    assert "A100-40GB, A100-80GB, H100-80GB, H200" in str(err.value)


def test_devices_are_deterministic_and_look_like_nvml(sim, tmp_path):
    again = SimBackend(parse_spec("8xH100-80GB"))
    gpus = sim.snapshot()
    assert [g.uuid for g in gpus] == [g.uuid for g in again.snapshot()]
    assert len({g.uuid for g in gpus}) == 8 and all(g.uuid.startswith("GPU-") for g in gpus)
    g = gpus[0]
    assert (g.name, g.model, g.memory_total_mb, g.power_limit_w) == (
        "NVIDIA H100 80GB HBM3",
        "H100-80GB",
        81559,
        700,
    )
    assert not g.mig_current and g.mig_devices == []


def test_no_driver_is_a_clear_message(monkeypatch):
    monkeypatch.delenv("SPARKTRAINER_GPU_SIM", raising=False)
    backend, why = open_backend()
    if backend is not None:
        backend.close()
        pytest.skip("this machine has an NVIDIA driver")
    assert why.startswith("no NVIDIA driver found (")
    monkeypatch.setenv("SPARKTRAINER_GPU_SIM", "2xT4")
    backend, why = open_backend()
    assert backend is None and "unknown simulated GPU model 'T4'" in why


def test_apply_performs_reads_back_and_persists(sim, tmp_path):
    gpu = sim.find("0")
    dry = apply_layout(sim, gpu, H100_3_2_1_1)
    assert dry["dry_run"] and not dry["applied"] and sim.instances(gpu.uuid) == []
    assert dry["operations"][0] == "enable MIG mode on GPU 0 (nvmlDeviceSetMigMode)"
    done = apply_layout(sim, gpu, H100_3_2_1_1, dry_run=False)
    assert done["applied"]
    want = [("1g.10gb", 2), ("1g.10gb", 3), ("2g.20gb", 0), ("3g.40gb", 4)]
    assert sorted((i["profile"], i["start"]) for i in done["readback"]) == want
    assert layout_of(sim, gpu.uuid) == want and sim.mig_mode(gpu.uuid) == (True, True)
    migs = sim.find("0").mig_devices
    assert sorted(m.memory_total_mb for m in migs) == [9984, 9984, 20096, 40448]
    assert all(m.uuid.startswith("MIG-") for m in migs)
    # a new back end on the same state file sees the same partitions (as a real GPU would)
    reopened = SimBackend(parse_spec("8xH100-80GB"), tmp_path / "gpu-sim.json", home=str(tmp_path))
    assert layout_of(reopened, gpu.uuid) == want
    # back to a whole GPU: instances destroyed, MIG mode off
    off = apply_layout(sim, sim.find("0"), [], dry_run=False)
    assert off["applied"] and sim.instances(gpu.uuid) == [] and sim.mig_mode(gpu.uuid) == (False, False)


def test_invalid_layout_changes_nothing(sim):
    gpu = sim.find("1")
    with pytest.raises(LayoutInvalid) as err:
        apply_layout(sim, gpu, [{"profile": "3g.40gb", "start": 2}], dry_run=False)
    assert "3g.40gb cannot start at memory slice 2 on H100-80GB: NVIDIA allows it only at 0, 4" in str(
        err.value
    )
    assert sim.mig_mode(gpu.uuid) == (False, False)


def test_failure_midway_rolls_back_everything(tmp_path):
    sim = SimBackend(parse_spec("1xA100-80GB"), fail_on="create_compute_instance:4")
    gpu = sim.find("0")
    apply_layout(sim, gpu, ["3g.40gb", "3g.40gb"], dry_run=False)
    before = layout_of(sim, gpu.uuid)
    with pytest.raises(ApplyFailed) as err:  # the 4th compute instance creation fails
        apply_layout(sim, sim.find("0"), ["3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"], dry_run=False)
    assert "simulated NVML error" in str(err.value) and "Rolled back:" in str(err.value)
    assert layout_of(sim, gpu.uuid) == before == [("3g.40gb", 0), ("3g.40gb", 4)]
    sim2 = SimBackend(parse_spec("1xA100-80GB"), fail_on="create_gpu_instance:1")
    with pytest.raises(ApplyFailed):
        apply_layout(sim2, sim2.find("0"), ["7g.80gb"], dry_run=False)
    assert sim2.mig_mode(sim2.find("0").uuid) == (False, False)  # MIG mode turned back off


def test_busy_gpu_and_missing_root_refuse(sim, foreign_process):
    gpu = sim.find("2")
    proc = foreign_process(gpu.uuid)
    deadline = time.monotonic() + 10
    while not sim.find("2").processes and time.monotonic() < deadline:
        time.sleep(0.05)
    busy = sim.find("2")
    assert [p.pid for p in busy.processes] == [proc.pid] and busy.processes[0].used_mb > 0
    with pytest.raises(GpuBusy) as err:
        apply_layout(sim, busy, ["7g.80gb"], dry_run=False)
    assert f"pid {proc.pid}" in str(err.value) and "in use by" in str(err.value)
    assert apply_layout(sim, busy, ["7g.80gb"])["dry_run"]  # a dry run is always allowed
    sim.needs_root = True  # as on real NVML
    with pytest.raises(NeedsRoot) as err:
        apply_layout(sim, sim.find("3"), ["7g.80gb"], dry_run=False, is_root=lambda: False)
    assert f"sudo sparktrainer mig apply --gpu {sim.find('3').uuid} --layout 7g.80gb --yes" in str(err.value)


def test_monitor_history_and_job_tags(sim, foreign_process):
    monitor = GpuMonitor(sim, interval=0.05)
    proc = foreign_process(sim.find("4").uuid)
    monitor.workers = {proc.pid: "j-test"}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        gpus = monitor.sample()
        if gpus[4].processes:
            break
    assert gpus[4].processes[0].job_id == "j-test"
    hist = monitor.history(60)
    assert hist["interval_s"] == 0.05
    series = hist["devices"][gpus[4].uuid]
    assert len(series["time"]) >= 2 and series["memory_used_mb"][-1] > 0
    view = monitor.view()
    assert view["backend"] == "sim" and len(view["gpus"]) == 8


def test_placement_by_memory_need(sim, foreign_process):
    apply_layout(sim, sim.find("0"), H100_3_2_1_1, dry_run=False)
    apply_layout(sim, sim.find("1"), ["4g.40gb", "3g.40gb"], dry_run=False)
    monitor = GpuMonitor(sim)
    pool = GpuDevicePool(monitor)
    assert len(pool.devices) == 4 + 2 + 6
    kind = {d.id: (d.kind, d.name) for d in pool.devices}

    def one(job, n=1, gb=None):
        got = pool.allocate(job, n, gb)
        return [kind[d.id] for d in got] if got else None

    assert one("a", gb=5) == [("mig", "GPU 0 MIG 1g.10gb")]
    assert one("b", gb=9) == [("mig", "GPU 0 MIG 1g.10gb")]
    assert one("c", gb=10) == [("mig", "GPU 0 MIG 2g.20gb")]  # both 1g slices are taken
    assert one("d", 2) == [("gpu", "GPU 2 NVIDIA H100 80GB HBM3"), ("gpu", "GPU 3 NVIDIA H100 80GB HBM3")]
    assert one("e") == [("gpu", "GPU 4 NVIDIA H100 80GB HBM3")]  # no need: a whole GPU
    assert one("f", gb=30)[0][0] == "mig" and one("g", gb=40)[0][0] == "mig"
    assert one("h", gb=42)[0][0] == "mig"  # the last 40 GB slice (40448 MiB = 42.4 GB)
    assert one("i", gb=50) == [("gpu", "GPU 5 NVIDIA H100 80GB HBM3")]
    assert pool.unfit_reason(9) == "needs 9 GPUs; this machine has 8"
    assert "the largest GPU here has 86 GB" in pool.unfit_reason(1, 100)
    pool.release("e")
    proc = foreign_process(sim.find("4").uuid)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(g.processes for g in monitor.sample()):
        time.sleep(0.05)
    pool.refresh()
    assert sim.find("4").uuid not in {d.id for d in pool.free()}  # busy: a process we did not start
    assert pool.summary()["devices"][-4]["foreign_pids"] == [proc.pid]
    assert one("j") == [("gpu", "GPU 6 NVIDIA H100 80GB HBM3")]
    assert one("k") == [("gpu", "GPU 7 NVIDIA H100 80GB HBM3")]
    assert one("l") is None  # every device is taken, or busy with a process we did not start


def test_wait_reasons_name_what_a_queued_job_needs():
    from trainer_runtime.jobs.devices import Device, DevicePool

    pool = DevicePool([Device("GPU-a", "gpu", "GPU 0", memory_mb=81559, gpu="GPU-a", index=0)])
    pool._busy["GPU-a"] = "j-1"
    assert pool.wait_reason(2) == "waiting for 2 free whole GPUs (1 of 1 devices busy)"
    assert (
        pool.wait_reason(1, 20)
        == "waiting for a free GPU or MIG slice with at least 20 GB (1 of 1 devices busy)"
    )
