"""The jobs table: a QAbstractTableModel adapter over :class:`~sparktrainer_gui.state.jobs.JobsState`.

The state holds the rows (``JobRow`` views) and says what changed; this model keeps only the
row order (job ids) and turns the state's events into ``beginInsertRows``, ``dataChanged`` (the
changed fields' columns) and ``beginRemoveRows``: it never resets. What a cell says comes from
the contract: a state's display label, its ``is_terminal``, the devices' labels."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from sparktrainer_gui.state.jobs import JobChange, JobsState
from trainer_runtime.jobs.state import JobAction, JobState

if TYPE_CHECKING:
    from trainer_runtime.api.schema.jobs import HealthView, JobRow

Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("Name", "State", "Progress", "Device", "Started", "Duration", "Best eval loss")
NAME, STATE, PROGRESS, DEVICE, STARTED, DURATION, BEST = range(len(COLUMNS))

JOB_ID_ROLE = Qt.ItemDataRole.UserRole + 1
STATE_ROLE = Qt.ItemDataRole.UserRole + 2  # the JobState
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 3  # float 0..1
SORT_ROLE = Qt.ItemDataRole.UserRole + 4
JOB_ROLE = Qt.ItemDataRole.UserRole + 5  # the JobRow
HEALTH_ROLE = Qt.ItemDataRole.UserRole + 6  # the worker's HealthView, or None while it is fine

PENDING_TEXT = {JobAction.PAUSE: "Pausing…", JobAction.CANCEL: "Cancelling…"}
HEALTH_TEXT = {"unresponsive": "not responding", "stopped": "stopped"}  # HealthView.status, for a person
STATE_ORDER = {s: i for i, s in enumerate(JobState)}  # the machine's order

# Which columns show which fields of a row (a change repaints only those).
FIELD_COLUMNS: dict[str, tuple[int, ...]] = {
    "name": (NAME,), "id": (NAME,), "state": (STATE, PROGRESS, DURATION), "health": (STATE,),
    "pending_action": (STATE,), "reason": (STATE,), "attempt": (STATE,), "step": (PROGRESS,),
    "total_steps": (PROGRESS,), "progress": (PROGRESS,), "eta_s": (PROGRESS,), "devices": (DEVICE,),
    "device_info": (DEVICE,), "started_at": (STARTED, DURATION), "created_at": (STARTED,),
    "finished_at": (DURATION,), "best_eval_loss": (BEST,),
}  # fmt: skip


def health_text(health: HealthView) -> str:
    """The worker's trouble in a word or two ("not responding")."""
    return HEALTH_TEXT.get(health.status, health.status)


def health_sentence(health: HealthView) -> str:
    """The worker's trouble for a person: since when, then the daemon's own sentence."""
    when = datetime.fromtimestamp(health.since).strftime("%H:%M:%S") if health.since else ""
    message = health.message.strip()
    if not message:
        return f"The worker is {health_text(health)}" + (f" since {when}." if when else ".")
    return f"Since {when}, {message}" if when else message


def aware(dt: datetime | None) -> datetime | None:
    """A time from the daemon as an aware datetime (the daemon's times are UTC)."""
    if dt is None:
        return None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def parse_time(value: str | datetime | None) -> datetime | None:
    """A daemon time, a view's datetime or its naive-UTC ISO text ("…T10:00:00.123Z"), as an
    aware datetime (the Datasets panel reads its times with it too)."""
    if isinstance(value, datetime) or value is None:
        return aware(value)
    try:
        return datetime.fromisoformat(value.rstrip("Z")).replace(tzinfo=UTC)
    except ValueError:
        return None


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = int(max(0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def fmt_started(dt: datetime | None, now: datetime | None = None) -> str:
    if dt is None:
        return "–"
    local = aware(dt).astimezone()  # type: ignore[union-attr]
    now = (now or datetime.now(UTC)).astimezone()
    return local.strftime("%H:%M:%S") if local.date() == now.date() else local.strftime("%b %d %H:%M")


def duration_s(job: JobRow) -> float | None:
    start = aware(job.started_at)
    if start is None:
        return None
    end = aware(job.finished_at)
    if end is None and job.state is not JobState.RUNNING:
        return None
    return ((end or datetime.now(UTC)) - start).total_seconds()


def state_text(job: JobRow) -> str:
    """What the state cell says: the worker's trouble, a requested action, or the state's label."""
    if job.health is not None:  # what is wrong with the worker says more than "Running"
        return health_text(job.health).capitalize()
    if job.pending_action is not None and not job.is_terminal:  # asked of the worker, not done yet
        return PENDING_TEXT.get(JobAction(job.pending_action), job.state.label)
    return job.state.label


def device_text(job: JobRow) -> str:
    """The devices' labels ("GPU 0 · 2g.20gb"), their ids until the labels are known."""
    return job.device_label or ", ".join(job.devices) or "–"


class JobsTableModel(QAbstractTableModel):
    def __init__(self, state: JobsState | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state if state is not None else JobsState()
        self._ids: list[str] = list(self.state.ids())
        self._rows: dict[str, int] = {j: i for i, j in enumerate(self._ids)}
        self.state.added.connect(self._on_state_added)
        self.state.changed.connect(self._on_state_changed)
        self.state.removed.connect(self._on_state_removed)

    # ---------------------------------------------------------------- Qt API
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.TextAlignmentRole:
                h = Qt.AlignmentFlag.AlignRight if section in (DURATION, BEST) else Qt.AlignmentFlag.AlignLeft
                return int(h | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._ids) or index.column() >= len(COLUMNS):
            return None
        job = self.state.get(self._ids[index.row()])
        if job is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(job, col)
        if role == JOB_ID_ROLE:
            return job.id
        if role == STATE_ROLE:
            return job.state
        if role == PROGRESS_ROLE:
            return self._progress(job)
        if role == SORT_ROLE:
            return self._sort_key(job, col)
        if role == JOB_ROLE:
            return job
        if role == HEALTH_ROLE:
            return job.health
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(job, col)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            right = col in (DURATION, BEST)
            h = Qt.AlignmentFlag.AlignRight if right else Qt.AlignmentFlag.AlignLeft
            return int(h | Qt.AlignmentFlag.AlignVCenter)
        return None

    # ------------------------------------------------------------- accessors
    def job_ids(self) -> list[str]:
        return list(self._ids)

    def job(self, job_id: str) -> JobRow | None:
        return self.state.get(job_id)

    def row_of(self, job_id: str) -> int:
        return self._rows.get(job_id, -1)

    def tick(self) -> None:
        """Refresh the Duration and Progress (ETA) cells of running jobs."""
        for row, job_id in enumerate(self._ids):
            job = self.state.get(job_id)
            if job is not None and job.state is JobState.RUNNING:
                self.dataChanged.emit(self.index(row, PROGRESS), self.index(row, DURATION))

    # ------------------------------------------------------------ state events
    def _on_state_added(self, job: JobRow) -> None:
        row = len(self._ids)
        self.beginInsertRows(QModelIndex(), row, row)
        self._ids.append(job.id)
        self._rows[job.id] = row
        self.endInsertRows()

    def _on_state_changed(self, change: JobChange) -> None:
        row = self.row_of(change.job.id)
        if row < 0:
            return
        columns = [c for f in change.fields for c in FIELD_COLUMNS.get(f, ())]
        if columns:
            self.dataChanged.emit(self.index(row, min(columns)), self.index(row, max(columns)))

    def _on_state_removed(self, job_id: str) -> None:
        row = self.row_of(job_id)
        if row < 0:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        self._ids.pop(row)
        self._rows = {j: i for i, j in enumerate(self._ids)}
        self.endRemoveRows()

    # ------------------------------------------------------------- cells
    @staticmethod
    def _progress(job: JobRow) -> float:
        return min(1.0, job.step / job.total_steps) if job.total_steps else job.progress

    def _display(self, job: JobRow, col: int) -> str:
        if col == NAME:
            return job.name or job.id
        if col == STATE:
            return state_text(job)
        if col == PROGRESS:
            text = f"{100 * self._progress(job):.0f}%"
            eta = self.state.eta_s(job)
            return text + (f" · {fmt_duration(eta)} left" if eta is not None else "")
        if col == DEVICE:
            return device_text(job)
        if col == STARTED:
            return fmt_started(job.started_at)
        if col == DURATION:
            return fmt_duration(duration_s(job))
        best = job.best_eval_loss
        return f"{best:.4f}" if best is not None else "–"

    def _sort_key(self, job: JobRow, col: int) -> Any:
        if col == STATE:  # live before finished, a running job first, then the machine's order
            return (job.is_terminal, job.state is not JobState.RUNNING, STATE_ORDER[job.state])
        if col == PROGRESS:
            return self._progress(job)
        if col == STARTED:
            return (job.started_at or job.created_at).isoformat()
        if col == DURATION:
            return duration_s(job) or 0.0
        if col == BEST:
            return job.best_eval_loss if job.best_eval_loss is not None else float("inf")
        return self._display(job, col).lower()

    def _tooltip(self, job: JobRow, col: int) -> str:
        if col == STATE:
            attempt = f" (attempt {job.attempt})" if job.attempt > 1 else ""
            text = f"{job.state.label}{attempt}: {job.reason or ''}".rstrip(": ")
            if job.waiting_for:
                text += f"\n{job.waiting_for}"
            return f"{text}\n{health_sentence(job.health)}" if job.health else text
        if col == NAME:
            return f"{job.name}  ·  {job.id}"
        if col == PROGRESS and job.total_steps:
            return f"step {job.step} of {job.total_steps} · {self._display(job, col)}"
        if col == DEVICE and job.device_info:
            return "\n".join(f"{d.label}  ·  {d.id}" for d in job.device_info)
        return self._display(job, col)
