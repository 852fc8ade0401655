"""The devices the scheduler hands out: whole GPUs and MIG slices (by UUID) when the GPU back
end sees any, otherwise CPU slots.

Placement on GPUs (``GpuDevicePool``), in the supervisor's order (priority, then queue time):
- a job asking for more than one device gets whole GPUs only (a MIG slice cannot join DDP),
  each with at least ``resources.memory_gb`` when that is given;
- a one-device job with ``resources.memory_gb`` gets the smallest free device that holds it
  (a MIG slice before a whole GPU of the same size), so big devices stay free for big jobs;
- a one-device job without a memory need gets a whole free GPU, else the largest free slice;
- a device with a process the daemon did not start (or a leftover of a finished job) is busy.
``resources.memory_gb`` is in decimal GB, like MIG profile names (a 10 GB job fits 1g.10gb).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)
GB_MB = 1e9 / 2**20


@dataclass(frozen=True)
class Device:
    id: str  # "cpu:0", a GPU UUID or a MIG device UUID
    kind: str  # "cpu" | "gpu" | "mig"
    name: str
    memory_mb: int = 0
    gpu: str | None = None  # the physical GPU's UUID
    index: int | None = None  # the physical GPU's index

    @property
    def label(self) -> str:
        """How a user names it: "CPU", "GPU 0", "GPU 0 · 2g.20gb"."""
        if self.kind == "mig":
            return f"GPU {self.index} · {self.name.rpartition(' MIG ')[2]}"
        return f"GPU {self.index}" if self.kind == "gpu" else "CPU"


def cpu_devices(slots: int) -> list[Device]:
    return [Device(f"cpu:{i}", "cpu", "CPU slot") for i in range(max(1, slots))]


class DevicePool:
    """CPU slots (and the base of the GPU pool)."""

    def __init__(self, devices: list[Device]):
        self.devices = devices
        self._busy: dict[str, str] = {}  # device id -> job id

    @classmethod
    def detect(cls, cpu_slots: int | None = None, monitor: Any = None) -> DevicePool:
        """GPUs when ``monitor`` (a GpuMonitor) sees any, else CPU slots."""
        if monitor is not None and monitor.latest():
            return GpuDevicePool(monitor)
        why = monitor.message if monitor is not None else "no GPU back end"
        log.info("no GPUs in use: %s; scheduling on CPU slots", why)
        return cls(cpu_devices(cpu_slots or os.cpu_count() or 1))

    @property
    def kind(self) -> str:
        return self.devices[0].kind if self.devices else "cpu"

    def refresh(self) -> None:
        """Re-read what the devices are (GPU pool); CPU slots never change."""

    def need(self, requested: int) -> int:
        """How many devices a job asking for ``requested`` takes. CPU jobs that ask for more
        processes than there are slots take every slot (they still run, sharing cores)."""
        if self.kind == "cpu":
            return min(requested, len(self.devices))
        return requested

    def free(self) -> list[Device]:
        return [d for d in self.devices if d.id not in self._busy]

    def allocate(self, job_id: str, requested: int, memory_gb: float | None = None) -> list[Device] | None:
        n = self.need(requested)
        if n > len(self.devices):
            return None
        free = self.free()
        if len(free) < n:
            return None
        return self._take(job_id, free[:n])

    def wait_reason(self, requested: int, memory_gb: float | None = None) -> str:
        """Why a queued job that fits this machine is not running yet (shown with the job)."""
        busy = len(self.devices) - len(self.free())
        if self.kind == "cpu":
            n = self.need(requested)
            what = "a free CPU slot" if n == 1 else f"{n} free CPU slots"
            return f"waiting for {what} ({busy} of {len(self.devices)} busy)"
        size = f" with at least {memory_gb:g} GB" if memory_gb else ""
        if requested > 1:
            return (
                f"waiting for {requested} free whole GPUs{size} ({busy} of {len(self.devices)} devices busy)"
            )
        return f"waiting for a free GPU or MIG slice{size} ({busy} of {len(self.devices)} devices busy)"

    def _take(self, job_id: str, chosen: list[Device]) -> list[Device]:
        for d in chosen:
            self._busy[d.id] = job_id
        return chosen

    def claim(self, job_id: str, device_ids: list[str]) -> None:
        """Mark devices busy for a worker found alive at start-up."""
        for d in device_ids:
            self._busy[d] = job_id

    def hold(self, gpu_uuid: str, held: bool = True) -> None:
        """Keep the scheduler off a GPU while its MIG layout changes (GPU pool)."""

    def jobs_on(self, device_ids: set[str]) -> list[str]:
        return sorted({j for d, j in self._busy.items() if d in device_ids})

    def release(self, job_id: str) -> None:
        for d in [d for d, j in self._busy.items() if j == job_id]:
            del self._busy[d]

    def summary(self) -> dict:
        return {
            "kind": self.kind,
            "total": len(self.devices),
            "busy": len([d for d in self.devices if d not in self.free()]),
            "devices": [
                {"id": d.id, "kind": d.kind, "name": d.name, "memory_mb": d.memory_mb, "gpu": d.gpu,
                 "job": self._busy.get(d.id)}
                for d in self.devices
            ],
        }  # fmt: skip

    def unfit_reason(self, requested: int, memory_gb: float | None = None) -> str | None:
        """Why a job can never run here, or None."""
        if self.need(requested) > len(self.devices):
            return f"needs {requested} GPUs; this machine has {len(self.devices)}"
        return None

    def fits_ever(self, requested: int) -> bool:
        return self.unfit_reason(requested) is None

    def leftover(self, job_id: str, device_ids: list[str]) -> list[str]:
        """Processes of a finished job still on its devices (GPU pool)."""
        return []

    def describe(self, device_ids: list[str]) -> list[dict[str, Any]]:
        by_id = {d.id: d for d in self.devices}
        return [
            {"id": i, "kind": by_id[i].kind, "name": by_id[i].name, "memory_mb": by_id[i].memory_mb,
             "label": by_id[i].label}
            if i in by_id else {"id": i, "kind": "unknown", "name": "no longer present", "memory_mb": 0,
                                "label": "a device no longer present"}
            for i in device_ids
        ]  # fmt: skip


class GpuDevicePool(DevicePool):
    """Whole GPUs and MIG slices, re-read from the GPU monitor's latest snapshot."""

    def __init__(self, monitor: Any):  # trainer_runtime.gpu.monitor.GpuMonitor
        super().__init__([])
        self.monitor = monitor
        self._foreign: dict[str, list[int]] = {}
        self._held: set[str] = set()
        self._gpus: list[Any] = []
        self.refresh()

    @property
    def kind(self) -> str:
        return "gpu"

    def refresh(self) -> None:
        gpus = self.monitor.latest()
        devices: list[Device] = []
        foreign: dict[str, list[int]] = {}
        for g in gpus:
            if g.mig_current:
                devices += [Device(m.uuid, "mig", f"GPU {g.index} MIG {m.profile}", m.memory_total_mb, g.uuid, g.index)
                            for m in g.mig_devices]  # fmt: skip
            else:
                devices.append(
                    Device(g.uuid, "gpu", f"GPU {g.index} {g.name}", g.memory_total_mb, g.uuid, g.index)
                )
            ids = {d.id for d in devices if d.gpu == g.uuid}
            for p in g.processes:
                if p.job_id is not None and p.job_id in self._busy.values():
                    continue  # one of our running jobs
                targets = ids if p.device_uuid == g.uuid else {p.device_uuid} & ids
                for t in targets:
                    foreign.setdefault(t, []).append(p.pid)
        self._gpus, self.devices, self._foreign = gpus, devices, foreign

    def free(self) -> list[Device]:
        return [
            d
            for d in self.devices
            if d.id not in self._busy and d.id not in self._foreign and d.gpu not in self._held
        ]

    def hold(self, gpu_uuid: str, held: bool = True) -> None:
        if held:
            self._held.add(gpu_uuid)
        else:
            self._held.discard(gpu_uuid)

    def allocate(self, job_id: str, requested: int, memory_gb: float | None = None) -> list[Device] | None:
        need = memory_gb * GB_MB if memory_gb else None
        free = self.free()
        if requested > 1:
            whole = sorted((d for d in free if d.kind == "gpu" and (need is None or d.memory_mb >= need)),
                           key=lambda d: d.index or 0)  # fmt: skip
            return self._take(job_id, whole[:requested]) if len(whole) >= requested else None
        if need is not None:
            fits = [d for d in free if d.memory_mb >= need]
            if not fits:
                return None
            return self._take(job_id, [min(fits, key=lambda d: (d.memory_mb, d.kind == "gpu", d.index or 0))])
        whole = [d for d in free if d.kind == "gpu"]
        if whole:
            return self._take(job_id, [min(whole, key=lambda d: d.index or 0)])
        if free:
            return self._take(job_id, [max(free, key=lambda d: (d.memory_mb, -(d.index or 0)))])
        return None

    def unfit_reason(self, requested: int, memory_gb: float | None = None) -> str | None:
        gpus = self._gpus
        if requested > len(gpus):
            return f"needs {requested} GPUs; this machine has {len(gpus)}"
        biggest = max((g.memory_total_mb for g in gpus), default=0)
        if memory_gb and memory_gb * GB_MB > biggest:
            return f"needs {memory_gb:g} GB of GPU memory; the largest GPU here has {biggest / GB_MB:.0f} GB"
        return None

    def summary(self) -> dict:
        out = super().summary()
        for d in out["devices"]:
            d["foreign_pids"] = self._foreign.get(d["id"], [])
        return out

    def leftover(self, job_id: str, device_ids: list[str]) -> list[str]:
        pids = self.monitor.job_pids.pop(job_id, set())
        if not pids:
            return []
        fresh = self.monitor.sample()
        return [
            f"pid {p.pid} still holds {p.used_mb} MiB on {p.device_uuid}"
            for g in fresh for p in g.processes if p.pid in pids and p.device_uuid in device_ids + [g.uuid]
        ]  # fmt: skip
