"""The one interface both back ends (NVML, simulated) implement, and how the daemon opens one."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path

from trainer_runtime.gpu.errors import GpuError, UnknownGpu
from trainer_runtime.gpu.model import GpuInfo, Instance, MigTable

SIM_ENV = "SPARKTRAINER_GPU_SIM"


class GpuBackend(ABC):
    name: str = ""
    needs_root: bool = False

    # ------------------------------------------------------------------ reading
    @abstractmethod
    def snapshot(self) -> list[GpuInfo]:
        """Every GPU with its MIG devices and processes (``job_id`` left None)."""

    @abstractmethod
    def mig_table(self, uuid: str) -> MigTable:
        """The GPU's MIG profiles and their possible placements, as the device reports them."""

    @abstractmethod
    def instances(self, uuid: str) -> list[Instance]:
        """The GPU instances that exist now (with their compute instances)."""

    @abstractmethod
    def mig_mode(self, uuid: str) -> tuple[bool, bool]:
        """(current, pending)."""

    # ---------------------------------------------------------------- changing
    @abstractmethod
    def set_mig_mode(self, uuid: str, enabled: bool) -> None: ...

    @abstractmethod
    def create_gpu_instance(self, uuid: str, profile_id: int, start: int) -> int:
        """Returns the new GPU instance id."""

    @abstractmethod
    def create_compute_instance(self, uuid: str, gi_id: int) -> int:
        """A compute instance spanning the whole GPU instance; returns its id."""

    @abstractmethod
    def destroy_compute_instance(self, uuid: str, gi_id: int, ci_id: int) -> None: ...

    @abstractmethod
    def destroy_gpu_instance(self, uuid: str, gi_id: int) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        pass

    # ------------------------------------------------------------------ helpers
    def find(self, gpu: str, snapshot: list[GpuInfo] | None = None) -> GpuInfo:
        """A GPU by UUID or index."""
        gpus = snapshot if snapshot is not None else self.snapshot()
        for g in gpus:
            if g.uuid == gpu or (gpu.isdigit() and g.index == int(gpu)):
                return g
        known = ", ".join(f"{g.index} ({g.uuid})" for g in gpus) or "none"
        raise UnknownGpu(f"no GPU {gpu!r} on this machine; GPUs: {known}")


def open_backend(data_root: Path | None = None) -> tuple[GpuBackend | None, str | None]:
    """The simulated set when ``SPARKTRAINER_GPU_SIM`` is set, else NVML; (None, why) when
    there is no GPU to use. Never raises."""
    spec = os.environ.get(SIM_ENV, "").strip()
    if spec:
        from trainer_runtime.gpu.sim import SimBackend

        try:
            return SimBackend.from_spec(spec, data_root), None
        except GpuError as err:
            return None, str(err)
    from trainer_runtime.gpu.nvml import NvmlBackend

    try:
        backend = NvmlBackend.open()
    except GpuError as err:
        return None, str(err)
    if not backend.snapshot_safe():
        backend.close()
        return None, "NVML found no GPUs"
    return backend, None
