"""The banner across the top of the window when the runtime connection is lost."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from sparktrainer_gui import theme


class Banner(QFrame):
    retry_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(14, 8, 10, 8)
        lay.setSpacing(10)
        self.icon = QLabel(self)
        self.message = QLabel(self)
        self.message.setObjectName("bannerMessage")
        self.message.setWordWrap(True)
        self.retry = QPushButton("Retry now", self)
        self.retry.setObjectName("bannerButton")
        self.retry.clicked.connect(self.retry_requested)
        lay.addWidget(self.icon)
        lay.addWidget(self.message, 1)
        lay.addWidget(self.retry)
        theme.notifier.theme_changed.connect(self._on_theme_changed)
        self._on_theme_changed(theme.current_theme())
        self.hide()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.retry.setEnabled(True)
        self.show()

    @Slot(str)
    def _on_theme_changed(self, _resolved: str) -> None:
        self.icon.setPixmap(theme.icon("warning", theme.colors()["FAILED"]).pixmap(18, 18))
