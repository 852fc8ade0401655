"""The NVML back end against a stand-in for the NVML library (CI has no GPU; the real library
is checked by tests/gpu/check_real_gpu.py on a real one). The stand-in keeps pynvml's
signatures, ctypes structures, constants and error class, and models one H100 in MIG mode."""

from __future__ import annotations

import ctypes
import types

import pynvml
import pytest

from trainer_runtime.gpu.errors import GpuError
from trainer_runtime.gpu.nvml import NvmlBackend, model_key

ERR = pynvml.NVMLError
MIB = 2**20
# NVML profile constant -> (profile id, slices, instances, memory MiB, name, placements, size)
PROFILES = {
    pynvml.NVML_GPU_INSTANCE_PROFILE_1_SLICE: (19, 1, 7, 9984, "MIG 1g.10gb", range(7), 1),
    pynvml.NVML_GPU_INSTANCE_PROFILE_2_SLICE: (14, 2, 3, 20096, "MIG 2g.20gb", (0, 2, 4), 2),
    pynvml.NVML_GPU_INSTANCE_PROFILE_3_SLICE: (9, 3, 2, 40448, "MIG 3g.40gb", (0, 4), 4),
    pynvml.NVML_GPU_INSTANCE_PROFILE_7_SLICE: (0, 7, 1, 81152, "MIG 7g.80gb", (0,), 8),
}


class FakeNvml:
    """One 'NVIDIA H100 80GB HBM3' with MIG on: GI 1 = 3g.40gb at 4, GI 2 = 2g.20gb at 0."""

    def __init__(self):
        for k in dir(pynvml):
            if k.startswith(("NVML_", "c_nvml", "struct_c_nvml")) or k == "NVMLError":
                setattr(self, k, getattr(pynvml, k))
        self.lost = False
        self.calls: list[tuple] = []
        self.gis = {1: (9, 4, 4), 2: (14, 0, 2)}  # gi id -> (profile id, start, size)
        self._gi_ptrs = {gi: ctypes.pointer(pynvml.struct_c_nvmlGpuInstance_t()) for gi in self.gis}
        self._ci_ptrs = {gi: ctypes.pointer(pynvml.struct_c_nvmlComputeInstance_t()) for gi in self.gis}

    def _check(self):
        if self.lost:
            raise ERR(pynvml.NVML_ERROR_GPU_IS_LOST)

    def _gi_of(self, ptr) -> int:
        addr = ctypes.addressof(ptr.contents)
        return next(g for g, p in {**self._gi_ptrs}.items() if ctypes.addressof(p.contents) == addr)

    # device
    def nvmlDeviceGetCount(self):
        self._check()
        return 1

    def nvmlDeviceGetHandleByIndex(self, i):
        return "gpu0"

    def nvmlDeviceGetHandleByUUID(self, uuid):
        return "gpu0"

    def nvmlDeviceGetUUID(self, h):
        self._check()
        return {"gpu0": "GPU-real", "mig0": "MIG-aaa", "mig1": "MIG-bbb"}[h]

    def nvmlDeviceGetName(self, h):
        return "NVIDIA H100 80GB HBM3"

    def nvmlDeviceGetMemoryInfo(self, h):
        total = {"gpu0": 81559, "mig0": 40448, "mig1": 20096}[h]
        return types.SimpleNamespace(total=total * MIB, used=(300 if h != "mig1" else 0) * MIB)

    def nvmlDeviceGetUtilizationRates(self, h):
        raise ERR(pynvml.NVML_ERROR_NOT_SUPPORTED)  # as in MIG mode

    def nvmlDeviceGetTemperature(self, h, sensor):
        return 41

    def nvmlDeviceGetPowerUsage(self, h):
        return 123_456

    def nvmlDeviceGetEnforcedPowerLimit(self, h):
        return 700_000

    def nvmlDeviceGetClockInfo(self, h, kind):
        return {pynvml.NVML_CLOCK_SM: 1980, pynvml.NVML_CLOCK_MEM: 2619}[kind]

    def nvmlDeviceGetTotalEccErrors(self, h, etype, counter):
        return 0

    def nvmlDeviceGetMigMode(self, h):
        return [1, 1]

    def nvmlDeviceGetMaxMigDeviceCount(self, h):
        return 7

    def nvmlDeviceGetMigDeviceHandleByIndex(self, h, j):
        if j > 1:
            raise ERR(pynvml.NVML_ERROR_NOT_FOUND)
        return f"mig{j}"

    def nvmlDeviceGetGpuInstanceId(self, mh):
        return {"mig0": 1, "mig1": 2}[mh]

    def nvmlDeviceGetComputeInstanceId(self, mh):
        return 0

    def nvmlDeviceGetGpuInstanceById(self, h, gi_id):
        return self._gi_ptrs[gi_id]

    def nvmlGpuInstanceGetInfo(self, gi):
        g = self._gi_of(gi)
        pid, start, size = self.gis[g]
        info = pynvml.c_nvmlGpuInstanceInfo_t()
        info.id, info.profileId = g, pid
        info.placement.start, info.placement.size = start, size
        return info

    def nvmlDeviceGetComputeRunningProcesses(self, h):
        p = pynvml.c_nvmlProcessInfo_v2_t()
        p.pid, p.usedGpuMemory, p.gpuInstanceId, p.computeInstanceId = 4242, 512 * MIB, 1, 0
        return [p]

    def nvmlDeviceGetGpuInstanceProfileInfo(self, h, const, version=2):
        if const not in PROFILES:
            raise ERR(pynvml.NVML_ERROR_NOT_SUPPORTED)
        pid, slices, count, mem, name, _, _ = PROFILES[const]
        info = pynvml.c_nvmlGpuInstanceProfileInfo_v2_t()
        info.id, info.sliceCount, info.instanceCount, info.memorySizeMB, info.name = (
            pid,
            slices,
            count,
            mem,
            name.encode(),
        )
        return info

    def nvmlDeviceGetGpuInstancePossiblePlacements(self, h, profile_id, arr, count_ref):
        _, _, _, _, _, starts, size = next(v for v in PROFILES.values() if v[0] == profile_id)
        for k, s in enumerate(starts):
            arr[k].start, arr[k].size = s, size
        count_ref._obj.value = len(starts)

    def nvmlDeviceGetGpuInstances(self, h, profile_id, arr, count_ref):
        mine = [g for g, v in self.gis.items() if v[0] == profile_id]
        for k, g in enumerate(mine):
            arr[k] = self._gi_ptrs[g]
        count_ref._obj.value = len(mine)

    def nvmlGpuInstanceGetComputeInstanceProfileInfo(self, gi, const, eng):
        info = pynvml.c_nvmlComputeInstanceProfileInfo_v2_t()
        info.id, info.instanceCount = (
            const,
            (1 if const == pynvml.NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE else 0),
        )
        return info

    def nvmlGpuInstanceGetComputeInstances(self, gi, ci_profile, arr, count_ref):
        arr[0] = self._ci_ptrs[self._gi_of(gi)]
        count_ref._obj.value = 1

    def nvmlComputeInstanceGetInfo(self, ci):
        return types.SimpleNamespace(id=0)

    # changing (recorded only)
    def nvmlDeviceCreateGpuInstanceWithPlacement(self, h, profile_id, placement_ref):
        p = placement_ref._obj
        self.calls.append(("create_gi", profile_id, p.start, p.size))
        raise ERR(pynvml.NVML_ERROR_INSUFFICIENT_RESOURCES)


@pytest.fixture
def nv() -> FakeNvml:
    return FakeNvml()


def test_snapshot_reads_every_field(nv):
    (gpu,) = NvmlBackend(nv).snapshot()
    assert (gpu.uuid, gpu.name, gpu.model, gpu.memory_total_mb, gpu.memory_used_mb) == (
        "GPU-real", "NVIDIA H100 80GB HBM3", "H100-80GB", 81559, 300)  # fmt: skip
    assert gpu.util_pct is None  # not supported in MIG mode: no value, no error
    assert (gpu.temp_c, gpu.power_w, gpu.power_limit_w, gpu.sm_clock_mhz, gpu.ecc_errors) == (
        41,
        123.456,
        700,
        1980,
        0,
    )
    assert (gpu.mig_current, gpu.mig_pending) == (True, True)
    assert [(m.uuid, m.profile, m.gi_id, m.start, m.size, m.memory_total_mb) for m in gpu.mig_devices] == [
        ("MIG-aaa", "3g.40gb", 1, 4, 4, 40448), ("MIG-bbb", "2g.20gb", 2, 0, 2, 20096)]  # fmt: skip
    (proc,) = gpu.processes
    assert (proc.pid, proc.used_mb, proc.device_uuid) == (4242, 512, "MIG-aaa")  # mapped by GI/CI id


def test_profiles_and_placements_come_from_the_device(nv):
    table = NvmlBackend(nv).mig_table("GPU-real")
    assert (table.model, table.slices, table.memory_slices) == ("H100-80GB", 7, 8)
    p = table.profile("3g.40gb")
    assert (p.id, p.compute_slices, p.memory_slices, p.memory_mb, p.max_count, p.placements) == (
        9, 3, 4, 40448, 2, (0, 4))  # fmt: skip
    assert table.profile("1g.10gb").placements == tuple(range(7))


def test_instances_with_their_compute_instances(nv):
    got = NvmlBackend(nv).instances("GPU-real")
    assert [(i.profile, i.start, i.gi_id, i.ci_id, i.uuid) for i in got] == [
        ("2g.20gb", 0, 2, 0, "MIG-bbb"), ("3g.40gb", 4, 1, 0, "MIG-aaa")]  # fmt: skip


def test_errors_are_sentences(nv):
    backend = NvmlBackend(nv)
    nv.lost = True
    with pytest.raises(GpuError) as err:
        backend.snapshot()
    assert "the GPU has fallen off the bus" in str(err.value) and "reboot" in str(err.value)
    nv.lost = False
    with pytest.raises(GpuError) as err:
        backend.create_gpu_instance("GPU-real", 9, 0)
    assert nv.calls == [("create_gi", 9, 0, 4)]  # the placement went by pointer with its size
    assert "not enough free MIG slices at that placement" in str(err.value)


def test_model_names():
    assert model_key("NVIDIA A100-SXM4-40GB", 40960) == "A100-40GB"
    assert model_key("NVIDIA A100 80GB PCIe", 81920) == "A100-80GB"
    assert model_key("NVIDIA H200", 143771) == "H200"
