"""Job detail (interface placeholder; being built)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from sparktrainer_gui.runtime import RuntimeConnection


class JobDetail(QWidget):
    """Everything about one job: live curves, log, checkpoints, spec, history, controls."""

    def __init__(self, conn: RuntimeConnection, parent: QWidget | None = None):
        super().__init__(parent)
        self.conn = conn
        self.job_id: str | None = None
        QVBoxLayout(self).addWidget(QLabel("Select a job"))

    def show_job(self, job_id: str | None) -> None:
        self.job_id = job_id
