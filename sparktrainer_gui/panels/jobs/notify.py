"""Tell the user when a job finishes while they are looking elsewhere.

The main window owns one :class:`JobFinishedNotifier`; it listens to
``conn.job_changed`` itself. When a job enters a terminal state (the contract's
``is_terminal``) and the window is not the active one, it shows a tray message (if the desktop has a
system tray), else it posts a status-bar sentence through ``status_posted``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QApplication, QSystemTrayIcon, QWidget

from sparktrainer_gui.panels.jobs.table_model import aware
from trainer_runtime.jobs.state import JobState

if TYPE_CHECKING:
    from trainer_runtime.api.schema.jobs import JobRecord

TITLES = {JobState.COMPLETED: "Training finished", JobState.FAILED: "Training failed",
          JobState.CANCELLED: "Training cancelled"}  # fmt: skip
RECENT_S = 60.0  # a finish we did not see happen still counts when it is this fresh
MESSAGE_MS = 8000


def finish_message(job: JobRecord) -> tuple[str, str]:
    body = f"{job.name or job.id}: {job.state.label.lower()}"
    if job.reason:
        body += f" — {job.reason}"
    return TITLES.get(job.state, "Job finished"), body


class JobFinishedNotifier(QObject):
    job_finished = Signal(object)  # every JobRecord that finished, active window or not
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
        self._terminal: dict[str, bool] = {}  # job id -> whether it was finished when last seen
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

    @Slot(object)
    def _on_conn_job_changed(self, job: JobRecord) -> None:
        before = self._terminal.get(job.id)
        self._terminal[job.id] = job.is_terminal
        if not job.is_terminal or before:
            return
        if before is None and not _recent(job.finished_at):
            return  # an old job whose view changed (e.g. its MLflow run caught up)
        self.job_finished.emit(job)
        if self.window is not None and self.window.isActiveWindow():
            return
        title, body = finish_message(job)
        tray = self._tray()
        if tray is not None:
            icon = (
                QSystemTrayIcon.MessageIcon.Critical
                if job.state is JobState.FAILED
                else QSystemTrayIcon.MessageIcon.Information
            )
            tray.showMessage(title, body, icon, MESSAGE_MS)
        else:
            self.status_posted.emit(f"{title}: {body}", MESSAGE_MS)


def _recent(finished_at: datetime | None) -> bool:
    at = aware(finished_at)
    if at is None:
        return True
    return (datetime.now(UTC) - at).total_seconds() < RECENT_S
