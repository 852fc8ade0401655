"""Tell the user when a job finishes while they are looking elsewhere.

The main window owns one :class:`JobFinishedNotifier`; it listens to
``conn.job_changed`` itself. When a job enters COMPLETED, FAILED or CANCELLED and
the window is not the active one, it shows a tray message (if the desktop has a
system tray), else it posts a status-bar sentence through ``status_posted``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QApplication, QSystemTrayIcon, QWidget

from sparktrainer_gui.panels.jobs.table_model import parse_time
from trainer_runtime.jobs.state import TERMINAL as TERMINAL_STATES

TERMINAL = frozenset(str(s) for s in TERMINAL_STATES)  # the runtime's rule, as the wire's strings
RECENT_S = 60.0  # a finish we did not see happen still counts when it is this fresh
MESSAGE_MS = 8000


def finish_message(job: dict[str, Any]) -> tuple[str, str]:
    name = job.get("name") or job.get("id", "a job")
    state = job.get("state", "")
    title = {"COMPLETED": "Training finished", "FAILED": "Training failed", "CANCELLED": "Training cancelled"}
    body = f"{name}: {state.lower()}"
    if job.get("reason"):
        body += f" — {job['reason']}"
    return title.get(state, "Job finished"), body


class JobFinishedNotifier(QObject):
    job_finished = Signal(dict)  # every job that finished, active window or not
    status_posted = Signal(str, int)  # sentence, timeout ms (when there is no tray)

    def __init__(
        self,
        conn: QObject,
        window: QWidget | None = None,
        tray: QSystemTrayIcon | None = None,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.window = window
        self.tray = tray
        self._states: dict[str, str] = {}
        conn.job_changed.connect(self._on_conn_job_changed)  # type: ignore[attr-defined]

    def _tray(self) -> QSystemTrayIcon | None:
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return None
        if self.tray is None:
            icon = self.window.windowIcon() if self.window else QApplication.windowIcon()
            self.tray = QSystemTrayIcon(icon, self)
        if not self.tray.isVisible():
            self.tray.show()
        return self.tray

    @Slot(dict)
    def _on_conn_job_changed(self, job: dict[str, Any]) -> None:
        job_id, state = job.get("id"), job.get("state")
        if not job_id or not state:
            return
        before = self._states.get(job_id)
        self._states[job_id] = state
        if state not in TERMINAL or before in TERMINAL:
            return
        if before is None and not _recent(job.get("finished_at")):
            return  # an old job whose view changed (e.g. its MLflow run caught up)
        self.job_finished.emit(job)
        if self.window is not None and self.window.isActiveWindow():
            return
        title, body = finish_message(job)
        tray = self._tray()
        if tray is not None:
            icon = (
                QSystemTrayIcon.MessageIcon.Critical
                if state == "FAILED"
                else QSystemTrayIcon.MessageIcon.Information
            )
            tray.showMessage(title, body, icon, MESSAGE_MS)
        else:
            self.status_posted.emit(f"{title}: {body}", MESSAGE_MS)


def _recent(iso: str | None) -> bool:
    at = parse_time(iso)
    if at is None:
        return True
    return (datetime.now(UTC) - at).total_seconds() < RECENT_S
