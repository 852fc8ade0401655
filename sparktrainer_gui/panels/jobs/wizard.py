"""New-job wizard (interface placeholder; being built)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QWidget

from sparktrainer_gui.runtime import RuntimeConnection


class NewJobWizard(QDialog):
    job_submitted = Signal(str)  # the new job's id

    def __init__(self, conn: RuntimeConnection, parent: QWidget | None = None):
        super().__init__(parent)
        self.conn = conn
