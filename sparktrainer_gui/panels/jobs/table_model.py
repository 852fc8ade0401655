"""The jobs table: a QAbstractTableModel over a list of job ids plus a dict cache.

The cache is fed by the daemon: ``sync`` merges a full job list (on connect and
reconnect), ``upsert`` a job's view after any change, ``set_progress`` and
``add_metrics`` the stream's progress and eval points, ``set_health`` a worker's health
(a ``job_health`` event), ``remove`` a deleted job.
Rows are inserted, updated and removed in place (beginInsertRows/dataChanged/
beginRemoveRows): the model never resets."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("Name", "State", "Progress", "Device", "Started", "Duration", "Best eval loss")
NAME, STATE, PROGRESS, DEVICE, STARTED, DURATION, BEST = range(len(COLUMNS))

JOB_ID_ROLE = Qt.ItemDataRole.UserRole + 1
STATE_ROLE = Qt.ItemDataRole.UserRole + 2
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 3  # float 0..1
SORT_ROLE = Qt.ItemDataRole.UserRole + 4
JOB_ROLE = Qt.ItemDataRole.UserRole + 5  # the cached dict
HEALTH_ROLE = Qt.ItemDataRole.UserRole + 6  # the worker's health dict, or None while it is fine

STATE_ORDER = {s: i for i, s in enumerate(
    ("RUNNING", "QUEUED", "PENDING", "PAUSED", "FAILED", "CANCELLED", "COMPLETED"))}  # fmt: skip
PENDING_TEXT = {"pause": "Pausing…", "cancel": "Cancelling…"}
HEALTH_TEXT = {"unresponsive": "not responding", "stopped": "stopped"}


def health_of(job: dict[str, Any]) -> dict[str, Any] | None:
    """The daemon's ``health`` of a job's worker when something is wrong with it, else None."""
    health = job.get("health")
    return health if isinstance(health, dict) and health.get("status") else None


def health_text(health: dict[str, Any]) -> str:
    """``{"status": "unresponsive", …}`` → "not responding" (the daemon's word for others)."""
    status = str(health.get("status"))
    return HEALTH_TEXT.get(status, status)


def health_sentence(health: dict[str, Any]) -> str:
    """The worker's trouble for a person: since when, then the daemon's own sentence."""
    since = health.get("since")
    when = datetime.fromtimestamp(since).strftime("%H:%M:%S") if isinstance(since, int | float) else ""
    message = str(health.get("message") or "").strip()
    if not message:
        return f"The worker is {health_text(health)}" + (f" since {when}." if when else ".")
    return f"Since {when}, {message}" if when else message


def parse_time(iso: str | None) -> datetime | None:
    """The daemon's naive-UTC ISO strings ("2024-05-01T10:00:00.123Z") → aware datetimes."""
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso.rstrip("Z")).replace(tzinfo=UTC)
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
    local = dt.astimezone()
    now = (now or datetime.now(UTC)).astimezone()
    return local.strftime("%H:%M:%S") if local.date() == now.date() else local.strftime("%b %d %H:%M")


def duration_s(job: dict[str, Any]) -> float | None:
    start = parse_time(job.get("started_at"))
    if start is None:
        return None
    end = parse_time(job.get("finished_at"))
    if end is None and job.get("state") != "RUNNING":
        return None
    return ((end or datetime.now(UTC)) - start).total_seconds()


class JobsTableModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._ids: list[str] = []
        self._jobs: dict[str, dict[str, Any]] = {}
        self._rate: dict[str, tuple[float, int]] = {}  # job id -> (monotonic, step) where RUNNING began
        self._touched: set[str] = set()  # jobs changed by events since the last sync was requested

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
        job = self._jobs[self._ids[index.row()]]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(job, col)
        if role == JOB_ID_ROLE:
            return job["id"]
        if role == STATE_ROLE:
            return job.get("state")
        if role == PROGRESS_ROLE:
            return self._progress(job)
        if role == SORT_ROLE:
            return self._sort_key(job, col)
        if role == JOB_ROLE:
            return dict(job)
        if role == HEALTH_ROLE:
            return health_of(job)
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

    def job(self, job_id: str) -> dict[str, Any] | None:
        job = self._jobs.get(job_id)
        return dict(job) if job is not None else None

    def row_of(self, job_id: str) -> int:
        try:
            return self._ids.index(job_id)
        except ValueError:
            return -1

    # --------------------------------------------------------------- updates
    def begin_sync(self) -> None:
        """Call when a full list is requested: events that arrive before it lands win over it."""
        self._touched.clear()

    def sync(self, jobs: list[dict[str, Any]]) -> None:
        """Merge a full job list: update known rows, insert new ones, remove the missing."""
        incoming = {j["id"]: j for j in jobs}
        for row in reversed(range(len(self._ids))):
            job_id = self._ids[row]
            if job_id not in incoming and job_id not in self._touched:
                self._remove_row(row)
        for job in jobs:
            if job["id"] in self._touched and job["id"] in self._jobs:
                known = self._jobs[job["id"]]
                # An event's health (None: fine again) is newer than the list's, like its state.
                fresh = {
                    k: v for k, v in job.items() if known.get(k) is None and (k != "health" or k not in known)
                }
                self._merge(job["id"], fresh)
            else:
                self.upsert(job, _from_event=False)

    def upsert(self, job: dict[str, Any], _from_event: bool = True) -> None:
        job_id = job["id"]
        if _from_event:
            self._touched.add(job_id)
        if job_id in self._jobs:
            self._merge(job_id, job)
            return
        row = len(self._ids)
        self.beginInsertRows(QModelIndex(), row, row)
        self._ids.append(job_id)
        self._jobs[job_id] = {k: v for k, v in job.items() if k != "spec"}
        self._track_rate(self._jobs[job_id])
        self.endInsertRows()

    def set_progress(self, job_id: str, step: int, total: int) -> None:
        if job_id not in self._jobs:
            return
        changes: dict[str, Any] = {"step": step}
        if total:
            changes["total_steps"] = total
        self._merge(job_id, changes, columns=(PROGRESS, DURATION))

    def add_metrics(self, job_id: str, points: list[dict[str, Any]]) -> None:
        job = self._jobs.get(job_id)
        evals = [p["value"] for p in points if p.get("key") == "eval_loss" and p.get("value") is not None]
        if job is None or not evals:
            return
        best = min(evals) if job.get("best_eval_loss") is None else min(job["best_eval_loss"], *evals)
        if best != job.get("best_eval_loss"):
            self._merge(job_id, {"best_eval_loss": best}, columns=(BEST,))

    def set_health(self, job_id: str, health: dict[str, Any] | None) -> None:
        """A ``job_health`` event: the worker stopped responding, was stopped, or is fine again."""
        if job_id in self._jobs:
            self._touched.add(job_id)
            self._merge(job_id, {"health": health}, columns=(STATE,))

    def remove(self, job_id: str) -> None:
        row = self.row_of(job_id)
        if row >= 0:
            self._remove_row(row)

    def tick(self) -> None:
        """Refresh the Duration and Progress (ETA) cells of running jobs."""
        for row, job_id in enumerate(self._ids):
            if self._jobs[job_id].get("state") == "RUNNING":
                self.dataChanged.emit(self.index(row, PROGRESS), self.index(row, DURATION))

    # ------------------------------------------------------------- internals
    def _merge(self, job_id: str, changes: dict[str, Any], columns: tuple[int, ...] | None = None) -> None:
        job = self._jobs[job_id]
        old = (job.get("state"), job.get("attempt"))
        job.update({k: v for k, v in changes.items() if k != "spec"})
        if "health" not in changes and (job.get("state"), job.get("attempt")) != old:
            job["health"] = None  # a view without health after a state change: that worker is gone
        if "step" in changes or "total_steps" in changes:
            total = job.get("total_steps") or 0
            job["progress"] = (job.get("step") or 0) / total if total else 0.0
        if (job.get("state"), job.get("attempt")) != old:
            self._rate.pop(job_id, None)
        self._track_rate(job)
        row = self.row_of(job_id)
        first, last = (min(columns), max(columns)) if columns else (0, len(COLUMNS) - 1)
        self.dataChanged.emit(self.index(row, first), self.index(row, last))

    def _remove_row(self, row: int) -> None:
        self.beginRemoveRows(QModelIndex(), row, row)
        job_id = self._ids.pop(row)
        self._jobs.pop(job_id, None)
        self._rate.pop(job_id, None)
        self._touched.discard(job_id)
        self.endRemoveRows()

    def _track_rate(self, job: dict[str, Any]) -> None:
        if job.get("state") == "RUNNING" and job["id"] not in self._rate:
            self._rate[job["id"]] = (time.monotonic(), int(job.get("step") or 0))

    def eta_s(self, job: dict[str, Any]) -> float | None:
        if job.get("state") != "RUNNING" or not job.get("total_steps"):
            return None
        origin = self._rate.get(job["id"])
        if origin is not None:
            t0, s0 = origin
            done = int(job.get("step") or 0) - s0
            if done > 0 and time.monotonic() - t0 > 1.0:
                return (job["total_steps"] - job["step"]) * (time.monotonic() - t0) / done
        return job.get("eta_s")

    @staticmethod
    def _progress(job: dict[str, Any]) -> float:
        total = job.get("total_steps") or 0
        return min(1.0, (job.get("step") or 0) / total) if total else float(job.get("progress") or 0.0)

    def _display(self, job: dict[str, Any], col: int) -> str:
        if col == NAME:
            return job.get("name") or job["id"]
        if col == STATE:
            state = job.get("state") or "?"
            health = health_of(job)
            if health:  # what is wrong with the worker says more than "Running"
                return health_text(health).capitalize()
            if state == "RUNNING" and job.get("pending_action") in PENDING_TEXT:
                return PENDING_TEXT[job["pending_action"]]
            return state.capitalize()
        if col == PROGRESS:
            text = f"{100 * self._progress(job):.0f}%"
            eta = self.eta_s(job)
            return text + (f" · {fmt_duration(eta)} left" if eta is not None else "")
        if col == DEVICE:
            return ", ".join(job.get("devices") or []) or "–"
        if col == STARTED:
            return fmt_started(parse_time(job.get("started_at")))
        if col == DURATION:
            return fmt_duration(duration_s(job))
        best = job.get("best_eval_loss")
        return f"{best:.4f}" if isinstance(best, int | float) else "–"

    def _sort_key(self, job: dict[str, Any], col: int) -> Any:
        if col == STATE:
            return STATE_ORDER.get(job.get("state") or "", 99)
        if col == PROGRESS:
            return self._progress(job)
        if col == STARTED:
            return job.get("started_at") or job.get("created_at") or ""
        if col == DURATION:
            return duration_s(job) or 0.0
        if col == BEST:
            best = job.get("best_eval_loss")
            return best if isinstance(best, int | float) else float("inf")
        return self._display(job, col).lower()

    def _tooltip(self, job: dict[str, Any], col: int) -> str:
        if col == STATE:
            attempt = f" (attempt {job['attempt']})" if (job.get("attempt") or 1) > 1 else ""
            text = f"{job.get('state')}{attempt}: {job.get('reason') or ''}".rstrip(": ")
            health = health_of(job)
            return f"{text}\n{health_sentence(health)}" if health else text
        if col == NAME:
            return f"{job.get('name')}  ·  {job['id']}"
        if col == PROGRESS and job.get("total_steps"):
            return f"step {job.get('step') or 0} of {job['total_steps']} · {self._display(job, col)}"
        return self._display(job, col)
