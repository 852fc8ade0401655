""" "Train…": a small dialog that saves the graph into the data folder and submits a
job training that graph file through the daemon (off the main thread; the registry gives a
``model.graph`` spec its recipe). The daemon validates the
spec; its sentence is shown in the dialog when it refuses."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from sparktrainer_gui.ops import op
from sparktrainer_gui.panels.builder.editor import GraphEditor
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.jobs import JobView


def graph_spec(
    name: str, graph_file: Path, dataset: str, steps: int, batch_size: int, lr: float
) -> dict[str, Any]:
    return {
        "name": name,
        "model": {"graph": str(graph_file)},
        "dataset": {"path": dataset},
        "train": {"max_steps": steps, "batch_size": batch_size, "lr": lr, "eval_every": max(1, steps // 10)},
    }


def safe_name(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "graph-model"
    return cleaned[:60]


class TrainDialog(QDialog):
    job_submitted = Signal(str)

    def __init__(self, conn: RuntimeConnection, editor: GraphEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.conn, self.editor = conn, editor
        self.setWindowTitle("Train this graph")
        stem = editor.path.name.split(".")[0] if editor.path else "graph-model"
        self.name_edit = QLineEdit(safe_name(stem), self)
        self.dataset_edit = QLineEdit(self)
        self.dataset_edit.setPlaceholderText(
            "an image folder (one sub-folder per class) or a CSV with a 'target' column"
        )
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._on_browse_clicked)
        row = QHBoxLayout()
        row.addWidget(self.dataset_edit, 1)
        row.addWidget(browse)
        self.steps = QSpinBox(self)
        self.steps.setRange(1, 10_000_000)
        self.steps.setValue(300)
        self.batch = QSpinBox(self)
        self.batch.setRange(1, 65536)
        self.batch.setValue(32)
        self.lr = QDoubleSpinBox(self)
        self.lr.setDecimals(5)
        self.lr.setRange(0.00001, 5.0)
        self.lr.setValue(0.001)
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d93025;")
        form = QFormLayout()
        form.addRow("Job name", self.name_edit)
        form.addRow("Dataset", row)
        form.addRow("Steps", self.steps)
        form.addRow("Batch size", self.batch)
        form.addRow("Learning rate", self.lr)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.submit_button = self.buttons.addButton("Train", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._on_submit_clicked)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.resize(560, 0)

    @Slot()
    def _on_browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Dataset (a CSV file)", str(Path.home()), "CSV (*.csv);;All (*)"
        )
        if not path:
            path = QFileDialog.getExistingDirectory(self, "Dataset (an image folder)", str(Path.home()))
        if path:
            self.dataset_edit.setText(path)

    @Slot()
    def _on_submit_clicked(self) -> None:
        name = self.name_edit.text().strip()
        dataset = self.dataset_edit.text().strip()
        if not dataset:
            self.error.setText("Choose a dataset: an image folder or a CSV file with a 'target' column.")
            return
        folder = self.conn.data.root / "graphs"
        graph_file = folder / f"{safe_name(name)}-{time.strftime('%Y%m%d-%H%M%S')}.graph.json"
        data = json.dumps(self.editor.graph.to_dict(), indent=1) + "\n"  # taken now, on the main thread
        spec = graph_spec(name, graph_file, dataset, self.steps.value(), self.batch.value(), self.lr.value())
        self.submit_button.setEnabled(False)
        self.error.setText("Submitting…")

        def work() -> JobView:
            folder.mkdir(parents=True, exist_ok=True)
            graph_file.write_text(data, encoding="utf-8")
            return self.conn.client.submit(spec)

        op(self.conn, self, work, what="submit the graph's training job") \
            .success(self._on_submitted).failure(self._on_submit_failed).run()  # fmt: skip

    def _on_submitted(self, job: JobView) -> None:
        self.job_submitted.emit(job.id)
        self.accept()

    def _on_submit_failed(self, err: Exception) -> None:
        self.submit_button.setEnabled(True)
        self.error.setText(f"The job was not submitted: {err}")
