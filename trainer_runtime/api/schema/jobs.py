"""The jobs domain of the contract: the daemon's status, jobs, their transitions, metrics,
artifacts and logs, and the bodies and queries of the jobs routes.

What a state means to a user comes from the runtime's state machine (``jobs/state.py``), not
from a client: ``JobRow.is_terminal`` and ``allowed_actions`` call ``JobState``, and the display
text of a state is ``STATE_LABELS`` (re-exported here, next to ``JobState`` and ``JobAction``).

``GET /v1/jobs`` is answered from ``Daemon.job_list_json`` without building these models (a list
of 5,000 jobs must stay under 100 ms); its body follows ``JobList``, which the contract test
checks against a real daemon.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, computed_field

from trainer_runtime.api.schema.base import AbsPath, Count, Id, Query, Strict, View
from trainer_runtime.jobs.state import STATE_LABELS, JobAction, JobState

# ----------------------------------------------------------------------------- parts of a job


def devices_label(labels: Iterable[str]) -> str:
    """Device labels as one text: each once, in order ("CPU" for a job on two CPU slots)."""
    return ", ".join(dict.fromkeys(labels))


class DeviceView(View):
    """A device a job holds (``DevicePool.describe``)."""

    id: str  # "cpu:0", a GPU or MIG device UUID
    kind: Literal["cpu", "gpu", "mig", "unknown"]  # unknown: the device is gone (MIG re-layout)
    name: str
    memory_mb: int
    label: str  # "CPU", "GPU 0", "GPU 0 · 2g.20gb"


class HealthView(View):
    """What the watchdog saw of a running worker (``jobs/watchdog.py``); a job without trouble
    has ``health: null``."""

    status: Literal["stopped", "unresponsive"]
    since: float  # epoch seconds
    message: str


class MetricSummary(View):
    """One metric key of a job: its last value and its range so far."""

    key: str
    last: float
    last_step: int
    min: float
    max: float
    count: int


class _JobFields(View):
    """What the store keeps of a job (``JobInfo.to_json``, without the spec) and its health."""

    id: str
    name: str
    experiment: str
    state: JobState
    attempt: int
    priority: int
    reason: str | None  # why it is in its state ("cancelled by user", the error sentence)
    devices: list[str]  # device ids, see device_info
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    pid: int | None
    step: int
    total_steps: int
    resume_from: str | None  # the checkpoint a resumed attempt starts from
    pending_action: Literal["pause", "cancel"] | None  # asked of the worker, not done yet
    mlflow_run_id: str | None  # the job's MLflow run, once the mirror made it
    mlflow_done: bool  # the mirror has everything of the finished job
    mlflow_error: str | None  # why the mirror could not write the run (it retries)
    health: HealthView | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_terminal(self) -> bool:
        return self.state.is_terminal()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def allowed_actions(self) -> list[JobAction]:
        return list(self.state.allowed_actions())


class JobRecord(_JobFields):
    """The job as a ``job_state`` event carries it: the stored job with its spec."""

    spec: dict[str, Any]


class JobRow(_JobFields):
    """A row of the job list: the job with what the daemon knows live, without its spec."""

    progress: float  # step / total_steps, 0 before the first step
    eta_s: float | None  # seconds to the last step at the current rate (running jobs)
    best_eval_loss: float | None
    job_dir: str  # the attempt's folder (log.txt, events.jsonl, checkpoints/)
    device_info: list[DeviceView]
    waiting_for: str | None  # why a queued job is not running yet

    @computed_field  # type: ignore[prop-decorator]
    @property
    def device_label(self) -> str:
        """The devices as one short text ("GPU 0 · 2g.20gb", "CPU"); empty before placement."""
        return devices_label(d.label for d in self.device_info)


class JobView(JobRow):
    """Everything about one job: the row, its spec and its metric summaries by key."""

    spec: dict[str, Any]
    metrics: dict[str, MetricSummary]


class JobList(View):
    """``GET /v1/jobs`` (rendered by ``Daemon.job_list_json``, in this shape)."""

    jobs: list[JobRow]


class JobAnswer(View):
    """The answer of submit, show, pause, resume, cancel and restart."""

    job: JobView


class DeleteAnswer(View):
    deleted: str  # the job id


class TransitionView(View):
    """One row of a job's audit trail."""

    attempt: int
    from_state: JobState | None  # None: the job was created
    to_state: JobState
    reason: str
    at: datetime


class TransitionList(View):
    transitions: list[TransitionView]


class MetricPoint(View):
    key: str
    step: int
    value: float
    time: float  # epoch seconds, when the worker logged it


class MetricsPage(View):
    """Points after ``after_id``; ask again with ``after_id=last_id`` for the next page."""

    points: list[MetricPoint]
    last_id: int


class ArtifactView(View):
    kind: str  # "checkpoint", "final", ...
    path: str
    step: int
    attempt: int
    created_at: datetime


class ArtifactList(View):
    artifacts: list[ArtifactView]


class LogChunk(View):
    """Text of a job's log.txt from ``offset`` (credentials masked); read on from ``offset``."""

    text: str
    offset: int
    state: JobState


class Generation(View):
    """One answer of an sft job to one of its ``sft.eval_prompts`` (greedy, after an evaluation)."""

    step: int
    prompt: str
    output: str
    time: float  # epoch seconds


class GenerationList(View):
    """An attempt's ``generations.jsonl``, oldest first (empty for a job without eval prompts)."""

    generations: list[Generation]


class ValidateAnswer(View):
    """A spec that passed every check, as the daemon will run it (a dataset name pinned to its
    version, paths resolved)."""

    valid: Literal[True]
    spec: dict[str, Any]


class ShutdownAnswer(View):
    stopping: Literal[True]


# ----------------------------------------------------------------------------- daemon status


class PoolDevice(View):
    """A device the scheduler hands out, and the job on it."""

    id: str
    kind: Literal["cpu", "gpu", "mig"]
    name: str
    memory_mb: int
    gpu: str | None  # the physical GPU's UUID
    job: str | None  # the job holding it
    foreign_pids: list[int] | None = None  # GPU pool: processes the daemon did not start


class DevicesSummary(View):
    kind: Literal["cpu", "gpu"]
    total: int
    busy: int
    devices: list[PoolDevice]


class GpuBackendView(View):
    backend: str | None  # "nvml", "simulated", or None without a GPU back end
    message: str | None  # why there are no GPUs, when there are none


class MlflowStatus(View):
    """The MLflow mirror: off (``enabled: false`` and nothing else), or its progress and trouble."""

    enabled: bool
    tracking_uri: str | None = None
    last_sync: float | None = None
    last_error: str | None = None
    permanent_error: str | None = None  # the mirror stopped trying, and why


class StatusView(View):
    """``GET /v1/status``: who the daemon is and what it runs."""

    version: str
    api: str
    pid: int
    socket: str
    data_dir: str
    started: float  # epoch seconds
    tracking_uri: str
    devices: DevicesSummary
    gpu: GpuBackendView
    store_id: str
    jobs: dict[JobState, int]  # jobs by state, states with none left out
    mlflow: MlflowStatus


# ----------------------------------------------------------------------------- requests


class SubmitBody(Strict):
    """``POST /v1/jobs`` and ``POST /v1/specs/validate``."""

    spec: dict[str, Any]
    base_dir: AbsPath | None = Field(
        None, description="folder that relative dataset/model paths are relative to"
    )


class ListQuery(Query):
    state: list[JobState] | None = Field(None, max_length=20)


class MetricsQuery(Query):
    key: str | None = Field(None, min_length=1, max_length=100)
    attempt: Count | None = None
    after_id: Id = 0
    limit: int | None = Field(None, ge=1, le=1_000_000)


class LogsQuery(Query):
    offset: Id = 0
    limit: int = Field(256 * 1024, ge=1, le=16 << 20)
    attempt: Count | None = None


class GenerationsQuery(Query):
    attempt: Count | None = None


class EventsQuery(Query):
    types: list[Annotated[str, Field(max_length=50)]] | None = Field(None, max_length=50)
    job_id: str | None = Field(None, max_length=100)


__all__ = [
    "STATE_LABELS",
    "ArtifactList",
    "ArtifactView",
    "DeleteAnswer",
    "DeviceView",
    "DevicesSummary",
    "EventsQuery",
    "Generation",
    "GenerationList",
    "GenerationsQuery",
    "GpuBackendView",
    "HealthView",
    "JobAction",
    "JobAnswer",
    "JobList",
    "JobRecord",
    "JobRow",
    "JobState",
    "JobView",
    "ListQuery",
    "LogChunk",
    "LogsQuery",
    "MetricPoint",
    "MetricSummary",
    "MetricsPage",
    "MetricsQuery",
    "MlflowStatus",
    "PoolDevice",
    "ShutdownAnswer",
    "StatusView",
    "SubmitBody",
    "TransitionList",
    "TransitionView",
    "ValidateAnswer",
    "devices_label",
]
