"""Errors of the GPU layer; every message is a sentence a user can act on."""

from __future__ import annotations


class GpuError(Exception):
    """A device could not be read or changed (an NVML error, an unknown model, ...)."""


class UnknownGpu(GpuError):
    pass


class LayoutInvalid(GpuError):
    """A MIG layout that does not fit the GPU; ``errors`` are the planner's reasons."""

    def __init__(self, message: str, errors: list[dict]):
        super().__init__(message)
        self.errors = errors


class GpuBusy(GpuError):
    """Processes use the GPU; ``processes`` names them."""

    def __init__(self, message: str, processes: list[dict]):
        super().__init__(message)
        self.processes = processes


class NeedsRoot(GpuError):
    pass


class ApplyFailed(GpuError):
    """The transaction failed and was rolled back (``rolled_back`` lists what was undone)."""

    def __init__(self, message: str, rolled_back: list[str]):
        super().__init__(message)
        self.rolled_back = rolled_back
