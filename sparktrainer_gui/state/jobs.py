"""The GUI's jobs: one plain object holding the daemon's job rows by id, fed by the event stream.

Three kinds of news reach it, and each is the whole truth about what it carries:

- a full list (``JobRow`` each, on connect and reconnect: ``begin_sync`` then ``sync``);
- a job's record from a ``job_state`` event (``JobRecord``: the stored job, without what only
  the daemon's live view has: ETA, best eval loss, the devices' labels, the job dir);
- partial news: progress, a worker's health, metric points (best eval loss).

It tells its listeners through typed events (:class:`Emitter`): ``added`` (a row), ``changed``
(the row and the names of the fields that changed), ``removed`` (the id) and ``metrics_added``.
The jobs table is an adapter over it. No Qt here: ``tests/unit/test_gui_jobs_state.py`` drives
it without a QApplication.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from sparktrainer_gui.state.evented import Emitter
from trainer_runtime.jobs.state import JobState

if TYPE_CHECKING:  # the views are imported when the first one arrives (after the first paint)
    from trainer_runtime.api.schema.jobs import HealthView, JobRecord, JobRow, JobView, MetricPoint

LIVE_FIELDS = ("eta_s", "best_eval_loss", "job_dir", "device_info", "waiting_for")  # the daemon's view only
BEST_KEY = "eval_loss"  # the metric behind the table's "Best eval loss"


@dataclass(frozen=True)
class JobChange:
    """A known job's row after a change, and which of its fields changed."""

    job: JobRow
    fields: frozenset[str]


@dataclass(frozen=True)
class MetricsAdded:
    job_id: str
    attempt: int
    points: list[MetricPoint]


@dataclass
class _Rate:
    """Where a running attempt's rate is measured from (monotonic time, step)."""

    t0: float
    s0: int


@cache
def record_fields() -> tuple[str, ...]:
    """What a ``job_state`` event says of a job (its record, less the spec)."""
    from trainer_runtime.api.schema.jobs import JobRecord

    return tuple(k for k in JobRecord.model_fields if k != "spec")


@cache
def row_fields() -> tuple[str, ...]:
    from trainer_runtime.api.schema.jobs import JobRow

    return tuple(JobRow.model_fields)


def as_row(view: JobRow) -> JobRow:
    """A job's row from a row or a full view (``JobView`` adds its spec and metric summaries)."""
    from trainer_runtime.api.schema.jobs import JobRow

    if type(view) is JobRow:
        return view
    return JobRow.model_construct(**{k: getattr(view, k) for k in row_fields()})


def row_from_record(record: JobRecord) -> JobRow:
    """A row for a job first seen in an event: what only the daemon's view has is left empty
    (``needs_view`` says so) until that view is read."""
    from trainer_runtime.api.schema.jobs import JobRow

    fields = {k: getattr(record, k) for k in record_fields()}
    return JobRow.model_construct(
        **fields,
        progress=_progress(record.step, record.total_steps),
        eta_s=None,
        best_eval_loss=None,
        job_dir="",
        device_info=[],
        waiting_for=None,
    )


Update = dict[str, Any]  # fields of a view, as an event tells them


def record_update(record: JobRecord | JobView) -> Update:
    """What a ``job_state`` event (or an action's answer) says of a job, as an update of its
    view (the job detail keeps the whole ``JobView``)."""
    return {**{k: getattr(record, k) for k in record_fields()}, "spec": record.spec}


def merge_view(job: JobView, update: Update) -> JobView:
    """A job's view with a newer (partial) view of it applied; its progress follows the steps."""
    if "step" in update or "total_steps" in update:
        step, total = update.get("step", job.step), update.get("total_steps", job.total_steps)
        update = {**update, "progress": _progress(step, total)}
    return job.model_copy(update=update)


def needs_view(row: JobRow) -> bool:
    """Whether the row lacks what only the daemon's view of the job has: its job dir (a job
    made from an event) or the labels of devices it was placed on since."""
    return not row.job_dir or {d.id for d in row.device_info} != set(row.devices)


def _progress(step: int, total: int) -> float:
    return min(1.0, step / total) if total else 0.0


@dataclass
class JobsState:
    """The jobs the GUI knows, in the order it first saw them."""

    clock: Callable[[], float] = time.monotonic
    added: Emitter[JobRow] = field(default_factory=Emitter)
    changed: Emitter[JobChange] = field(default_factory=Emitter)
    removed: Emitter[str] = field(default_factory=Emitter)
    metrics_added: Emitter[MetricsAdded] = field(default_factory=Emitter)

    def __post_init__(self) -> None:
        self._jobs: dict[str, JobRow] = {}
        self._touched: set[str] = set()  # jobs changed by events since the last list was asked for
        self._rate: dict[str, _Rate] = {}

    # ---------------------------------------------------------------- reading
    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._jobs

    def __iter__(self) -> Iterator[JobRow]:
        return iter(list(self._jobs.values()))

    def get(self, job_id: str) -> JobRow | None:
        return self._jobs.get(job_id)

    def ids(self) -> list[str]:
        return list(self._jobs)

    def name_of(self, job_id: str) -> str:
        job = self._jobs.get(job_id)
        return job.name if job is not None and job.name else job_id

    def eta_s(self, job: JobRow) -> float | None:
        """Seconds left for a running job: from the rate seen here once it has run a second,
        else the daemon's estimate."""
        if job.state is not JobState.RUNNING or not job.total_steps:
            return None
        origin = self._rate.get(job.id)
        if origin is not None:
            done, spent = job.step - origin.s0, self.clock() - origin.t0
            if done > 0 and spent > 1.0:
                return (job.total_steps - job.step) * spent / done
        return job.eta_s

    # ---------------------------------------------------------------- news
    def begin_sync(self) -> None:
        """A full list was asked for: events that arrive before it lands win over it."""
        self._touched.clear()

    def sync(self, rows: list[JobRow]) -> None:
        """Merge a full list: known rows updated, new ones added, the missing removed (unless an
        event told of them after the list was asked for)."""
        incoming = {r.id: r for r in rows}
        for job_id in list(self._jobs):
            if job_id not in incoming and job_id not in self._touched:
                self.remove(job_id)
        for row in rows:
            known = self._jobs.get(row.id)
            if known is not None and row.id in self._touched:
                # The event is newer than the list in what it carries; take the rest from the list.
                self._replace(known, self._live_fields(known, row))
            else:
                self.upsert(row, from_event=False)

    def upsert(self, view: JobRow, from_event: bool = True) -> None:
        """A job's row or full view (``client.job``, an action's answer)."""
        row = as_row(view)
        if from_event:
            self._touched.add(row.id)
        known = self._jobs.get(row.id)
        if known is None:
            self._add(row)
        else:
            self._replace(known, {k: getattr(row, k) for k in row_fields()})

    def apply_record(self, record: JobRecord) -> bool:
        """A ``job_state`` event. Returns whether the job's row now needs the daemon's view
        (``needs_view``: a new job, or one placed on devices whose labels are not known here)."""
        self._touched.add(record.id)
        known = self._jobs.get(record.id)
        if known is None:
            row = row_from_record(record)
            self._add(row)
            return needs_view(row)
        update: dict[str, object] = {k: getattr(record, k) for k in record_fields()}
        update["progress"] = _progress(record.step, record.total_steps)
        if record.attempt != known.attempt:
            update.update(eta_s=None, job_dir="", best_eval_loss=None)
        if record.state is not JobState.RUNNING:
            update["eta_s"] = None
        if record.state is not JobState.QUEUED:
            update["waiting_for"] = None
        if list(record.devices) != list(known.devices):
            update["device_info"] = [d for d in known.device_info if d.id in record.devices]
        return needs_view(self._replace(known, update))

    def fill_live(self, view: JobRow) -> None:
        """What only the daemon's view has (device labels, job dir, ETA), from a view read after
        an event asked for it (``apply_record``); the rest of the row stays as the events left it,
        as an event may have come after the view was read."""
        known = self._jobs.get(view.id)
        if known is not None:
            self._replace(known, self._live_fields(known, as_row(view)))

    def set_progress(self, job_id: str, step: int, total: int) -> None:
        known = self._jobs.get(job_id)
        if known is None:
            return
        total = total or known.total_steps
        self._replace(known, {"step": step, "total_steps": total, "progress": _progress(step, total)})

    def set_health(self, job_id: str, health: HealthView | None) -> None:
        """A ``job_health`` event: the worker stopped responding, was stopped, or is fine again."""
        known = self._jobs.get(job_id)
        if known is not None:
            self._touched.add(job_id)
            self._replace(known, {"health": health})

    def add_metrics(self, job_id: str, attempt: int, points: list[MetricPoint]) -> None:
        """Live metric points: the best eval loss follows; listeners get the points."""
        known = self._jobs.get(job_id)
        evals = [p.value for p in points if p.key == BEST_KEY]
        if known is not None and evals and attempt == known.attempt:
            best = min(evals) if known.best_eval_loss is None else min(known.best_eval_loss, *evals)
            if best != known.best_eval_loss:
                self._replace(known, {"best_eval_loss": best})
        self.metrics_added.emit(MetricsAdded(job_id, attempt, points))

    def remove(self, job_id: str) -> None:
        if self._jobs.pop(job_id, None) is None:
            return
        self._rate.pop(job_id, None)
        self._touched.discard(job_id)
        self.removed.emit(job_id)

    # ---------------------------------------------------------------- internals
    @staticmethod
    def _live_fields(known: JobRow, listed: JobRow) -> dict[str, object]:
        """What a (possibly older) list row adds to a row an event has updated since."""
        update: dict[str, object] = {"eta_s": listed.eta_s}
        if listed.attempt == known.attempt:
            update["job_dir"] = listed.job_dir
            if known.best_eval_loss is None:
                update["best_eval_loss"] = listed.best_eval_loss
        if set(listed.devices) == set(known.devices):
            update["device_info"] = listed.device_info
        if listed.state is known.state:
            update["waiting_for"] = listed.waiting_for
        return update

    def _add(self, row: JobRow) -> None:
        self._jobs[row.id] = row
        self._track_rate(None, row)
        self.added.emit(row)

    def _replace(self, known: JobRow, update: dict[str, object]) -> JobRow:
        changed = frozenset(k for k, v in update.items() if getattr(known, k) != v)
        if not changed:
            return known
        row = known.model_copy(update={k: update[k] for k in changed})
        self._jobs[row.id] = row
        self._track_rate(known, row)
        self.changed.emit(JobChange(row, changed))
        return row

    def _track_rate(self, old: JobRow | None, row: JobRow) -> None:
        if old is not None and (old.state, old.attempt) != (row.state, row.attempt):
            self._rate.pop(row.id, None)
        if row.state is JobState.RUNNING and row.id not in self._rate:
            self._rate[row.id] = _Rate(self.clock(), row.step)


__all__ = [
    "JobChange",
    "JobsState",
    "MetricsAdded",
    "Update",
    "as_row",
    "merge_view",
    "needs_view",
    "record_fields",
    "record_update",
    "row_from_record",
]
