"""Every event on ``GET /v1/events``: one member of the ``Event`` union each, told apart by
``type``.

The stream is newline-delimited JSON. The daemon writes ``hello`` first, ``heartbeat`` after
15 s without an event, and ``lagged`` last when it dropped a client that read too slowly (the
client reconnects and re-reads state through the API). Every other event comes from the
daemon's bus (``jobs/bus.py``) and carries ``seq`` (increasing per daemon) and ``time``.
The server streams each event through this union, so a producer whose event does not fit is
caught by the daemon (and its tests), not by a client.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import ConfigDict, Field

from trainer_runtime.api.schema.base import View
from trainer_runtime.api.schema.datasets import ImportTaskView
from trainer_runtime.api.schema.jobs import HealthView, JobRecord, MetricPoint


class Hello(View):
    type: Literal["hello"]
    version: str
    api: str


class Heartbeat(View):
    type: Literal["heartbeat"]


class Lagged(View):
    type: Literal["lagged"]


class _BusEvent(View):
    seq: int
    time: float  # epoch seconds


class JobStateEvent(_BusEvent):
    """A job was created, changed state, or changed outside a transition (a pending action,
    its MLflow mirror state, a pause that overran)."""

    type: Literal["job_state"]
    job_id: str
    job: JobRecord


class JobDeleted(_BusEvent):
    type: Literal["job_deleted"]
    job_id: str


class MetricsEvent(_BusEvent):
    type: Literal["metrics"]
    job_id: str
    attempt: int
    points: list[MetricPoint]


class ProgressEvent(_BusEvent):
    type: Literal["progress"]
    job_id: str
    step: int | None
    total: int | None


class LogEvent(_BusEvent):
    """New text of the job's log.txt (credentials masked)."""

    type: Literal["log"]
    job_id: str
    attempt: int
    text: str


class JobHealthEvent(_BusEvent):
    type: Literal["job_health"]
    job_id: str
    health: HealthView | None  # None: the worker is fine again


class DatasetImportEvent(_BusEvent):
    """An import task started, progressed, or ended (``import`` is the task's view)."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True, validate_by_alias=True)

    type: Literal["dataset_import"]
    import_: ImportTaskView = Field(alias="import")


class DatasetChanged(_BusEvent):
    """A dataset got a version, was renamed, rolled back, deleted or labelled."""

    type: Literal["dataset_changed"]
    name: str


Event = Annotated[
    Hello
    | Heartbeat
    | Lagged
    | JobStateEvent
    | JobDeleted
    | MetricsEvent
    | ProgressEvent
    | LogEvent
    | JobHealthEvent
    | DatasetImportEvent
    | DatasetChanged,
    Field(discriminator="type"),
]

# the ``type`` of each member, for ``GET /v1/events?types=`` (read from the union, not listed again)
EVENT_TYPES: tuple[str, ...] = tuple(
    get_args(m.model_fields["type"].annotation)[0] for m in get_args(get_args(Event)[0])
)

__all__ = [
    "EVENT_TYPES",
    "DatasetChanged",
    "DatasetImportEvent",
    "Event",
    "Heartbeat",
    "Hello",
    "JobDeleted",
    "JobHealthEvent",
    "JobStateEvent",
    "Lagged",
    "LogEvent",
    "MetricsEvent",
    "ProgressEvent",
]
