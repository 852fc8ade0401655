"""Settings panel (interface placeholder; being built)."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from sparktrainer_gui.runtime import RuntimeConnection


class SettingsPanel(QWidget):
    title = "Settings"
    icon = "settings"

    def __init__(self, conn: RuntimeConnection, parent: QWidget | None = None):
        super().__init__(parent)
        self.conn = conn
