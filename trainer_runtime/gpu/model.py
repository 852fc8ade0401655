"""Plain data the GPU layer hands out: devices, MIG devices, processes, profiles."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class MigProfile:
    """One GPU instance profile as NVIDIA defines it (``nvidia-smi mig -lgip`` / ``-lgipp``).
    Placements are start indices on the memory-slice axis; an instance of the profile
    occupies ``memory_slices`` slices from its start."""

    name: str
    id: int
    compute_slices: int
    memory_slices: int
    memory_mb: int
    max_count: int
    placements: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["placements"] = list(self.placements)
        return d


@dataclass(frozen=True)
class MigTable:
    """What a GPU supports: its compute and memory slices and its profiles."""

    model: str
    slices: int
    memory_slices: int
    profiles: tuple[MigProfile, ...]

    def profile(self, name: str) -> MigProfile | None:
        for p in self.profiles:
            if p.name == name:
                return p
        return None

    def by_id(self, profile_id: int) -> MigProfile | None:
        for p in self.profiles:
            if p.id == profile_id:
                return p
        return None


@dataclass(frozen=True)
class Instance:
    """A GPU instance that exists (with its compute instance, when it has one)."""

    profile: str
    start: int
    size: int
    gi_id: int | None = None
    ci_id: int | None = None
    uuid: str | None = None

    def key(self) -> tuple[str, int]:
        return (self.profile, self.start)

    def to_json(self) -> dict[str, Any]:
        return {"profile": self.profile, "start": self.start, "size": self.size,
                "gi_id": self.gi_id, "ci_id": self.ci_id, "uuid": self.uuid}  # fmt: skip


@dataclass
class GpuProcess:
    pid: int
    user: str | None
    used_mb: int
    device_uuid: str
    job_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MigDevice:
    uuid: str
    profile: str
    gi_id: int
    ci_id: int
    start: int
    size: int
    memory_total_mb: int
    memory_used_mb: int
    util_pct: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GpuInfo:
    index: int
    uuid: str
    name: str
    model: str
    memory_total_mb: int
    memory_used_mb: int
    util_pct: float | None
    temp_c: float | None
    power_w: float | None
    power_limit_w: float | None
    sm_clock_mhz: int | None
    mem_clock_mhz: int | None
    ecc_errors: int | None
    mig_current: bool
    mig_pending: bool
    mig_devices: list[MigDevice] = field(default_factory=list)
    processes: list[GpuProcess] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("mig_current")
        d.pop("mig_pending")
        d["mig"] = {"current": self.mig_current, "pending": self.mig_pending}
        # a slice names its GPU by index too: its label ("GPU 0 · 2g.20gb") needs it
        d["mig_devices"] = [{**m.to_json(), "gpu_index": self.index} for m in self.mig_devices]
        d["processes"] = [p.to_json() for p in self.processes]
        return d

    def instances(self) -> list[Instance]:
        return [Instance(m.profile, m.start, m.size, m.gi_id, m.ci_id, m.uuid) for m in self.mig_devices]
