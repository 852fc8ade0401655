"""The GPUs panel: every GPU and MIG device live (1 s while the panel is visible), the
processes on them with the jobs they belong to, the selected device's last hour, and the
MIG planner. ``/v1/gpus`` is polled off the main thread (one request at a time);
``/v1/gpus/history`` is read once when the panel is first shown. Without an NVIDIA driver the
panel says so in a banner and stays usable: training runs on CPU."""

from __future__ import annotations

import importlib
import logging
import time
from typing import Any, TypeVar

from PySide6.QtCore import QItemSelection, QModelIndex, QSortFilterProxyModel, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from sparktrainer_gui import theme
from sparktrainer_gui.actions import make_action
from sparktrainer_gui.ops import op
from sparktrainer_gui.panels.gpus.delegates import SparklineDelegate
from sparktrainer_gui.panels.gpus.state import HISTORY_S, HistoryStore, device_rows, process_rows
from sparktrainer_gui.panels.gpus.table_model import (
    COLUMNS,
    JOB_ROLE,
    METRIC_OF,
    UUID_ROLE,
    DeviceTableModel,
    ProcessTableModel,
)
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.gpus import GpuHistory, GpuList
from trainer_runtime.api.schema.jobs import JobRow
from trainer_runtime.client.client import ApiError

log = logging.getLogger(__name__)
POLL_MS = 1000
DETAIL_MODULE = "sparktrainer_gui.panels.gpus.detail_plot"
NO_DRIVER = "No NVIDIA driver found — training runs on CPU."


W = TypeVar("W", bound=QWidget)


def _named(widget: W, name: str) -> W:
    widget.setObjectName(name)
    return widget


class _GpuFilter(QSortFilterProxyModel):
    """Processes of one GPU (and its MIG devices), or of all GPUs when none is selected."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.gpu: str | None = None

    def set_gpu(self, uuid: str | None) -> None:
        self.beginFilterChange()
        self.gpu = uuid
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:  # type: ignore[override]
        return self.gpu is None or self.sourceModel().index(row, 0, parent).data(UUID_ROLE) == self.gpu


class GpusPanel(QWidget):
    title = "GPUs"
    icon = "gpu"
    message_posted = Signal(str)
    snapshot_applied = Signal(object)  # a /v1/gpus answer (GpuList), after the tables took it
    job_open_requested = Signal(str)  # a job id: show it in the Jobs panel

    def __init__(self, conn: RuntimeConnection, parent: QWidget | None = None):
        super().__init__(parent)
        self.conn = conn
        self.history = HistoryStore()
        self.snapshot: GpuList | None = None
        self.model = DeviceTableModel(self.history, self)
        self.processes = ProcessTableModel(self)
        self.process_filter = _GpuFilter(self)
        self.process_filter.setSourceModel(self.processes)
        self.detail: Any = None
        self.planner: Any = None
        self._in_flight = False
        self._history_loaded = False
        self._build()
        self.poll_timer = QTimer(self, interval=POLL_MS)
        self.poll_timer.timeout.connect(self._on_poll_timer_timeout)
        conn.connected.connect(self._on_conn_connected)
        conn.job_changed.connect(self._on_conn_job_changed)

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        self.toolbar = QToolBar("GPUs", self)
        self.plan_action = make_action(
            self, "MIG planner…", None, "gpu", "Plan, check and apply a MIG layout"
        )
        self.plan_action.triggered.connect(self.open_planner)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toolbar.addAction(self.plan_action)
        self.summary = _named(QLabel("Waiting for the runtime…", self.toolbar), "gpuSummary")
        self.summary.setContentsMargins(12, 0, 0, 0)
        self.toolbar.addWidget(self.summary)

        self.banner = _named(QFrame(self), "gpuNotice")
        row = QHBoxLayout(self.banner)
        row.setContentsMargins(14, 8, 10, 8)
        self.banner_icon = QLabel(self.banner)
        self.banner_text = _named(QLabel(self.banner), "gpuNoticeText")
        self.banner_text.setWordWrap(True)
        row.addWidget(self.banner_icon)
        row.addWidget(self.banner_text, 1)
        self.banner.hide()
        self._paint_banner()
        theme.notifier.theme_changed.connect(self._on_theme_changed)

        self.table = self._table("gpuTable", self.model)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setDefaultSectionSize(30)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col, width in enumerate((150, 220, 100, 220, 160, 170, 210, 170)):
            self.table.setColumnWidth(col, width)
        self._sparks = {col: SparklineDelegate(col, self.table) for col in METRIC_OF}
        for col, delegate in self._sparks.items():
            self.table.setItemDelegateForColumn(col, delegate)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)

        self.process_table = self._table("gpuProcesses", self.process_filter)
        self.process_table.doubleClicked.connect(self._on_process_table_double_clicked)
        self.process_table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        for col, width in enumerate((70, 90, 90, 150)):
            self.process_table.setColumnWidth(col, width)
        self.process_label = _named(QLabel("Processes on all GPUs", self), "gpuProcessesTitle")
        procs = QWidget(self)
        col_lay = QVBoxLayout(procs)
        col_lay.setContentsMargins(4, 4, 4, 4)
        col_lay.addWidget(self.process_label)
        col_lay.addWidget(self.process_table, 1)

        self.detail_host = QStackedWidget(self)
        loading = QLabel("Loading the device plot…", self.detail_host)
        loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail_host.addWidget(loading)
        self.bottom = QSplitter(Qt.Orientation.Horizontal, self)
        self.bottom.addWidget(procs)
        self.bottom.addWidget(self.detail_host)
        self.bottom.setSizes([520, 880])
        self.splitter = _named(QSplitter(Qt.Orientation.Vertical, self), "gpuSplitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.bottom)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([420, 380])

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.toolbar)
        lay.addWidget(self.banner)
        lay.addWidget(self.splitter, 1)

    def _table(self, name: str, model: Any) -> QTableView:
        table = _named(QTableView(self), name)
        table.setModel(model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.verticalHeader().hide()
        table.horizontalHeader().setHighlightSections(False)
        return table

    # --------------------------------------------------------------- polling
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.detail is None:
            op(self.conn, self, importlib.import_module, DETAIL_MODULE, what="load the device plot") \
                .success(self._on_detail_module_loaded).run()  # fmt: skip
        if self.conn.is_connected:
            self.start_polling()

    def hideEvent(self, event: QHideEvent) -> None:
        self.poll_timer.stop()
        self._history_loaded = False  # the gap while hidden is fetched when shown again
        super().hideEvent(event)

    def start_polling(self) -> None:
        """Poll every second; first fetch the history this panel has not seen (all of it the
        first time, the gap since it was last visible afterwards)."""
        if not self._history_loaded:
            self._history_loaded = True
            seconds, latest = HISTORY_S, self.history.latest_time()
            if latest is not None:
                seconds = int(min(HISTORY_S, max(5.0, time.time() - latest + 5)))
            op(self.conn, self, self.conn.client.gpu_history, seconds, what="read the GPU history") \
                .success(self._on_history_read).failure(self._on_history_failed).run()  # fmt: skip
            op(self.conn, self, self.conn.client.jobs, what="list the jobs") \
                .success(self._on_jobs_read).failure(self._on_jobs_failed).run()  # fmt: skip
        self.poll_timer.start()
        self.poll()

    @Slot()
    def poll(self) -> None:
        if self._in_flight:  # the daemon has not answered the last one: do not pile up requests
            return
        self._in_flight = True
        call = op(self.conn, self, self.conn.client.gpus, what="read the GPUs")
        if call.success(self._on_gpus_read).failure(self._on_gpus_failed).run().future is None:
            self._in_flight = False  # the connection stopped: nothing will answer

    @Slot()
    def _on_poll_timer_timeout(self) -> None:
        self.poll()

    def _on_gpus_read(self, snapshot: GpuList) -> None:
        self._in_flight = False
        self.apply_snapshot(snapshot)

    def apply_snapshot(self, snapshot: GpuList) -> None:
        """Take a ``/v1/gpus`` answer: history, tables, banner, summary."""
        self.snapshot = snapshot
        sampled = self.history.add_snapshot(snapshot)
        rows = device_rows(snapshot)
        self.model.set_devices(rows, sampled=bool(sampled))
        for delegate in self._sparks.values():
            delegate.forget({r.uuid for r in rows})
        self.processes.set_rows(process_rows(snapshot))
        gpus = snapshot.gpus
        if snapshot.backend is None:
            detail = snapshot.message or ""
            self._show_banner(NO_DRIVER + (f" ({detail})" if detail else ""))
            self.summary.setText("No GPUs: jobs run on CPU slots.")
        else:
            self.banner.hide()
            migs = sum(len(g.mig_devices) for g in gpus)
            busy = sum(1 for g in gpus if g.processes)
            backend = "simulated" if snapshot.backend == "sim" else snapshot.backend.upper()
            self.summary.setText(f"{len(gpus)} GPUs · {migs} MIG devices · {busy} in use · {backend}")
        self.plan_action.setEnabled(bool(gpus))
        if self.planner is not None:  # cleared when the planner closes
            self.planner.update_gpus(gpus)
        if self.table.selectionModel().selectedRows() == [] and rows:
            self.table.selectRow(0)
        self.snapshot_applied.emit(snapshot)

    def _on_gpus_failed(self, err: Exception) -> None:
        self._in_flight = False
        if isinstance(err, ApiError) and err.status == 404:
            self._show_banner("This daemon has no GPU API: quit it (sparktrainer daemon stop) and start the app "
                              "again to run the current version.")  # fmt: skip
        elif self.conn.is_connected:
            self._show_banner(f"Could not read the GPUs: {err}")

    def _paint_banner(self) -> None:
        c = theme.colors()
        self.banner_icon.setPixmap(theme.icon("warning", c["caution"]).pixmap(18, 18))
        self.banner.setStyleSheet(
            f"#gpuNotice {{ background: {c['alt']}; border-bottom: 1px solid {c['border']}; }}"
            f"#gpuNoticeText {{ color: {c['text']}; font-weight: 600; }}"
        )

    @Slot(str)
    def _on_theme_changed(self, _resolved: str) -> None:
        self._paint_banner()
        self.plan_action.setIcon(theme.icon("gpu"))

    def _show_banner(self, text: str) -> None:
        self.banner_text.setText(text)
        self.banner.show()

    def _on_history_read(self, payload: GpuHistory) -> None:
        self.history.load(payload)
        if self.snapshot is not None:
            self.model.set_devices(device_rows(self.snapshot), sampled=True)

    def _on_history_failed(self, err: Exception) -> None:
        self._history_loaded = False  # try again next time the panel is shown
        log.warning("could not read the GPU history: %s", err)

    def _on_jobs_failed(self, err: Exception) -> None:
        log.warning("could not list the jobs for the process table: %s", err)  # job ids are shown instead

    def _on_jobs_read(self, jobs: list[JobRow]) -> None:
        self.processes.set_job_names({j.id: j.name or j.id for j in jobs})

    # ----------------------------------------------------------------- slots
    @Slot(dict)
    def _on_conn_connected(self, _status: dict) -> None:
        if self.isVisible():
            self.start_polling()

    @Slot(object)
    def _on_conn_job_changed(self, job: Any) -> None:  # a JobRecord (trainer_runtime.api.schema.jobs)
        if job.name and self.processes.job_names.get(job.id) != job.name:
            self.processes.set_job_names({job.id: job.name})

    def _on_detail_module_loaded(self, module: Any) -> None:
        if self.detail is not None:
            return
        self.detail = module.DeviceDetailPlot(self.history, self.detail_host)
        self.detail_host.addWidget(self.detail)
        self.detail_host.setCurrentWidget(self.detail)
        self._show_selected()

    @Slot(QItemSelection, QItemSelection)
    def _on_table_selection_changed(self, _sel: QItemSelection, _desel: QItemSelection) -> None:
        self._show_selected()

    def selected_uuid(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(UUID_ROLE) if rows else None

    def _show_selected(self) -> None:
        index = next(iter(self.table.selectionModel().selectedRows()), None)
        row = self.model.row_at(index.row()) if index is not None else None
        self.process_filter.set_gpu(row.gpu_uuid if row else None)
        self.process_label.setText(f"Processes on GPU {row.gpu.index}" if row else "Processes on all GPUs")
        if self.detail is None:
            return
        if row is None:
            self.detail.show_device(None)
            return
        title = f"{row.data.label} · last hour"
        limits = {
            "memory_used_mb": row.data.memory_total_mb,
            "power_w": row.gpu.power_limit_w if row.data is row.gpu else None,
        }
        self.detail.show_device(row.uuid, title, limits)

    @Slot(QModelIndex)
    def _on_process_table_double_clicked(self, index: QModelIndex) -> None:
        job_id = index.data(JOB_ROLE)
        if job_id:
            self.job_open_requested.emit(job_id)
        else:
            self.message_posted.emit("This process was not started by SparkTrainer: there is no job to open.")

    # ---------------------------------------------------------------- planner
    @Slot()
    def open_planner(self) -> Any:
        from sparktrainer_gui.panels.gpus.planner import MigPlannerDialog

        gpus = self.snapshot.gpus if self.snapshot is not None else []
        if not gpus:
            self.message_posted.emit("There is no GPU to plan MIG partitions for.")
            return None
        selected = self.selected_uuid()
        row = self.model.row_at(self.model.row_of(selected)) if selected else None
        self.planner = MigPlannerDialog(self.conn, gpus, row.gpu_uuid if row else None, self)
        self.planner.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.planner.applied.connect(self._on_planner_applied)
        self.planner.destroyed.connect(self._on_planner_destroyed)
        self.planner.show()
        return self.planner

    @Slot()
    def _on_planner_destroyed(self) -> None:
        self.planner = None

    @Slot(str)
    def _on_planner_applied(self, _uuid: str) -> None:
        self.message_posted.emit("MIG layout applied; the GPU list refreshes.")
        self.poll()


__all__ = ["COLUMNS", "GpusPanel"]
