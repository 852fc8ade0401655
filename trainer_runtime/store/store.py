"""The store: every read and write of runtime state goes through here."""

from __future__ import annotations

import collections
import json
import math
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, and_, case, delete, func, null, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from trainer_runtime.jobs.state import IllegalTransition, JobState
from trainer_runtime.store import db
from trainer_runtime.store.changes import ChangeProbe
from trainer_runtime.store.models import (
    Artifact,
    Experiment,
    Job,
    JobStatusTransition,
    MetricPoint,
    MetricSummary,
    Project,
    utcnow,
)
from trainer_runtime.store.records import (
    ArtifactInfo,
    Ingest,
    JobInfo,
    MetricRecord,
    Summary,
    Transition,
    job_info,
)

DEFAULT_PROJECT = "default"
# Every column of a job row but its spec, which a job list shows only for queued jobs (their
# wait reason needs the resources asked for); the spec is most of a row's bytes and parsing.
_LIST_COLUMNS = [c for c in Job.__table__.columns if c.key != "spec_json"]
# A listing's rows as named tuples: plain data that compares by value (the daemon keeps a
# finished job's rendered row while its tuple is unchanged), and fast to read: attribute access
# on SQLAlchemy's Row is a Python-level lookup, 25 of them per job were most of a list's cost.
# Its fields follow the model (a new column is listed without a change here), so it is Any to mypy.
_namedtuple: Any = collections.namedtuple
JobRow: Any = _namedtuple("JobRow", [c.key for c in _LIST_COLUMNS] + ["spec_json", "experiment_name", "best"])


class JobNotFound(KeyError):
    def __init__(self, job_id: str):
        super().__init__(job_id)
        self.job_id = job_id

    def __str__(self) -> str:
        return f"no job with id '{self.job_id}'"


def _insert(engine: Engine) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT DO NOTHING."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    from sqlalchemy.dialects import sqlite

    return sqlite.insert


class Store:
    def __init__(self, url: str, migrate: bool = True):
        self.engine = db.make_engine(url)
        if migrate:
            db.upgrade(self.engine)
        self._sessions = db.session_factory(self.engine)
        self._insert = _insert(self.engine)
        self.store_id: str | None = None  # set by store.identity.open_store
        self._changes = ChangeProbe(self.engine)
        self._rows_kept: dict[Any, tuple[int, list[Any]]] = {}  # job_rows while nothing was committed

    def describe_error(self, err: BaseException) -> str:
        """A sentence for a database error met while serving (``health.describe_database_error``)."""
        from trainer_runtime.store.health import describe_database_error, shown_url

        return describe_database_error(err, f"the database {shown_url(str(self.engine.url))}")

    def close(self) -> None:
        self._changes.close()
        self.engine.dispose()

    # ----------------------------------------------------------------- helpers
    def _session(self) -> Session:
        return self._sessions()

    @staticmethod
    def _job(s: Session, job_id: str) -> Job:
        row = s.get(Job, job_id)
        if row is None:
            raise JobNotFound(job_id)
        return row

    @staticmethod
    def _info(s: Session, row: Job) -> JobInfo:
        exp = s.get(Experiment, row.experiment_id)
        return job_info(row, exp.name if exp else "")

    def _experiment_id(self, s: Session, name: str) -> int:
        project = s.scalar(select(Project).where(Project.name == DEFAULT_PROJECT))
        if project is None:
            project = Project(name=DEFAULT_PROJECT)
            s.add(project)
            s.flush()
        exp = s.scalar(select(Experiment).where(Experiment.project_id == project.id, Experiment.name == name))
        if exp is None:
            exp = Experiment(project_id=project.id, name=name)
            s.add(exp)
            s.flush()
        return exp.id

    @staticmethod
    def _audit(s: Session, row: Job, from_state: str | None, to_state: str, reason: str) -> None:
        s.add(
            JobStatusTransition(
                job_id=row.id, attempt=row.attempt, from_state=from_state, to_state=to_state, reason=reason
            )
        )

    # -------------------------------------------------------------------- jobs
    def create_job(
        self, spec: dict[str, Any], reason: str = "submitted", then: tuple[JobState, str] | None = None
    ) -> JobInfo:
        """A new job at PENDING, moved on to ``then`` (state, reason) in the same transaction, so
        a failed write (a full disk) leaves no half-submitted job behind."""
        with self._session() as s, s.begin():
            row = Job(
                id=uuid.uuid4().hex[:12],
                experiment_id=self._experiment_id(s, spec.get("experiment", "default")),
                name=spec["name"],
                spec_json=json.dumps(spec, sort_keys=True),
                state=JobState.PENDING,
                attempt=1,
                priority=int(spec.get("priority", 0)),
            )
            s.add(row)
            s.flush()
            self._audit(s, row, None, JobState.PENDING, reason)
            if then is not None:
                self._move(s, row, then[0], then[1], None, {})
            return self._info(s, row)

    def get_job(self, job_id: str) -> JobInfo:
        with self._session() as s:
            return self._info(s, self._job(s, job_id))

    @staticmethod
    def _listing(spec: Any, states: Iterable[str] | None, best: Any = None) -> Select:
        """One statement for a whole job list: the rows in creation order with their experiment's
        name (an index walk on ``created_at`` or ``(state, created_at)``, never a query per row),
        in ``JobRow``'s column order."""
        q = (
            select(
                *_LIST_COLUMNS, spec.label("spec_json"), Experiment.name.label("experiment_name"),
                (null() if best is None else best).label("best"),
            )
            .join(Experiment, Experiment.id == Job.experiment_id, isouter=True)
            .order_by(Job.created_at, Job.id)
        )  # fmt: skip
        return q if states is None else q.where(Job.state.in_(list(states)))

    def list_jobs(self, states: Iterable[str] | None = None) -> list[JobInfo]:
        with self._session() as s:
            rows = map(JobRow._make, s.execute(self._listing(Job.spec_json, states)))
            return [job_info(r, r.experiment_name or "") for r in rows]

    def job_rows(self, states: Iterable[str] | None = None, best_key: str = "eval_loss") -> list[Any]:
        """The job list's rows as plain named tuples (``records.job_info(row, row.experiment_name)``
        makes a JobInfo), each with its current attempt's minimum of ``best_key`` as ``best``, in one
        statement. A row's ``spec_json`` is there only while the job is QUEUED (None otherwise).

        The rows are the driver's own values, without SQLAlchemy's per-value result processing
        (half of a 5,000-row list's cost): SQLite gives its timestamps as text, which ``job_info``
        parses for the rows it is asked to make; they compare as well as datetimes do."""
        key = (tuple(states) if states is not None else None, best_key)
        version = self._changes.version()  # read first: rows fetched after it are at least as new
        kept = self._rows_kept.get(key)
        if version is not None and kept is not None and kept[0] == version:
            return list(kept[1])
        rows = self._fetch_job_rows(states, best_key)
        if version is not None:
            self._rows_kept[key] = (version, rows)
        return list(rows)

    def _fetch_job_rows(self, states: Iterable[str] | None, best_key: str) -> list[Any]:
        best = and_(
            MetricSummary.job_id == Job.id,
            MetricSummary.attempt == Job.attempt,
            MetricSummary.key == best_key,
        )
        spec = case((Job.state == JobState.QUEUED.value, Job.spec_json), else_=None)
        q = self._listing(spec, states, MetricSummary.min).join(MetricSummary, best, isouter=True)
        compiled = q.compile(dialect=self.engine.dialect, compile_kwargs={"render_postcompile": True})
        params: Any = compiled.params
        if compiled.positional:
            params = tuple(params[k] for k in compiled.positiontup or ())
        with self.engine.connect() as conn:  # the DB-API cursor: SQLAlchemy's Row wrapping was a third
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(str(compiled), params)
                return list(map(JobRow._make, cursor.fetchall()))
            finally:
                cursor.close()

    def count_by_state(self) -> dict[str, int]:
        """How many jobs are in each state (one GROUP BY on the state index)."""
        with self._session() as s:
            return {state: n for state, n in s.execute(select(Job.state, func.count()).group_by(Job.state))}

    def transition(
        self, job_id: str, target: JobState, reason: str, action: str | None = None, **fields: Any
    ) -> JobInfo:
        """Move a job to ``target`` (raises IllegalTransition), audit it, and set ``fields``."""
        with self._session() as s, s.begin():
            row = self._job(s, job_id)
            self._move(s, row, target, reason, action, fields)
            return self._info(s, row)

    def _move(
        self, s: Session, row: Job, target: JobState, reason: str, action: str | None, fields: dict[str, Any]
    ) -> None:
        current = JobState(row.state)
        if not current.can_go_to(target):
            raise IllegalTransition(row.id, current, target, action)
        row.state = target
        row.reason = reason
        now = utcnow()
        if target == JobState.QUEUED:
            row.queued_at = now
        elif target == JobState.RUNNING:
            row.started_at = row.started_at or now
        if target.is_terminal():
            row.finished_at = now
        if target != JobState.RUNNING:
            row.pid = row.pid_create_time = None
            row.pending_action = None
        for k, v in fields.items():
            setattr(row, k, v)
        self._audit(s, row, current, target, reason)

    def new_attempt(self, job_id: str, reason: str) -> JobInfo:
        """Restart: a finished job gets a new attempt that starts at PENDING."""
        with self._session() as s, s.begin():
            row = self._job(s, job_id)
            current = JobState(row.state)
            if not current.is_terminal():
                raise IllegalTransition(job_id, current, JobState.PENDING, "restart")
            row.attempt += 1
            row.state = JobState.PENDING
            row.reason = reason
            row.devices = None
            row.started_at = row.finished_at = row.queued_at = None
            row.events_offset = 0
            row.step = 0
            row.resume_from = None
            row.pending_action = None
            row.mlflow_run_id = None
            row.mlflow_done = False
            row.mlflow_error = None
            self._audit(s, row, current, JobState.PENDING, reason)
            return self._info(s, row)

    def update_job(self, job_id: str, **fields: Any) -> JobInfo:
        with self._session() as s, s.begin():
            row = self._job(s, job_id)
            for k, v in fields.items():
                if k == "devices":
                    v = json.dumps(v) if v is not None else None
                setattr(row, k, v)
            return self._info(s, row)

    def delete_job(self, job_id: str) -> None:
        with self._session() as s, s.begin():
            row = self._job(s, job_id)
            if not JobState(row.state).is_terminal():
                raise IllegalTransition(job_id, JobState(row.state), JobState.CANCELLED, "delete")
            for model in (MetricPoint, MetricSummary, Artifact, JobStatusTransition):
                s.execute(delete(model).where(model.job_id == job_id))
            s.delete(row)

    def transitions(self, job_id: str) -> list[Transition]:
        with self._session() as s:
            self._job(s, job_id)
            rows = s.scalars(
                select(JobStatusTransition)
                .where(JobStatusTransition.job_id == job_id)
                .order_by(JobStatusTransition.id)
            )
            return [Transition(r.attempt, r.from_state, r.to_state, r.reason, r.at) for r in rows]

    # ----------------------------------------------------------------- metrics
    def ingest(self, job_id: str, attempt: int, batch: Ingest) -> list[MetricRecord]:
        """Store one pass over events.jsonl atomically with its new byte offset.

        Returns the metric points that were new (a replayed line is ignored by
        the unique key, so nothing is ever counted twice)."""
        with self._session() as s, s.begin():
            row = self._job(s, job_id)
            if row.attempt != attempt:
                return []
            inserted: list[MetricRecord] = []
            values = [
                {"job_id": job_id, "attempt": attempt, "key": k, "step": st, "value": v, "time": t}
                for k, st, v, t in batch.metrics
                if isinstance(v, int | float) and not math.isnan(v)
            ]
            if values:
                # One statement for any number of rows, so SQLAlchemy compiles it once and caches
                # it ("insertmanyvalues" batches the rows); a ``.values(rows)`` statement would be
                # compiled anew for every batch size, which was most of the cost of a tick.
                stmt = (
                    self._insert(MetricPoint)
                    .on_conflict_do_nothing()
                    .returning(
                        MetricPoint.id, MetricPoint.key, MetricPoint.step, MetricPoint.value, MetricPoint.time
                    )
                )
                inserted.extend(
                    MetricRecord(r[0], r[1], r[2], r[3], r[4], attempt) for r in s.execute(stmt, values)
                )
            inserted.sort(key=lambda m: m.id)
            self._update_summaries(s, job_id, attempt, inserted)
            pruned = set(batch.pruned)
            for kind, path, step in batch.artifacts:
                if path not in pruned:  # saved and pruned within this pass
                    s.add(Artifact(job_id=job_id, attempt=attempt, kind=kind, path=path, step=step))
            if pruned:  # checkpoints removed by retention: no row for a missing folder
                s.execute(
                    delete(Artifact).where(
                        Artifact.job_id == job_id, Artifact.attempt == attempt, Artifact.path.in_(pruned)
                    )
                )
            row.events_offset = batch.new_offset
            if batch.step is not None:
                row.step = max(row.step, batch.step)
            if batch.total_steps:
                row.total_steps = batch.total_steps
            return inserted

    @staticmethod
    def _update_summaries(s: Session, job_id: str, attempt: int, points: list[MetricRecord]) -> None:
        by_key: dict[str, list[MetricRecord]] = {}
        for p in points:
            by_key.setdefault(p.key, []).append(p)
        for key, pts in by_key.items():
            summ = s.get(MetricSummary, (job_id, attempt, key))
            vals = [p.value for p in pts]
            last = max(pts, key=lambda p: p.step)
            if summ is None:
                s.add(
                    MetricSummary(
                        job_id=job_id,
                        attempt=attempt,
                        key=key,
                        last=last.value,
                        last_step=last.step,
                        min=min(vals),
                        max=max(vals),
                        count=len(vals),
                    )
                )
                continue
            summ.min = min(summ.min, *vals)
            summ.max = max(summ.max, *vals)
            summ.count += len(vals)
            if last.step >= summ.last_step:
                summ.last, summ.last_step = last.value, last.step

    def metrics(
        self,
        job_id: str,
        key: str | None = None,
        attempt: int | None = None,
        after_id: int = 0,
        limit: int | None = None,
    ) -> list[MetricRecord]:
        with self._session() as s:
            row = self._job(s, job_id)
            q = select(MetricPoint).where(MetricPoint.job_id == job_id, MetricPoint.id > after_id)
            q = q.where(MetricPoint.attempt == (attempt or row.attempt))
            if key:
                q = q.where(MetricPoint.key == key)
            q = q.order_by(MetricPoint.id)
            if limit:
                q = q.limit(limit)
            return [MetricRecord(r.id, r.key, r.step, r.value, r.time, r.attempt) for r in s.scalars(q)]

    def summaries(self, job_id: str, attempt: int | None = None) -> list[Summary]:
        with self._session() as s:
            row = self._job(s, job_id)
            q = select(MetricSummary).where(
                MetricSummary.job_id == job_id, MetricSummary.attempt == (attempt or row.attempt)
            )
            return [
                Summary(r.key, r.last, r.last_step, r.min, r.max, r.count)
                for r in s.scalars(q.order_by(MetricSummary.key))
            ]

    def metric_minimums(self, job_ids: list[str], key: str) -> dict[str, float]:
        """Each job's minimum of ``key`` in its current attempt, in one query."""
        if not job_ids:
            return {}
        with self._session() as s:
            rows = s.execute(
                select(MetricSummary.job_id, MetricSummary.min)
                .join(Job, (Job.id == MetricSummary.job_id) & (Job.attempt == MetricSummary.attempt))
                .where(MetricSummary.key == key, MetricSummary.job_id.in_(job_ids))
            )
            return {job_id: value for job_id, value in rows}

    def metric_count(self, job_id: str) -> int:
        with self._session() as s:
            return (
                s.scalar(select(func.count()).select_from(MetricPoint).where(MetricPoint.job_id == job_id))
                or 0
            )

    def artifacts(self, job_id: str) -> list[ArtifactInfo]:
        with self._session() as s:
            self._job(s, job_id)
            rows = s.scalars(select(Artifact).where(Artifact.job_id == job_id).order_by(Artifact.id))
            return [ArtifactInfo(r.kind, r.path, r.step, r.attempt, r.created_at) for r in rows]

    # ------------------------------------------------------------------ mlflow
    def jobs_to_mirror(self) -> list[JobInfo]:
        q = self._listing(Job.spec_json, None).where(
            Job.mlflow_done.is_(False), Job.state != JobState.PENDING
        )
        with self._session() as s:
            return [job_info(r, r.experiment_name or "") for r in map(JobRow._make, s.execute(q))]

    def set_mlflow(self, job_id: str, attempt: int, **fields: Any) -> None:
        with self._session() as s, s.begin():
            s.execute(update(Job).where(Job.id == job_id, Job.attempt == attempt).values(**fields))
