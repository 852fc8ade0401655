"""The NVML back end (nvidia-ml-py). Every NVML error becomes a GpuError sentence that says what
was being done and what to do. The mutating calls are used only by the apply transaction."""

from __future__ import annotations

import ctypes
import logging
import re
from typing import Any

import psutil

from trainer_runtime.gpu.backend import GpuBackend
from trainer_runtime.gpu.errors import GpuError
from trainer_runtime.gpu.model import GpuInfo, GpuProcess, Instance, MigDevice, MigProfile, MigTable
from trainer_runtime.gpu.tables import TABLES

log = logging.getLogger(__name__)


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def model_key(name: str, memory_mb: int) -> str:
    """'NVIDIA H100 80GB HBM3' → 'H100-80GB' (the simulated tables' names), best effort."""
    n = name.upper()
    for family in ("H200", "H100", "A100", "A30", "B200", "GB200"):
        if family in n:
            if family == "H200":
                return "H200"
            m = re.search(r"(\d+)\s*GB", n)
            gb = int(m.group(1)) if m else round(memory_mb / 1024)
            return f"{family}-{gb}GB"
    return name.replace("NVIDIA ", "")


class NvmlBackend(GpuBackend):
    name = "nvml"
    needs_root = True

    def __init__(self, nvml: Any):
        self.nv = nvml
        self._tables: dict[str, MigTable] = {}

    @classmethod
    def open(cls) -> NvmlBackend:
        try:
            import pynvml
        except ImportError:
            raise GpuError("no NVIDIA driver found (nvidia-ml-py is not installed)") from None
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as err:
            raise GpuError(f"no NVIDIA driver found ({err})") from None
        return cls(pynvml)

    def close(self) -> None:
        try:
            self.nv.nvmlShutdown()
        except self.nv.NVMLError as err:
            log.debug("nvmlShutdown: %s", err)

    def snapshot_safe(self) -> bool:
        try:
            return bool(self.snapshot())
        except GpuError as err:
            log.warning("NVML could not list the GPUs: %s", err)
            return False

    # ------------------------------------------------------------- NVML calls
    def _sentence(self, what: str, err: Exception) -> GpuError:
        code = getattr(err, "value", None)
        nv = self.nv
        if code == nv.NVML_ERROR_GPU_IS_LOST:
            return GpuError(f"{what}: the GPU has fallen off the bus (NVML: GPU is lost); check `nvidia-smi` and "
                            "the kernel log (Xid errors); the machine usually needs a reboot")  # fmt: skip
        if code == nv.NVML_ERROR_NO_PERMISSION:
            return GpuError(
                f"{what}: permission denied (NVML: {err}); this needs root, see `sparktrainer mig apply --help`"
            )
        if code == nv.NVML_ERROR_IN_USE:
            return GpuError(
                f"{what}: the GPU is in use by another client (NVML: {err}); stop the processes using it first"
            )
        if code == nv.NVML_ERROR_INSUFFICIENT_RESOURCES:
            return GpuError(f"{what}: not enough free MIG slices at that placement (NVML: {err})")
        return GpuError(f"{what} failed (NVML: {err})")

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except self.nv.NVMLError as err:
            raise self._sentence(what, err) from None

    def _opt(self, fn: Any, *args: Any) -> Any:
        """An optional reading: None where the device does not support it; a lost GPU still raises."""
        try:
            return fn(*args)
        except self.nv.NVMLError as err:
            if getattr(err, "value", None) == self.nv.NVML_ERROR_GPU_IS_LOST:
                raise self._sentence("reading the GPU", err) from None
            return None

    def _handle(self, uuid: str) -> Any:
        return self._call(f"finding GPU {uuid}", self.nv.nvmlDeviceGetHandleByUUID, uuid)

    # ---------------------------------------------------------------- reading
    def snapshot(self) -> list[GpuInfo]:
        nv = self.nv
        out = []
        for i in range(self._call("counting GPUs", nv.nvmlDeviceGetCount)):
            h = self._call(f"opening GPU {i}", nv.nvmlDeviceGetHandleByIndex, i)
            what = f"reading GPU {i}"
            uuid = _s(self._call(what, nv.nvmlDeviceGetUUID, h))
            name = _s(self._call(what, nv.nvmlDeviceGetName, h))
            mem = self._call(what, nv.nvmlDeviceGetMemoryInfo, h)
            util = self._opt(nv.nvmlDeviceGetUtilizationRates, h)
            power = self._opt(nv.nvmlDeviceGetPowerUsage, h)
            limit = self._opt(nv.nvmlDeviceGetEnforcedPowerLimit, h)
            mode = self._opt(nv.nvmlDeviceGetMigMode, h) or [0, 0]
            total_mb = int(mem.total // 2**20)
            gpu = GpuInfo(
                index=i, uuid=uuid, name=name, model=model_key(name, total_mb),
                memory_total_mb=total_mb, memory_used_mb=int(mem.used // 2**20),
                util_pct=float(util.gpu) if util is not None else None,
                temp_c=self._opt(nv.nvmlDeviceGetTemperature, h, nv.NVML_TEMPERATURE_GPU),
                power_w=power / 1000 if power is not None else None,
                power_limit_w=limit / 1000 if limit is not None else None,
                sm_clock_mhz=self._opt(nv.nvmlDeviceGetClockInfo, h, nv.NVML_CLOCK_SM),
                mem_clock_mhz=self._opt(nv.nvmlDeviceGetClockInfo, h, nv.NVML_CLOCK_MEM),
                ecc_errors=self._opt(nv.nvmlDeviceGetTotalEccErrors, h, nv.NVML_MEMORY_ERROR_TYPE_UNCORRECTED,
                                     nv.NVML_VOLATILE_ECC),
                mig_current=bool(mode[0]), mig_pending=bool(mode[1]),
            )  # fmt: skip
            if gpu.mig_current:
                gpu.mig_devices = self._mig_devices(h, gpu)
            gpu.processes = self._processes(h, gpu)
            out.append(gpu)
        return out

    def _mig_devices(self, h: Any, gpu: GpuInfo) -> list[MigDevice]:
        nv = self.nv
        table = self.mig_table(gpu.uuid)
        out = []
        count = self._opt(nv.nvmlDeviceGetMaxMigDeviceCount, h) or 0
        for j in range(count):
            mh = self._opt(nv.nvmlDeviceGetMigDeviceHandleByIndex, h, j)
            if mh is None:
                continue  # no MIG device at this index
            what = f"reading MIG device {j} of GPU {gpu.index}"
            gi_id = self._call(what, nv.nvmlDeviceGetGpuInstanceId, mh)
            ci_id = self._call(what, nv.nvmlDeviceGetComputeInstanceId, mh)
            mem = self._call(what, nv.nvmlDeviceGetMemoryInfo, mh)
            gi = self._call(what, nv.nvmlDeviceGetGpuInstanceById, h, gi_id)
            info = self._call(what, nv.nvmlGpuInstanceGetInfo, gi)
            prof = table.by_id(info.profileId)
            out.append(MigDevice(
                uuid=_s(self._call(what, nv.nvmlDeviceGetUUID, mh)),
                profile=prof.name if prof else f"profile {info.profileId}",
                gi_id=int(gi_id), ci_id=int(ci_id), start=int(info.placement.start), size=int(info.placement.size),
                memory_total_mb=int(mem.total // 2**20), memory_used_mb=int(mem.used // 2**20), util_pct=None,
            ))  # fmt: skip
        return out

    def _processes(self, h: Any, gpu: GpuInfo) -> list[GpuProcess]:
        procs = self._opt(self.nv.nvmlDeviceGetComputeRunningProcesses, h) or []
        by_gi: dict[tuple[Any, Any], str] = {(m.gi_id, m.ci_id): m.uuid for m in gpu.mig_devices}
        out = []
        for p in procs:
            used = getattr(p, "usedGpuMemory", None)
            gi, ci = getattr(p, "gpuInstanceId", None), getattr(p, "computeInstanceId", None)
            device = by_gi.get((gi, ci), gpu.uuid)
            try:
                user = psutil.Process(p.pid).username()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                user = None
            out.append(GpuProcess(int(p.pid), user, int(used // 2**20) if used else 0, device))
        return out

    def mig_mode(self, uuid: str) -> tuple[bool, bool]:
        mode = self._opt(self.nv.nvmlDeviceGetMigMode, self._handle(uuid)) or [0, 0]
        return bool(mode[0]), bool(mode[1])

    def mig_table(self, uuid: str) -> MigTable:
        if uuid in self._tables:
            return self._tables[uuid]
        nv = self.nv
        h = self._handle(uuid)
        profiles: list[MigProfile] = []
        for const in range(nv.NVML_GPU_INSTANCE_PROFILE_COUNT):
            info = self._opt(nv.nvmlDeviceGetGpuInstanceProfileInfo, h, const)  # v2: with the name
            if info is None:  # drivers before the v2 call
                info = self._opt(nv.nvmlDeviceGetGpuInstanceProfileInfo, h, const, 1)
            if info is None or info.instanceCount == 0:
                continue
            arr = (nv.c_nvmlGpuInstancePlacement_t * info.instanceCount)()
            count = ctypes.c_uint(info.instanceCount)
            what = f"reading the placements of MIG profile {info.id} on {uuid}"
            self._call(
                what, nv.nvmlDeviceGetGpuInstancePossiblePlacements, h, info.id, arr, ctypes.byref(count)
            )
            starts = tuple(int(arr[k].start) for k in range(count.value))
            size = int(arr[0].size) if count.value else int(info.sliceCount)
            name = (
                _s(getattr(info, "name", b"")).replace("MIG ", "").strip()
                or f"{info.sliceCount}g.{round(info.memorySizeMB / 1000)}gb"
            )
            profiles.append(MigProfile(name, int(info.id), int(info.sliceCount), size, int(info.memorySizeMB),
                                       int(info.instanceCount), starts))  # fmt: skip
        gpu_name = _s(self._call("reading the GPU name", nv.nvmlDeviceGetName, h))
        mem_mb = int(self._call("reading GPU memory", nv.nvmlDeviceGetMemoryInfo, h).total // 2**20)
        model = model_key(gpu_name, mem_mb)
        if not profiles:
            if model in TABLES:  # MIG-capable, profiles not reported while MIG is off on some drivers
                return TABLES[model]
            raise GpuError(f"{gpu_name} ({uuid}) reports no MIG profiles: it does not support MIG")
        table = MigTable(model, max(p.compute_slices for p in profiles),
                         max(max(p.placements, default=0) + p.memory_slices for p in profiles),
                         tuple(sorted(profiles, key=lambda p: (p.compute_slices, p.memory_slices, p.id))))  # fmt: skip
        self._tables[uuid] = table
        return table

    def instances(self, uuid: str) -> list[Instance]:
        nv = self.nv
        h = self._handle(uuid)
        table = self.mig_table(uuid)
        uuids = {}
        for gpu in self.snapshot():
            if gpu.uuid == uuid:
                uuids = {(m.gi_id, m.ci_id): m.uuid for m in gpu.mig_devices}
        out: list[Instance] = []
        for p in table.profiles:
            arr = (nv.c_nvmlGpuInstance_t * max(1, p.max_count))()
            count = ctypes.c_uint(0)
            self._call(f"listing {p.name} GPU instances on {uuid}", nv.nvmlDeviceGetGpuInstances, h, p.id, arr,
                       ctypes.byref(count))  # fmt: skip
            for k in range(count.value):
                info = self._call("reading a GPU instance", nv.nvmlGpuInstanceGetInfo, arr[k])
                cis: list[int | None] = list(self._compute_instances(arr[k]))
                for ci in cis or [None]:
                    out.append(Instance(p.name, int(info.placement.start), int(info.placement.size), int(info.id), ci,
                                        uuids.get((int(info.id), ci)) if ci is not None else None))  # fmt: skip
        return sorted(out, key=lambda i: (i.start, i.profile))

    def _compute_instances(self, gi: Any) -> list[int]:
        nv = self.nv
        ids: list[int] = []
        for const in range(nv.NVML_COMPUTE_INSTANCE_PROFILE_COUNT):
            info = self._opt(nv.nvmlGpuInstanceGetComputeInstanceProfileInfo, gi, const,
                             nv.NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)  # fmt: skip
            if info is None or info.instanceCount == 0:
                continue
            arr = (nv.c_nvmlComputeInstance_t * info.instanceCount)()
            count = ctypes.c_uint(0)
            self._call("listing compute instances", nv.nvmlGpuInstanceGetComputeInstances, gi, info.id, arr,
                       ctypes.byref(count))  # fmt: skip
            ids += [int(self._call("reading a compute instance", nv.nvmlComputeInstanceGetInfo, arr[k]).id)
                    for k in range(count.value)]  # fmt: skip
        return sorted(set(ids))

    # --------------------------------------------------------------- changing
    def set_mig_mode(self, uuid: str, enabled: bool) -> None:
        nv = self.nv
        h = self._handle(uuid)
        mode = nv.NVML_DEVICE_MIG_ENABLE if enabled else nv.NVML_DEVICE_MIG_DISABLE
        word = "enabling" if enabled else "disabling"
        self._call(f"{word} MIG mode on {uuid}", nv.nvmlDeviceSetMigMode, h, mode)
        current, pending = self.mig_mode(uuid)
        if current != enabled:
            raise GpuError(
                f"MIG mode on {uuid} is pending ({'enabled' if pending else 'disabled'} after a GPU reset): stop every "
                "process on the GPU and reset it (`sudo nvidia-smi -i <index> -r`) or reboot, then apply again"
            )

    def create_gpu_instance(self, uuid: str, profile_id: int, start: int) -> int:
        nv = self.nv
        h = self._handle(uuid)
        prof = self.mig_table(uuid).by_id(profile_id)
        placement = nv.c_nvmlGpuInstancePlacement_t()
        placement.start = start
        placement.size = prof.memory_slices if prof else 1
        what = f"creating GPU instance profile {profile_id} at placement {start} on {uuid}"
        gi = self._call(
            what, nv.nvmlDeviceCreateGpuInstanceWithPlacement, h, profile_id, ctypes.byref(placement)
        )
        return int(self._call(what, nv.nvmlGpuInstanceGetInfo, gi).id)

    def create_compute_instance(self, uuid: str, gi_id: int) -> int:
        nv = self.nv
        h = self._handle(uuid)
        what = f"creating the compute instance of GPU instance {gi_id} on {uuid}"
        gi = self._call(what, nv.nvmlDeviceGetGpuInstanceById, h, gi_id)
        info = self._call(what, nv.nvmlGpuInstanceGetInfo, gi)
        prof = self.mig_table(uuid).by_id(int(info.profileId))
        slices = prof.compute_slices if prof else 1
        consts = {
            1: "1_SLICE",
            2: "2_SLICE",
            3: "3_SLICE",
            4: "4_SLICE",
            6: "6_SLICE",
            7: "7_SLICE",
            8: "8_SLICE",
        }
        const = getattr(nv, f"NVML_COMPUTE_INSTANCE_PROFILE_{consts.get(slices, '1_SLICE')}")
        ci_prof = self._call(what, nv.nvmlGpuInstanceGetComputeInstanceProfileInfo, gi, const,
                             nv.NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)  # fmt: skip
        ci = self._call(what, nv.nvmlGpuInstanceCreateComputeInstance, gi, ci_prof.id)
        return int(self._call(what, nv.nvmlComputeInstanceGetInfo, ci).id)

    def destroy_compute_instance(self, uuid: str, gi_id: int, ci_id: int) -> None:
        nv = self.nv
        what = f"destroying compute instance {ci_id} of GPU instance {gi_id} on {uuid}"
        gi = self._call(what, nv.nvmlDeviceGetGpuInstanceById, self._handle(uuid), gi_id)
        ci = self._call(what, nv.nvmlGpuInstanceGetComputeInstanceById, gi, ci_id)
        self._call(what, nv.nvmlComputeInstanceDestroy, ci)

    def destroy_gpu_instance(self, uuid: str, gi_id: int) -> None:
        nv = self.nv
        what = f"destroying GPU instance {gi_id} on {uuid}"
        gi = self._call(what, nv.nvmlDeviceGetGpuInstanceById, self._handle(uuid), gi_id)
        self._call(what, nv.nvmlGpuInstanceDestroy, gi)
