"""The version list of one dataset: diff two versions, roll back to one, delete one.

Every daemon call runs off the main thread; rollback and delete ask first."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)  # fmt: skip

from sparktrainer_gui.ops import op
from sparktrainer_gui.panels.datasets.drops import human_bytes
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.datasets import DiffView, Relabel, VersionView

SHOWN = 1000  # paths listed per diff section


class DiffDialog(QDialog):
    def __init__(self, diff: DiffView, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("datasetDiffDialog")
        self.setWindowTitle(f"{diff.dataset}: version {diff.from_} → {diff.to}")
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(["Change", "From", "To"])
        self.counts: dict[str, int] = {}
        sections: tuple[tuple[str, str, list[Any]], ...] = (
            ("added", "Added", diff.added), ("removed", "Removed", diff.removed),
            ("changed", "Changed content", diff.changed), ("labels", "Label changes", diff.labels),
        )  # fmt: skip
        for key, title, rows in sections:
            self.counts[key] = len(rows)
            top = QTreeWidgetItem(self.tree, [f"{title} ({len(rows):,})"])
            for r in rows[:SHOWN]:
                cells = [r.path, str(r.from_), str(r.to)] if isinstance(r, Relabel) else [r]
                QTreeWidgetItem(top, cells)
            if len(rows) > SHOWN:
                QTreeWidgetItem(
                    top, [f"… and {len(rows) - SHOWN:,} more (sparktrainer datasets diff --json)"]
                )
            top.setExpanded(len(rows) <= 50)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        same = not any(self.counts.values())
        summary = QLabel("The two versions hold the same files and labels." if same else
                         ", ".join(f"{n:,} {k}" for k, n in self.counts.items()), self)  # fmt: skip
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(summary)
        lay.addWidget(self.tree)
        lay.addWidget(buttons)
        self.resize(620, 460)


class VersionsView(QWidget):
    message_posted = Signal(str)
    version_activated = Signal(int)  # show this version's files
    changed = Signal()  # a version was made or deleted

    def __init__(self, conn: RuntimeConnection, parent: QWidget | None = None):
        super().__init__(parent)
        self.conn = conn
        self.name: str | None = None
        self.versions: list[VersionView] = []
        self.diff_dialog: DiffDialog | None = None
        self.table = QTableWidget(0, 5, self)
        self.table.setObjectName("versionsTable")
        self.table.setHorizontalHeaderLabels(["Version", "Files", "Size", "Created", "Message"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(
            lambda item: self.version_activated.emit(self._number(item.row()))
        )
        self.diff_button = QPushButton("Diff", self)
        self.diff_button.setToolTip("Compare two selected versions")
        self.rollback_button = QPushButton("Roll back…", self)
        self.rollback_button.setToolTip("Make a new version equal to the selected one")
        self.delete_button = QPushButton("Delete…", self)
        self.diff_button.clicked.connect(self.diff_selected)
        self.rollback_button.clicked.connect(lambda: self.rollback_selected())
        self.delete_button.clicked.connect(lambda: self.delete_selected())
        row = QHBoxLayout()
        for b in (self.diff_button, self.rollback_button, self.delete_button):
            row.addWidget(b)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.table)
        lay.addLayout(row)
        self._update_buttons()

    # ------------------------------------------------------------------ load
    def show_dataset(self, name: str | None) -> None:
        self.name = name
        self.reload()

    def reload(self) -> None:
        if self.name is None:
            self._fill([])
            return
        name = self.name
        op(self.conn, self, self.conn.client.dataset_versions, name, what=f"list the versions of {name}") \
            .success(lambda rows: self._fill(rows) if name == self.name else None) \
            .failure(lambda e: self.message_posted.emit(f"Could not list the versions of {name}: {e}")).run()  # fmt: skip

    def _fill(self, rows: list[VersionView]) -> None:
        self.versions = sorted(rows, key=lambda v: -v.version)
        self.table.setRowCount(len(self.versions))
        for r, v in enumerate(self.versions):
            cells = [f"v{v.version}", f"{v.files:,}", human_bytes(v.total_bytes),
                     v.created_at[:19].replace("T", " "), v.message]  # fmt: skip
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, v.version)
                item.setToolTip(f"manifest {v.manifest_hash[:16]}")
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self._update_buttons()

    def _number(self, row: int) -> int:
        return self.versions[row].version

    def selected(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return sorted(self._number(r) for r in rows)

    def select_versions(self, numbers: list[int]) -> None:
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for r, v in enumerate(self.versions):
            if v.version in numbers:
                self.table.selectRow(r)
        self.table.setSelectionMode(mode)

    @Slot()
    def _update_buttons(self) -> None:
        n = len(self.selected())
        self.diff_button.setEnabled(n == 2)
        self.rollback_button.setEnabled(n == 1)
        self.delete_button.setEnabled(n == 1)

    # --------------------------------------------------------------- actions
    @Slot()
    def diff_selected(self) -> None:
        picked = self.selected()
        if len(picked) != 2 or self.name is None:
            return
        op(self.conn, self, self.conn.client.dataset_diff, self.name, picked[0], picked[1], what="compare the versions") \
            .success(self._on_diff).failure(self._on_failed).run()  # fmt: skip

    def _on_diff(self, diff: DiffView) -> None:
        self.diff_dialog = DiffDialog(diff, self)
        self.diff_dialog.open()

    def rollback_selected(self, confirm: bool = True) -> None:
        picked = self.selected()
        if len(picked) != 1 or self.name is None:
            return
        v = picked[0]
        if confirm and not self._confirm("Roll back", f"Make a new version of {self.name} equal to version {v}?\n\n"
                                         "No version is changed or removed."):  # fmt: skip
            return
        op(self.conn, self, self.conn.client.dataset_rollback, self.name, v, what="roll back") \
            .success(lambda info: self._on_made(f"Rolled back: version {info.version} equals version {v}.")) \
            .failure(self._on_failed).run()  # fmt: skip

    def delete_selected(self, confirm: bool = True) -> None:
        picked = self.selected()
        if len(picked) != 1 or self.name is None:
            return
        v = picked[0]
        last = len(self.versions) == 1
        text = f"Delete version {v} of {self.name}?" + (
            "\n\nIt is the only version: the dataset goes too." if last else ""
        )
        if confirm and not self._confirm("Delete version", text + "\n\nThis cannot be undone."):
            return
        op(self.conn, self, self.conn.client.dataset_delete_version, self.name, v, what="delete the version") \
            .success(lambda out: self._on_made(f"Deleted version {v}; {out.reclaimed_blobs} stored file(s) reclaimed.")) \
            .failure(self._on_failed).run()  # fmt: skip

    def _confirm(self, title: str, text: str) -> bool:
        self.confirm_box = QMessageBox(QMessageBox.Icon.Question, title, text,
                                       QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)  # fmt: skip
        self.confirm_box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        return self.confirm_box.exec() == QMessageBox.StandardButton.Yes

    def _on_made(self, sentence: str) -> None:
        self.message_posted.emit(sentence)
        self.reload()
        self.changed.emit()

    def _on_failed(self, err: Exception) -> None:
        self.message_posted.emit(str(err))
