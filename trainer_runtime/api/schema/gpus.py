"""The contract of the GPU and MIG routes (``/v1/gpus``, ``/v1/mig/...``).

The GPU layer (``trainer_runtime.gpu``) keeps plain dataclasses and dicts; the routes parse
what it hands out into these views, so a field the layer adds or renames is caught by the
contract test rather than by a panel that reads a key that is no longer there.

A device's ``label`` is how a user names it ("GPU 0 · H100 80GB", "GPU 0 · 2g.20gb"): the
CLI, the GUI's tables and the planner show the same words.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool, StrictInt, computed_field

from trainer_runtime.api.schema.base import Query, Strict, View

GpuRef = Annotated[str, Field(min_length=1, max_length=100)] | Annotated[StrictInt, Field(ge=0, le=1024)]


def gpu_label(index: int, model: str) -> str:
    """ "GPU 0 · H100 80GB": the model key (``H100-80GB``) as a person writes it."""
    return f"GPU {index} · {model.replace('-', ' ')}"


def mig_label(gpu_index: int, profile: str) -> str:
    """ "GPU 0 · 2g.20gb", as jobs/devices.py labels a slice a job runs on."""
    return f"GPU {gpu_index} · {profile}"


# ------------------------------------------------------------------- /v1/gpus
class GpuProcessView(View):
    pid: int
    user: str | None
    used_mb: int
    device_uuid: str = Field(description="the GPU or MIG device the process runs on")
    job_id: str | None = Field(None, description="the SparkTrainer job it belongs to, if any")


class MigView(View):
    """A MIG device (a GPU instance with its compute instance) of a GPU."""

    uuid: str
    gpu_index: int = Field(description="the index of the physical GPU it is a slice of")
    profile: str
    gi_id: int
    ci_id: int
    start: int = Field(description="first memory slice it occupies")
    size: int = Field(description="memory slices it occupies")
    memory_total_mb: int
    memory_used_mb: int
    util_pct: float | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def label(self) -> str:
        return mig_label(self.gpu_index, self.profile)


class MigMode(View):
    current: bool
    pending: bool = Field(description="the mode after the next GPU reset")


class GpuView(View):
    index: int
    uuid: str
    name: str = Field(description="the board's name as the driver says it")
    model: str = Field(description="the model key of the MIG tables (H100-80GB)")
    memory_total_mb: int
    memory_used_mb: int
    util_pct: float | None = None
    temp_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    sm_clock_mhz: int | None = None
    mem_clock_mhz: int | None = None
    ecc_errors: int | None = None
    mig: MigMode
    mig_devices: list[MigView] = Field(default_factory=list)
    processes: list[GpuProcessView] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def label(self) -> str:
        return gpu_label(self.index, self.model)


class GpuList(View):
    backend: str | None = Field(description="nvml, sim, or null without a GPU back end")
    message: str | None = Field(description="why there are no GPUs, or the last read error")
    time: float = Field(description="when the snapshot was taken (Unix time)")
    gpus: list[GpuView]


class DeviceHistory(View):
    """One device's samples, column by column (null: not measured)."""

    time: list[float]
    util_pct: list[float | None]
    memory_used_mb: list[float | None]
    temp_c: list[float | None]
    power_w: list[float | None]


class GpuHistory(View):
    interval_s: float
    devices: dict[str, DeviceHistory] = Field(description="by GPU or MIG device UUID")


class HistoryQuery(Query):
    seconds: float = Field(3600, gt=0, le=3600)


# -------------------------------------------------------------- /v1/mig/...
class ProfilesQuery(Query):
    gpu: str = Field(min_length=1, max_length=100, description="the GPU's UUID or index")


class MigProfileView(View):
    name: str
    id: int
    compute_slices: int
    memory_slices: int
    memory_mb: int
    max_count: int
    placements: list[int] = Field(description="memory slices an instance of it may start at")


class MigProfiles(View):
    gpu: str = Field(description="the GPU's UUID")
    model: str
    slices: int
    memory_slices: int
    profiles: list[MigProfileView]
    presets: dict[str, list[str]] = Field(description="common layouts valid on this GPU, by name")


class LayoutEntry(Strict):
    profile: str = Field(min_length=1, max_length=100)
    start: Annotated[StrictInt, Field(ge=0, le=7)] | None = Field(None, description="pinned memory slice")


LayoutItem = Annotated[str, Field(min_length=1, max_length=100)] | LayoutEntry


class GpuBody(Strict):
    gpu: GpuRef = Field(description="the GPU's UUID or index")

    @property
    def gpu_ref(self) -> str:
        return str(self.gpu)


class PlanBody(GpuBody):
    layout: list[LayoutItem] = Field(
        default_factory=list, max_length=64, description="profile names or {profile, start}; [] = MIG off"
    )

    def layout_items(self) -> list[str | dict[str, object]]:
        """The layout as the planner takes it (names and ``{profile, start}`` dicts)."""
        return [x if isinstance(x, str) else x.model_dump(exclude_none=True) for x in self.layout]


class ApplyBody(PlanBody):
    dry_run: StrictBool = True  # "no" or 0 must never mean "apply"


class LayoutProblem(View):
    profile: str | None
    start: int | None
    reason: str


class Slot(View):
    """A place a layout puts an instance of a profile."""

    profile: str
    start: int
    size: int


class InstanceView(Slot):
    """A GPU instance that exists (with its compute instance, when it has one)."""

    gi_id: int | None = None
    ci_id: int | None = None
    uuid: str | None = None


class LayoutDiff(View):
    keep: list[InstanceView]
    remove: list[InstanceView]
    add: list[Slot]


class MigPlan(View):
    valid: bool
    errors: list[LayoutProblem]
    placed: list[Slot]
    diff: LayoutDiff
    operations: list[str] = Field(description="the NVML calls an apply performs, in order")


class MigApplied(MigPlan):
    applied: bool
    dry_run: bool
    readback: list[InstanceView] = Field(description="the instances read back after applying")


class MigRecommendation(View):
    layout: list[str]
    reason: str
    jobs: list[str] = Field(description="each packed job and the profile it got")


__all__ = [
    "ApplyBody",
    "DeviceHistory",
    "GpuBody",
    "GpuHistory",
    "GpuList",
    "GpuProcessView",
    "GpuView",
    "HistoryQuery",
    "InstanceView",
    "LayoutDiff",
    "LayoutEntry",
    "LayoutProblem",
    "MigApplied",
    "MigMode",
    "MigPlan",
    "MigProfileView",
    "MigProfiles",
    "MigRecommendation",
    "MigView",
    "PlanBody",
    "ProfilesQuery",
    "Slot",
    "gpu_label",
    "mig_label",
]
