"""A job's log: loaded from offset 0 page by page, then tailed live; find, copy, auto-scroll.

``log_added`` events carry text from the daemon's own read cursor, which does not
line up with the offset this view has loaded up to. So the event is used as a
wake-up: the view asks ``client.logs(job, offset)`` for what follows its own
offset (one call in flight at a time, an ``op`` bound to this view), and the log is never
doubled or gapped."""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QColor, QFont, QGuiApplication, QTextCharFormat, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from sparktrainer_gui.ops import op
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.jobs import LogChunk

log = logging.getLogger(__name__)
MAX_LINES = 200_000  # older lines scroll out of the view (the file keeps them)
MAX_HIGHLIGHTS = 2_000


class LogView(QWidget):
    text_appended = Signal(int)  # characters appended
    load_failed = Signal(str)

    def __init__(self, conn: RuntimeConnection, parent: QWidget | None = None):
        super().__init__(parent)
        self.conn = conn
        self.job_id: str | None = None
        self.attempt = 1
        self.offset = 0
        self._gen = 0
        self._busy = False
        self._again = False
        self._matches: list[QTextCursor] = []
        self._current = -1

        self.text = QPlainTextEdit(objectName="log_text")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setMaximumBlockCount(MAX_LINES)
        mono = QFont("DejaVu Sans Mono")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSize(9)
        self.text.setFont(mono)
        self.find = QLineEdit(objectName="log_find")
        self.find.setPlaceholderText("Find in log")
        self.find.setClearButtonEnabled(True)
        self.prev_button = QPushButton("Previous")
        self.next_button = QPushButton("Next")
        self.matches_label = QLabel("")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the selection, or the whole log when nothing is selected")
        bar = QHBoxLayout()
        bar.addWidget(self.find, 1)
        bar.addWidget(self.prev_button)
        bar.addWidget(self.next_button)
        bar.addWidget(self.matches_label)
        bar.addStretch(0)
        bar.addWidget(self.copy_button)
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.addLayout(bar)
        root.addWidget(self.text, 1)

        self.find.textChanged.connect(self._on_find_text_changed)
        self.find.returnPressed.connect(self._on_next_button_clicked)
        self.next_button.clicked.connect(self._on_next_button_clicked)
        self.prev_button.clicked.connect(self._on_prev_button_clicked)
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        conn.log_added.connect(self._on_conn_log_added)

    # ------------------------------------------------------------- loading
    def load(self, job_id: str | None, attempt: int = 1) -> None:
        self._gen += 1
        self.job_id, self.attempt, self.offset = job_id, attempt, 0
        self._busy = self._again = False
        self.text.clear()
        self._matches, self._current = [], -1
        self.matches_label.setText("")
        if job_id is not None:
            self._fetch()

    def poll(self) -> None:
        """Fetch whatever follows the loaded offset (e.g. once more after the job ended)."""
        if self.job_id is not None:
            self._fetch()

    def _fetch(self) -> None:
        if self._busy:
            self._again = True
            return
        self._busy = True
        gen = self._gen
        op(self.conn, self, self.conn.client.logs, self.job_id, self.offset, self.attempt, what="read the log") \
            .success(lambda r: self._on_chunk(gen, r)).failure(lambda e: self._on_error(gen, e)).run()  # fmt: skip

    def _on_chunk(self, gen: int, reply: LogChunk) -> None:
        if gen != self._gen:
            return
        self._busy = False
        text = reply.text
        self.offset = reply.offset
        if text:
            self.append_text(text)
        if text or self._again:  # more may follow: page on until the end of the file
            self._again = False
            self._fetch()

    def _on_error(self, gen: int, err: Exception) -> None:
        if gen != self._gen:
            return
        self._busy = False
        log.warning("reading the log of %s failed", self.job_id, exc_info=err)
        self.load_failed.emit(f"Could not read the log of this job: {err}.")

    @Slot(str, str)
    def _on_conn_log_added(self, job_id: str, _text: str) -> None:
        if job_id == self.job_id:
            self._fetch()

    def append_text(self, text: str) -> None:
        bar = self.text.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        cursor = QTextCursor(self.text.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text.replace("\r\n", "\n").replace("\r", "\n"))
        if at_end:
            bar.setValue(bar.maximum())
        self.text_appended.emit(len(text))

    # ---------------------------------------------------------------- find
    @Slot(str)
    def _on_find_text_changed(self, needle: str) -> None:
        self._highlight(needle)
        if self._matches:
            self._select(0)

    @Slot()
    def _on_next_button_clicked(self) -> None:
        self._step(+1)

    @Slot()
    def _on_prev_button_clicked(self) -> None:
        self._step(-1)

    def _step(self, direction: int) -> None:
        needle = self.find.text()
        if not needle:
            return
        self._highlight(needle)  # the log may have grown since
        if self._matches:
            self._select((self._current + direction) % len(self._matches))

    def _highlight(self, needle: str) -> None:
        doc: QTextDocument = self.text.document()
        self._matches = []
        cursor = QTextCursor(doc)
        while needle and len(self._matches) < MAX_HIGHLIGHTS:
            cursor = doc.find(needle, cursor)
            if cursor.isNull():
                break
            self._matches.append(QTextCursor(cursor))
        if self._current >= len(self._matches):
            self._current = -1
        self._paint_matches()

    def _select(self, index: int) -> None:
        self._current = index
        self.text.setTextCursor(self._matches[index])
        self.text.ensureCursorVisible()
        self._paint_matches()

    def _paint_matches(self) -> None:
        fmt, cur_fmt = QTextCharFormat(), QTextCharFormat()
        fmt.setBackground(QColor("#fff2a8"))
        cur_fmt.setBackground(QColor("#ffb340"))
        selections = []
        for i, c in enumerate(self._matches):
            sel = QTextEdit.ExtraSelection()
            sel.cursor = c
            sel.format = cur_fmt if i == self._current else fmt
            selections.append(sel)
        self.text.setExtraSelections(selections)
        n = len(self._matches)
        more = "+" if n >= MAX_HIGHLIGHTS else ""
        if not self.find.text():
            self.matches_label.setText("")
        elif n == 0:
            self.matches_label.setText("no matches")
        else:
            self.matches_label.setText(f"{self._current + 1 if self._current >= 0 else 0} of {n}{more}")

    @property
    def match_count(self) -> int:
        return len(self._matches)

    @Slot()
    def _on_copy_button_clicked(self) -> None:
        selected = self.text.textCursor().selectedText().replace("\u2029", "\n")
        QGuiApplication.clipboard().setText(selected or self.text.toPlainText())
