"""The devices the scheduler hands out: whole GPUs by UUID when NVML sees any,
otherwise CPU slots. (GPU/MIG-aware placement by memory comes with the GPU issue.)"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Device:
    id: str  # "cpu:0" or a GPU UUID
    kind: str  # "cpu" | "gpu"
    name: str


def probe_gpus() -> tuple[list[Device], str | None]:
    """GPUs through NVML; returns (devices, why-none) — never raises."""
    try:
        import pynvml
    except ImportError:
        return [], "nvidia-ml-py is not installed"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as err:
        return [], f"no NVIDIA driver found ({err})"
    try:
        out = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            uuid = pynvml.nvmlDeviceGetUUID(h)
            name = pynvml.nvmlDeviceGetName(h)
            out.append(Device(uuid if isinstance(uuid, str) else uuid.decode(), "gpu", str(name)))
        return out, None
    except pynvml.NVMLError as err:
        return [], f"NVML failed while listing GPUs ({err})"
    finally:
        pynvml.nvmlShutdown()


def cpu_devices(slots: int) -> list[Device]:
    return [Device(f"cpu:{i}", "cpu", "CPU slot") for i in range(max(1, slots))]


class DevicePool:
    def __init__(self, devices: list[Device]):
        self.devices = devices
        self._busy: dict[str, str] = {}  # device id -> job id

    @classmethod
    def detect(cls, cpu_slots: int | None = None) -> DevicePool:
        gpus, why = probe_gpus()
        if gpus:
            return cls(gpus)
        log.info("no GPUs in use: %s; scheduling on CPU slots", why)
        return cls(cpu_devices(cpu_slots or os.cpu_count() or 1))

    @property
    def kind(self) -> str:
        return self.devices[0].kind if self.devices else "cpu"

    def need(self, requested: int) -> int:
        """How many devices a job asking for ``requested`` takes. CPU jobs that ask for more
        processes than there are slots take every slot (they still run, sharing cores)."""
        if self.kind == "cpu":
            return min(requested, len(self.devices))
        return requested

    def free(self) -> list[Device]:
        return [d for d in self.devices if d.id not in self._busy]

    def allocate(self, job_id: str, requested: int) -> list[Device] | None:
        n = self.need(requested)
        if n > len(self.devices):
            return None
        free = self.free()
        if len(free) < n:
            return None
        chosen = free[:n]
        for d in chosen:
            self._busy[d.id] = job_id
        return chosen

    def claim(self, job_id: str, device_ids: list[str]) -> None:
        """Mark devices busy for a worker found alive at start-up."""
        for d in device_ids:
            self._busy[d] = job_id

    def release(self, job_id: str) -> None:
        for d in [d for d, j in self._busy.items() if j == job_id]:
            del self._busy[d]

    def summary(self) -> dict:
        return {
            "kind": self.kind,
            "total": len(self.devices),
            "busy": len(self._busy),
            "devices": [
                {"id": d.id, "kind": d.kind, "name": d.name, "job": self._busy.get(d.id)}
                for d in self.devices
            ],
        }

    def fits_ever(self, requested: int) -> bool:
        return self.need(requested) <= len(self.devices)
