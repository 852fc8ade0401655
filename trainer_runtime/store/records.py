"""Plain dataclasses handed out by the store (ORM objects never leave it)."""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() + "Z" if dt else None


@dataclass(frozen=True)
class JobInfo:
    id: str
    name: str
    experiment: str
    state: str
    attempt: int
    priority: int
    reason: str | None
    devices: list[str]
    spec: dict[str, Any]
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    pid: int | None
    pid_create_time: float | None
    events_offset: int
    step: int
    total_steps: int
    resume_from: str | None
    pending_action: str | None
    mlflow_run_id: str | None
    mlflow_metric_cursor: int
    mlflow_done: bool
    mlflow_error: str | None

    def to_json(self) -> dict[str, Any]:
        """The job as JSON: built field by field (``asdict`` deep-copies the spec, which a
        5,000-row job list paid for on every call). The spec dict is shared, not copied."""
        d = {k: getattr(self, k) for k in _JOB_PUBLIC}
        for k in _JOB_TIMES:
            d[k] = _iso(d[k])
        d["devices"] = list(self.devices)
        return d


_JOB_TIMES = ("created_at", "queued_at", "started_at", "finished_at")
_JOB_PUBLIC = [
    f.name
    for f in fields(JobInfo)
    if f.name not in ("pid_create_time", "events_offset", "mlflow_metric_cursor")
]


@dataclass(frozen=True)
class Transition:
    attempt: int
    from_state: str | None
    to_state: str
    reason: str
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "at": _iso(self.at)}


@dataclass(frozen=True)
class MetricRecord:
    id: int
    key: str
    step: int
    value: float
    time: float
    attempt: int = 1

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "step": self.step, "value": self.value, "time": self.time}


@dataclass(frozen=True)
class Summary:
    key: str
    last: float
    last_step: int
    min: float
    max: float
    count: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ArtifactInfo:
    kind: str
    path: str
    step: int
    attempt: int
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "created_at": _iso(self.created_at)}


@dataclass
class Ingest:
    """What one pass over a job's events.jsonl produced, stored in one transaction."""

    new_offset: int
    metrics: list[tuple[str, int, float, float]] = field(default_factory=list)  # key, step, value, time
    artifacts: list[tuple[str, str, int]] = field(default_factory=list)  # kind, abs path, step
    pruned: list[str] = field(default_factory=list)  # abs paths of checkpoints retention removed
    step: int | None = None
    total_steps: int | None = None


@functools.lru_cache(maxsize=256)
def _device_ids(raw: str) -> tuple[str, ...]:
    return tuple(json.loads(raw))


def _devices(raw: str | None) -> list[str]:
    """A job's device ids from their JSON column (a job list has few distinct values: parsed once)."""
    return list(_device_ids(raw)) if raw else []


def _when(value: Any) -> Any:
    """A timestamp column's value: a datetime, or SQLite's text of one (``Store.job_rows``)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def job_info(row: Any, experiment: str) -> JobInfo:
    return JobInfo(
        id=row.id,
        name=row.name,
        experiment=experiment,
        state=row.state,
        attempt=row.attempt,
        priority=row.priority,
        reason=row.reason,
        devices=_devices(row.devices),
        spec=json.loads(row.spec_json) if row.spec_json else {},
        created_at=_when(row.created_at),
        queued_at=_when(row.queued_at),
        started_at=_when(row.started_at),
        finished_at=_when(row.finished_at),
        pid=row.pid,
        pid_create_time=row.pid_create_time,
        events_offset=row.events_offset,
        step=row.step,
        total_steps=row.total_steps,
        resume_from=row.resume_from,
        pending_action=row.pending_action,
        mlflow_run_id=row.mlflow_run_id,
        mlflow_metric_cursor=row.mlflow_metric_cursor,
        mlflow_done=bool(row.mlflow_done),
        mlflow_error=row.mlflow_error,
    )
