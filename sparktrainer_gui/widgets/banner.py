"""The banner across the top of the window when the runtime is not there: the connection
was lost, or the daemon refused to start (its sentence shown whole: plain text, wrapped,
selectable so it can be copied), with a line saying what happens next and a Retry button."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QVBoxLayout, QWidget

from sparktrainer_gui import theme

# A message longer than this (a log tail rather than a sentence) shows its first line, and
# "Details…" opens the whole text.
MAX_SHOWN_LINES = 4
MAX_SHOWN_CHARS = 1500


def summary_of(text: str) -> tuple[str, bool]:
    """(what the banner shows, whether the rest is behind "Details…")."""
    lines = text.strip().splitlines() or [""]
    if len(lines) <= MAX_SHOWN_LINES and len(text) <= MAX_SHOWN_CHARS:
        return text.strip(), False
    return lines[0][:MAX_SHOWN_CHARS].rstrip(":") + " (see Details…)", True


def _plain_label(parent: QWidget, name: str) -> QLabel:
    label = QLabel(parent)
    label.setObjectName(name)
    label.setTextFormat(Qt.TextFormat.PlainText)  # a path or a "<…>" in a sentence stays text
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class Banner(QFrame):
    retry_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(14, 8, 10, 8)
        lay.setSpacing(10)
        self.icon = QLabel(self)
        self.title = QLabel(self)
        self.title.setObjectName("bannerTitle")
        self.title.setStyleSheet("font-weight: 600;")
        self.message = _plain_label(self, "bannerMessage")
        self.hint = _plain_label(self, "bannerHint")
        self.hint.setStyleSheet("color: palette(placeholder-text);")
        texts = QVBoxLayout()
        texts.setSpacing(2)
        texts.addWidget(self.title)
        texts.addWidget(self.message)
        texts.addWidget(self.hint)
        self.retry = QPushButton("Retry now", self)
        self.retry.setObjectName("bannerButton")
        self.retry.clicked.connect(self.retry_requested)
        self.details = QPushButton("Details…", self)
        self.details.clicked.connect(self._on_details_clicked)
        self.details.hide()
        self.full_text = ""
        lay.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        lay.addLayout(texts, 1)
        lay.addWidget(self.details, 0, Qt.AlignmentFlag.AlignTop)
        lay.addWidget(self.retry, 0, Qt.AlignmentFlag.AlignTop)
        theme.notifier.theme_changed.connect(self._on_theme_changed)
        self._on_theme_changed(theme.current_theme())
        self.hide()

    def show_message(self, text: str, title: str = "", hint: str = "") -> None:
        self.title.setText(title)
        self.title.setVisible(bool(title))
        self.full_text = text.replace("\x00", "")
        shown, more = summary_of(self.full_text)
        self.message.setText(shown)
        self.details.setVisible(more)
        self.set_hint(hint)
        self.retry.setEnabled(True)
        self.show()

    def set_hint(self, hint: str) -> None:
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))

    @Slot()
    def _on_details_clicked(self) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Warning, self.title.text() or "SparkTrainer", self.message.text(),
                          QMessageBox.StandardButton.Close, self)  # fmt: skip
        box.setDetailedText(self.full_text)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.details_box = box
        return box

    @Slot(str)
    def _on_theme_changed(self, _resolved: str) -> None:
        self.icon.setPixmap(theme.icon("warning", theme.colors()["error"]).pixmap(18, 18))
