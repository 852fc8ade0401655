"""The small read-only tabs of the job detail: checkpoints, spec, state history and an sft job's
generations (``generations_view.GenerationsView``, added by ``add_generations_tab``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import yaml
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QWidget,
)

from sparktrainer_gui.panels.jobs.generations_view import GenerationsView
from sparktrainer_gui.panels.jobs.table_model import aware
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.jobs import ArtifactView, TransitionView


def local_time(at: datetime | None) -> str:
    """A daemon time (UTC) as local ``2026-01-02 04:04:05``."""
    dt = aware(at)
    return "—" if dt is None else dt.astimezone().strftime("%Y-%m-%d %H:%M:%S")


class _Table(QTableWidget):
    """A small static, read-only table (a handful of rows per job)."""

    def __init__(self, headers: list[str], object_name: str, parent: QWidget | None = None):
        super().__init__(0, len(headers), parent)
        self.setObjectName(object_name)
        self.setHorizontalHeaderLabels(headers)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)

    def set_rows(self, rows: list[list[str]]) -> None:
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.setItem(r, c, item)


class CheckpointsTable(_Table):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(["Kind", "Step", "Attempt", "Saved", "Path"], "checkpoints", parent)

    def set_artifacts(self, artifacts: list[ArtifactView]) -> None:
        ordered = sorted(artifacts, key=lambda a: (a.attempt, a.step), reverse=True)
        self.set_rows(
            [[a.kind, f"{a.step:,}", str(a.attempt), local_time(a.created_at), a.path] for a in ordered]
        )


class HistoryTable(_Table):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(["Time", "Attempt", "From", "To", "Reason"], "history", parent)

    def set_transitions(self, transitions: list[TransitionView]) -> None:
        self.set_rows(
            [
                [
                    local_time(t.at),
                    str(t.attempt),
                    t.from_state.label if t.from_state else "—",
                    t.to_state.label,
                    t.reason,
                ]  # fmt: skip
                for t in transitions
            ]
        )


class SpecView(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("spec")
        self.setReadOnly(True)
        mono = QFont("DejaVu Sans Mono")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSize(9)
        self.setFont(mono)

    def set_spec(self, spec: dict[str, Any] | None) -> None:
        if not spec:
            self.setPlainText("")
            return
        try:
            text = yaml.safe_dump(spec, sort_keys=False, default_flow_style=False, allow_unicode=True)
        except yaml.YAMLError:
            text = json.dumps(spec, indent=2, default=str)
        self.setPlainText(text)


GENERATIONS_TAB = "Generations"


def add_generations_tab(tabs: QTabWidget, conn: RuntimeConnection) -> GenerationsView:
    """Add the "Generations" tab (an sft job's answers to its eval prompts by step) to the job
    detail's ``tabs``; the detail calls ``set_job(job_id)`` on the view when it shows a job."""
    view = GenerationsView(conn, tabs)
    tabs.addTab(view, GENERATIONS_TAB)
    return view
