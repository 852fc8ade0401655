"""Thin Qt adapters over :mod:`.state`: the devices table (a row per GPU and per MIG device)
and the processes table. Each refresh updates rows in place: rows that appear or vanish are
inserted or removed, and ``dataChanged`` covers only the cells whose content changed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from sparktrainer_gui.panels.gpus.state import (
    Device,
    DeviceHistory,
    DeviceRow,
    HistoryStore,
    ProcessRow,
    memory_text,
    mig_text,
    power_text,
    spark_range,
    temp_text,
    util_text,
)
from trainer_runtime.api.schema.gpus import GpuView, MigView

Index = QModelIndex | QPersistentModelIndex
RowT = TypeVar("RowT")

COLUMNS = ("Device", "Name", "Model", "Memory", "Utilisation", "Temperature", "Power", "MIG")
DEVICE, NAME, MODEL, MEMORY, UTIL, TEMP, POWER, MIG = range(len(COLUMNS))
METRIC_OF = {MEMORY: "memory_used_mb", UTIL: "util_pct", TEMP: "temp_c", POWER: "power_w"}

UUID_ROLE = Qt.ItemDataRole.UserRole + 1
KIND_ROLE = Qt.ItemDataRole.UserRole + 2
SPARK_ROLE = Qt.ItemDataRole.UserRole + 3  # a Spark, or None
JOB_ROLE = Qt.ItemDataRole.UserRole + 4
ROW_ROLE = Qt.ItemDataRole.UserRole + 5


@dataclass(frozen=True)
class Spark:
    """What a sparkline cell draws from; ``values()`` is only called when ``version`` moved."""

    history: DeviceHistory
    metric: str
    device: Device

    @property
    def version(self) -> int:
        return self.history.version

    def values(self) -> tuple[list[float], float, float]:
        values = self.history.recent(self.metric)
        lo, hi = spark_range(self.metric, self.device, values)
        return values, lo, hi


class _KeyedTable(QAbstractTableModel, Generic[RowT]):
    """Rows identified by a key; ``set_rows`` merges a new list in place."""

    columns: tuple[str, ...] = ()

    def __init__(self, key: Callable[[RowT], str], parent: QObject | None = None):
        super().__init__(parent)
        self._key = key
        self._keys: list[str] = []
        self._rows: dict[str, RowT] = {}
        self._cells: dict[str, tuple[Any, ...]] = {}  # what each row's cells showed

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._keys)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None

    def keys(self) -> list[str]:
        return list(self._keys)

    def row_of(self, key: str) -> int:
        try:
            return self._keys.index(key)
        except ValueError:
            return -1

    def row_at(self, row: int) -> RowT | None:
        return self._rows[self._keys[row]] if 0 <= row < len(self._keys) else None

    def _row(self, index: Index) -> RowT | None:
        if not index.isValid() or index.column() >= len(self.columns):
            return None
        return self.row_at(index.row())

    def cells(self, row: RowT) -> tuple[Any, ...]:
        """What the row shows, one value per column (compared to find the changed cells)."""
        raise NotImplementedError

    def set_rows(self, rows: Sequence[RowT], always: Sequence[int] = ()) -> None:
        """Merge ``rows`` in; columns in ``always`` count as changed for rows that stay."""
        new_keys = [self._key(r) for r in rows]
        wanted = set(new_keys)
        for i in reversed(range(len(self._keys))):
            if self._keys[i] not in wanted:
                self._remove(i)
        # Rows that stay must keep their relative order; past the first mismatch, re-insert.
        staying = [k for k in new_keys if k in self._rows]
        for i, key in enumerate(self._keys):
            if key != staying[i]:
                for j in reversed(range(i, len(self._keys))):
                    self._remove(j)
                break
        by_key = dict(zip(new_keys, rows, strict=True))
        for pos, key in enumerate(new_keys):
            if pos < len(self._keys) and self._keys[pos] == key:
                self._update(pos, by_key[key], always)
                continue
            self.beginInsertRows(QModelIndex(), pos, pos)
            self._keys.insert(pos, key)
            self._rows[key] = by_key[key]
            self._cells[key] = self.cells(by_key[key])
            self.endInsertRows()

    def _remove(self, i: int) -> None:
        self.beginRemoveRows(QModelIndex(), i, i)
        key = self._keys.pop(i)
        self._rows.pop(key, None)
        self._cells.pop(key, None)
        self.endRemoveRows()

    def _update(self, pos: int, row: RowT, always: Sequence[int]) -> None:
        key = self._keys[pos]
        self._rows[key] = row
        cells, old = self.cells(row), self._cells.get(key, ())
        self._cells[key] = cells
        changed = [c for c in range(len(self.columns)) if c in always or c >= len(old) or cells[c] != old[c]]
        if changed:
            self.dataChanged.emit(self.index(pos, min(changed)), self.index(pos, max(changed)))


class DeviceTableModel(_KeyedTable[DeviceRow]):
    columns = COLUMNS

    def __init__(self, history: HistoryStore, parent: QObject | None = None):
        super().__init__(lambda r: r.uuid, parent)
        self.history = history

    def cells(self, row: DeviceRow) -> tuple[Any, ...]:
        d = row.data
        if isinstance(d, MigView):
            name, model = f"MIG slice of GPU {d.gpu_index}", d.profile
        else:
            name, model = d.name, d.model
        return (
            row.label,
            name,
            model,
            memory_text(d),
            util_text(d),
            temp_text(d),
            power_text(d),
            mig_text(row),
        )

    def set_devices(self, rows: Sequence[DeviceRow], sampled: bool = True) -> None:
        """Merge a snapshot's rows; ``sampled``: the history got a sample, so sparklines moved."""
        self.set_rows(rows, always=tuple(METRIC_OF) if sampled else ())

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self._row(index)
        if row is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cells[row.uuid][col]
        if role == UUID_ROLE:
            return row.uuid
        if role == KIND_ROLE:
            return row.kind
        if role == ROW_ROLE:
            return row
        if role == SPARK_ROLE and col in METRIC_OF:
            hist = self.history.devices.get(row.uuid)
            return None if hist is None else Spark(hist, METRIC_OF[col], row.data)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, col)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _tooltip(self, row: DeviceRow, col: int) -> str:
        d = row.data
        if col in METRIC_OF:
            return f"{self.columns[col]}: {self._cells[row.uuid][col]} (sparkline: the last 5 minutes)"
        if col in (DEVICE, NAME) and isinstance(d, GpuView):

            def known(v: int | None) -> str:
                return "?" if v is None else str(v)

            clocks = f"SM {known(d.sm_clock_mhz)} MHz, memory {known(d.mem_clock_mhz)} MHz"
            return f"{d.label} ({d.name}) · {row.uuid}\nclocks: {clocks} · ECC errors: {known(d.ecc_errors)}"
        if isinstance(d, MigView):
            return f"{d.label} · {self._cells[row.uuid][col]}  ·  {row.uuid}"
        return f"{self._cells[row.uuid][col]}  ·  {row.uuid}"


PROCESS_COLUMNS = ("PID", "User", "Memory", "Device", "Job")
PID, USER, PMEM, PDEVICE, PJOB = range(len(PROCESS_COLUMNS))
EXTERNAL = "external"  # a process SparkTrainer did not start


class ProcessTableModel(_KeyedTable[ProcessRow]):
    columns = PROCESS_COLUMNS

    def __init__(self, parent: QObject | None = None):
        super().__init__(lambda r: r.key, parent)
        self.job_names: dict[str, str] = {}

    def cells(self, row: ProcessRow) -> tuple[Any, ...]:
        mem = "–" if row.used_mb != row.used_mb else f"{row.used_mb / 1024:.2f} GiB"
        job = (self.job_names.get(row.job_id) or row.job_id) if row.job_id else EXTERNAL
        return (str(row.pid), row.user, mem, row.device_label, job)

    def set_job_names(self, names: dict[str, str]) -> None:
        self.job_names.update(names)
        for pos, key in enumerate(self._keys):
            self._update(pos, self._rows[key], ())

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self._row(index)
        if row is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cells[row.key][index.column()]
        if role == JOB_ROLE:
            return row.job_id
        if role == UUID_ROLE:
            return row.gpu_uuid
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            if row.job_id:
                return f"job {row.job_id}: double-click to open it in the Jobs panel"
            return f"{row.device_uuid}: a process SparkTrainer did not start"
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (PID, PMEM):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
