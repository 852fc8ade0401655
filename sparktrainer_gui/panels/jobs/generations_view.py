"""The job detail's "Generations" tab: an sft job's answers to its eval prompts, step by step
(``GET /v1/jobs/{id}/generations`` through ``Client.generations``, on an ``ops.op``).

Loss alone says little about a chat model; reading what it answers to the same prompts at step
50, 100, 150... says whether it learns. One row per (step, prompt), newest step first, the output
in full in its tooltip and below the table when a row is selected. While the tab is shown it
reads the list again every few seconds (the worker appends a step's answers at each evaluation).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from sparktrainer_gui.ops import op
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.jobs import Generation, GenerationList

REFRESH_MS = 5000
EMPTY = "No generations yet: an sft job with eval prompts writes them at every evaluation."


class GenerationsView(QWidget):
    def __init__(self, conn: RuntimeConnection, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("generations")
        self.conn = conn
        self.job_id: str | None = None
        self.attempt: int | None = None
        self.generations: list[Generation] = []
        self.note = QLabel(EMPTY, self)
        self.note.setObjectName("generationsNote")
        self.note.setWordWrap(True)
        self.table = QTableWidget(0, 3, self)
        self.table.setObjectName("generationsTable")
        self.table.setHorizontalHeaderLabels(["Step", "Prompt", "Output"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(1, 220)
        self.output = QPlainTextEdit(self)
        self.output.setObjectName("generationOutput")
        self.output.setReadOnly(True)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.table)
        split.addWidget(self.output)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.note)
        lay.addWidget(split, 1)
        self.table.itemSelectionChanged.connect(self._on_table_selection_changed)
        self._timer = QTimer(self, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    def set_job(self, job_id: str | None, attempt: int | None = None) -> None:
        """Show ``job_id``'s generations (its latest attempt when ``attempt`` is None)."""
        if (job_id, attempt) != (self.job_id, self.attempt):
            self.job_id, self.attempt = job_id, attempt
            self.set_generations([])
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        if self.job_id is None:
            return
        job_id, attempt = self.job_id, self.attempt
        op(self.conn, self, self.conn.client.generations, job_id, attempt, what="read the generations") \
            .success(lambda got: self._on_client_generations(job_id, attempt, got)) \
            .failure(lambda err: self.note.setText(f"Could not read the generations: {err}")).run()  # fmt: skip

    def _on_client_generations(self, job_id: str, attempt: int | None, got: GenerationList) -> None:
        if (job_id, attempt) == (self.job_id, self.attempt) and got.generations != self.generations:
            self.set_generations(got.generations)

    def set_generations(self, generations: list[Generation]) -> None:
        """Rows newest step first, prompts in their order within a step."""
        self.generations = list(generations)
        ordered = sorted(enumerate(self.generations), key=lambda p: (-p[1].step, p[0]))
        self.table.setRowCount(len(ordered))
        for r, (_, g) in enumerate(ordered):
            for c, text in enumerate((f"{g.step:,}", g.prompt, g.output)):
                item = QTableWidgetItem(text.replace("\n", " ⏎ ") if c else text)
                item.setToolTip(text)
                self.table.setItem(r, c, item)
        steps = {g.step for g in self.generations}
        self.note.setText(
            f"{len(self.generations)} answers at {len(steps)} step(s); the newest step first."
            if self.generations else EMPTY
        )  # fmt: skip
        if ordered:
            self.table.selectRow(0)
        else:
            self.output.setPlainText("")

    @Slot()
    def _on_table_selection_changed(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        cells = [self.table.item(rows[0].row(), c) for c in range(3)] if rows else []
        if cells and all(c is not None for c in cells):
            step, prompt, out = (c.toolTip() for c in cells if c is not None)
            self.output.setPlainText(f"step {step} · {prompt}\n\n{out}")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._timer.start()
        self.refresh()

    def hideEvent(self, event) -> None:
        self._timer.stop()
        super().hideEvent(event)


__all__ = ["GenerationsView"]
