"""The datasets list: a QAbstractTableModel over dataset names plus a cache of their views
(the contract's ``DatasetView``).

``sync`` merges the daemon's full list (rows inserted, updated and removed in place; the
model never resets), ``upsert`` one dataset's view, ``remove`` one name."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt

from sparktrainer_gui.panels.datasets.drops import human_bytes
from sparktrainer_gui.panels.datasets.table_base import ColumnsTableModel, Index
from sparktrainer_gui.panels.jobs.table_model import parse_time
from trainer_runtime.api.schema.datasets import DatasetView

COLUMNS = ("Name", "Modality", "Format", "Items", "Size", "Latest", "Updated")
NAME, MODALITY, FORMAT, ITEMS, SIZE, LATEST, UPDATED = range(len(COLUMNS))
NAME_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
DATASET_ROLE = Qt.ItemDataRole.UserRole + 3


class DatasetsTableModel(ColumnsTableModel):
    columns = COLUMNS

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._names: list[str] = []
        self._data: dict[str, DatasetView] = {}

    # ---------------------------------------------------------------- updates
    def sync(self, datasets: list[DatasetView]) -> None:
        seen = {d.name for d in datasets}
        for name in [n for n in self._names if n not in seen]:
            self.remove(name)
        for d in datasets:
            self.upsert(d)

    def upsert(self, d: DatasetView) -> None:
        name = d.name
        if name in self._data:
            if self._data[name] == d:
                return
            self._data[name] = d
            row = self._names.index(name)
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
            return
        row = len(self._names)
        self.beginInsertRows(QModelIndex(), row, row)
        self._names.append(name)
        self._data[name] = d
        self.endInsertRows()

    def remove(self, name: str) -> None:
        if name not in self._data:
            return
        row = self._names.index(name)
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._names[row]
        del self._data[name]
        self.endRemoveRows()

    # --------------------------------------------------------------- queries
    def dataset(self, name: str) -> DatasetView | None:
        return self._data.get(name)

    def row_of(self, name: str) -> int:
        return self._names.index(name) if name in self._data else -1

    def names(self) -> list[str]:
        return list(self._names)

    # -------------------------------------------------------------------- Qt
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._names)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._names):
            return None
        d = self._data[self._names[index.row()]]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(d, col)
        if role == SORT_ROLE:
            return {ITEMS: d.items, SIZE: d.total_bytes,
                    LATEST: d.latest or 0}.get(col, self._text(d, col))  # fmt: skip
        if role == NAME_ROLE:
            return d.name
        if role == DATASET_ROLE:
            return d
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (ITEMS, SIZE, LATEST):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and col == NAME:
            return f"{d.name} · {d.versions} version(s) · manifest {str(d.manifest_hash)[:12]}"
        return None

    @staticmethod
    def _text(d: DatasetView, col: int) -> str:
        if col == NAME:
            return d.name
        if col == MODALITY:
            return d.modality
        if col == FORMAT:
            return d.format
        if col == ITEMS:
            return f"{d.items:,}"
        if col == SIZE:
            return human_bytes(d.total_bytes)
        if col == LATEST:
            return f"v{d.latest}" if d.latest else "–"
        when = parse_time(d.updated_at or d.created_at)
        return when.astimezone().strftime("%Y-%m-%d %H:%M") if when else ""
