"""SQLAlchemy 2 typed models. ORM objects never leave ``trainer_runtime.store``."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Experiment(Base):
    __tablename__ = "experiments"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoreMeta(Base):
    """The store's own facts: ``store_id`` (its identity, also in the data dir's store.json), ``created_at``."""

    __tablename__ = "store_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Job(Base):
    __tablename__ = "jobs"
    # The job list is read in creation order, all of it or by state (indexes from migration 0003).
    __table_args__ = (
        Index("ix_jobs_created_at", "created_at"),
        Index("ix_jobs_state_created_at", "state", "created_at"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"))
    name: Mapped[str] = mapped_column(String(200))
    spec_json: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(default=1)
    priority: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    devices: Mapped[str | None] = mapped_column(String(400), default=None)  # JSON list of device ids
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # supervision
    pid: Mapped[int | None] = mapped_column(default=None)
    pid_create_time: Mapped[float | None] = mapped_column(Float, default=None)
    events_offset: Mapped[int] = mapped_column(default=0)
    step: Mapped[int] = mapped_column(default=0)
    total_steps: Mapped[int] = mapped_column(default=0)
    resume_from: Mapped[str | None] = mapped_column(String(400), default=None)
    pending_action: Mapped[str | None] = mapped_column(String(16), default=None)  # pause | cancel
    # MLflow mirror bookkeeping
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64), default=None)
    mlflow_metric_cursor: Mapped[int] = mapped_column(default=0)  # last metric_points.id mirrored
    mlflow_done: Mapped[bool] = mapped_column(default=False)
    mlflow_error: Mapped[str | None] = mapped_column(Text, default=None)


class JobStatusTransition(Base):
    __tablename__ = "job_transitions"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column()
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class MetricPoint(Base):
    """Append-only: one row per (job, attempt, key, step)."""

    __tablename__ = "metric_points"
    __table_args__ = (
        UniqueConstraint("job_id", "attempt", "key", "step", name="uq_metric_point"),
        Index("ix_metric_job_id", "job_id", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column()
    key: Mapped[str] = mapped_column(String(100))
    step: Mapped[int] = mapped_column()
    value: Mapped[float] = mapped_column(Float)
    time: Mapped[float] = mapped_column(Float)  # unix seconds, from the worker


class MetricSummary(Base):
    __tablename__ = "metric_summaries"
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    attempt: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    last: Mapped[float] = mapped_column(Float)
    last_step: Mapped[int] = mapped_column()
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column()


class Artifact(Base):
    __tablename__ = "artifacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(32))  # checkpoint | adapter | model
    path: Mapped[str] = mapped_column(Text)  # absolute
    step: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Dataset(Base):
    """A named dataset; its content lives in immutable versions."""

    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    modality: Mapped[str] = mapped_column(String(16))  # image | text | tabular
    format: Mapped[str] = mapped_column(String(32))
    next_number: Mapped[int] = mapped_column(default=1)  # version numbers are never reused
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetVersion(Base):
    """One immutable manifest: its entries never change once committed."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "number", name="uq_dataset_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column()
    manifest_hash: Mapped[str] = mapped_column(String(64))
    file_count: Mapped[int] = mapped_column()
    total_bytes: Mapped[int] = mapped_column()
    message: Mapped[str] = mapped_column(Text)
    meta_json: Mapped[str] = mapped_column(Text)  # format, modality, item count, classes, ...
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetEntry(Base):
    """One file of a version's manifest: path → blob hash, size, label."""

    __tablename__ = "dataset_entries"
    version_id: Mapped[int] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column()
    label: Mapped[str | None] = mapped_column(Text, default=None)
