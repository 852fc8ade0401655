"""The Jobs panel: toolbar, filterable jobs table, and the selected job's detail."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelection, QModelIndex, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from sparktrainer_gui import theme
from sparktrainer_gui.actions import JobActions, refresh_icons
from sparktrainer_gui.ops import op
from sparktrainer_gui.panels.jobs.filter import STATE_FILTERS, JobsFilterProxy
from sparktrainer_gui.panels.jobs.table_model import (
    COLUMNS,
    HEALTH_ROLE,
    JOB_ID_ROLE,
    PROGRESS,
    PROGRESS_ROLE,
    STATE,
    STATE_ROLE,
    JobsTableModel,
)
from sparktrainer_gui.runtime import RuntimeConnection
from sparktrainer_gui.state.jobs import JobsState
from sparktrainer_gui.widgets.delegates import ProgressDelegate, StatePillDelegate
from trainer_runtime.jobs.state import JobAction

if TYPE_CHECKING:
    from trainer_runtime.api.schema.jobs import HealthView, JobRecord, JobView, MetricPoint

# What the status bar says an action is doing. Which jobs an action applies to is each job's
# ``allowed_actions`` (the runtime's state machine), never a table here.
PAST = {JobAction.PAUSE: "Pausing", JobAction.RESUME: "Resuming", JobAction.CANCEL: "Cancelling",
        JobAction.RESTART: "Restarting", JobAction.DELETE: "Deleted"}  # fmt: skip


DETAIL_MODULE = "sparktrainer_gui.panels.jobs.detail"
DETAIL_PRELOAD_DELAY_MS = 150


class JobsPanel(QWidget):
    title = "Jobs"
    icon = "jobs"
    message_posted = Signal(str)  # a sentence for the status bar
    detail_ready = Signal()  # the job detail view has been built (it loads after start-up)

    def __init__(self, conn: RuntimeConnection, parent: QWidget | None = None):
        super().__init__(parent)
        self.conn = conn
        self.job_actions = JobActions.create(self)
        self.jobs = JobsState()  # the jobs this window knows; the table is an adapter over it
        self.model = JobsTableModel(self.jobs, self)
        self.proxy = JobsFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self._select_when_seen: str | None = None
        self._viewing: set[str] = set()  # jobs whose daemon view is being read (device labels…)
        self._build()
        self._connect()
        self._update_actions()
        if conn.is_connected:
            self.reload()

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        a = self.job_actions
        self.toolbar = QToolBar("Jobs", self)
        self.toolbar.setObjectName("jobsToolbar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.new_button = QToolButton(self.toolbar)  # its own icon: white on the accent colour
        self.new_button.setObjectName("primaryButton")
        self.new_button.setText("New job")
        self.new_button.setToolTip(a.new_job.toolTip())
        self.new_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.new_button.clicked.connect(a.new_job.trigger)
        self._paint_new_button()
        self.toolbar.addWidget(self.new_button)
        self.toolbar.addSeparator()
        for action in (a.pause, a.resume, a.cancel, a.restart, a.delete):
            self.toolbar.addAction(action)
        spacer = QWidget(self.toolbar)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.toolbar.addWidget(spacer)
        self.state_combo = QComboBox(self.toolbar)
        self.state_combo.setObjectName("stateFilter")
        self.state_combo.addItems(list(STATE_FILTERS))
        self.state_combo.setToolTip("Show jobs in these states")
        self.toolbar.addWidget(self.state_combo)
        self.filter_edit = QLineEdit(self.toolbar)
        self.filter_edit.setObjectName("jobsFilter")
        self.filter_edit.setPlaceholderText("Filter by name, id, state…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setFixedWidth(240)
        self.filter_action = self.filter_edit.addAction(
            theme.icon("search"), QLineEdit.ActionPosition.LeadingPosition
        )
        self.toolbar.addWidget(self.filter_edit)

        self.table = QTableView(self)
        self.table.setObjectName("jobsTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # arrival order until the user sorts
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(34)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # the name takes what is left
        header.setMinimumSectionSize(60)
        for col, width in zip(range(len(COLUMNS)), (220, 150, 220, 110, 120, 100, 130), strict=True):
            self.table.setColumnWidth(col, width)
        pill = StatePillDelegate(STATE_ROLE, self.table, health_role=HEALTH_ROLE)
        self.table.setItemDelegateForColumn(STATE, pill)
        self.table.setItemDelegateForColumn(PROGRESS, ProgressDelegate(PROGRESS_ROLE, STATE_ROLE, self.table))

        # The detail (pyqtgraph, numpy) is imported off the main thread after start-up and
        # built when it arrives, so the window paints first (see bench/gui_startup.py).
        self.detail: Any = None
        self._detail_job: str | None = None
        self.detail_host = QStackedWidget(self)
        loading = QLabel("Loading the job view…", self.detail_host)
        loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail_host.addWidget(loading)
        # Started a moment after the window is up: the import holds the GIL for a while.
        QTimer.singleShot(DETAIL_PRELOAD_DELAY_MS, self, self._preload_detail)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("jobsSplitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail_host)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)
        self.table.setMinimumHeight(150)
        state = QSettings().value("jobs/splitter")
        if state is None or not self.splitter.restoreState(state):
            self.splitter.setSizes([330, 520])

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.toolbar)
        lay.addWidget(self.splitter, 1)
        self._clock = QTimer(self, interval=1000)
        self._clock.timeout.connect(self.model.tick)
        self._clock.start()

    def _paint_new_button(self) -> None:
        self.new_button.setIcon(theme.icon("add", theme.colors()["accent_text"]))

    def _connect(self) -> None:
        a, c = self.job_actions, self.conn
        a.new_job.triggered.connect(self.open_wizard)
        for action in JobAction:
            getattr(a, action.value).triggered.connect(lambda _checked=False, n=action: self.run_action(n))
        a.pause_or_resume.triggered.connect(self._on_pause_or_resume_triggered)
        a.find.triggered.connect(self._on_find_triggered)
        c.connected.connect(self._on_conn_connected)
        c.job_changed.connect(self._on_conn_job_changed)
        c.progress_changed.connect(self._on_conn_progress_changed)
        c.job_health_changed.connect(self._on_conn_job_health_changed)
        c.metrics_added.connect(self._on_conn_metrics_added)
        c.job_removed.connect(self._on_conn_job_removed)
        self.state_combo.currentTextChanged.connect(self.proxy.set_state_filter)
        self.filter_edit.textChanged.connect(self.proxy.set_text_filter)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.model.dataChanged.connect(self._on_model_data_changed)
        self.model.rowsRemoved.connect(self._update_actions)
        self.splitter.splitterMoved.connect(self._on_splitter_moved)
        theme.notifier.theme_changed.connect(self._on_theme_changed)

    # --------------------------------------------------------------- queries
    def action_groups(self) -> list[JobActions]:
        return [self.job_actions]

    def selected_ids(self) -> list[str]:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return [r.data(JOB_ID_ROLE) for r in sorted(rows, key=lambda i: i.row())]

    def select_job(self, job_id: str) -> bool:
        row = self.model.row_of(job_id)
        if row < 0:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            return False
        self.table.selectRow(index.row())
        self.table.scrollTo(index)
        return True

    # --------------------------------------------------------------- actions
    def reload(self) -> None:
        self.jobs.begin_sync()
        op(self.conn, self, self.conn.client.jobs, what="list the jobs").success(self.jobs.sync).run()

    @Slot()
    def open_wizard(self) -> None:
        from sparktrainer_gui.panels.jobs.wizard import NewJobWizard

        wizard = NewJobWizard(self.conn, self)
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        wizard.job_submitted.connect(self._on_wizard_job_submitted)
        wizard.open()

    def run_action(
        self, action: JobAction | str, job_ids: list[str] | None = None, confirm: bool = True
    ) -> list[str]:
        """Apply ``action`` to the selected jobs whose state allows it (off the main thread)."""
        action = JobAction(action)
        ids = self.selected_ids() if job_ids is None else job_ids
        targets = [i for i in ids if (job := self.jobs.get(i)) is not None and action in job.allowed_actions]
        skipped = len(ids) - len(targets)
        if not targets:
            return []
        if action is JobAction.DELETE and confirm and not self._confirm_delete(targets):
            return []
        for job_id in targets:
            name = self.jobs.name_of(job_id)
            call = (
                op(self.conn, self, self.conn.client.delete, job_id, what=f"delete {name}")
                if action is JobAction.DELETE
                else op(self.conn, self, self.conn.client.action, job_id, action, what=f"{action} {name}")
            )
            call.run()  # the daemon's events update the row; a refusal reaches the status bar
        label = self.jobs.name_of(targets[0])
        what = f"{PAST[action]} {len(targets)} jobs" if len(targets) > 1 else f"{PAST[action]} {label}"
        extra = f" (skipped {skipped}: cannot {action} them in their state)" if skipped else ""
        self.message_posted.emit(what + extra)
        return targets

    def _confirm_delete(self, ids: list[str]) -> bool:
        names = ", ".join(self.jobs.name_of(i) for i in ids[:5])
        more = f" and {len(ids) - 5} more" if len(ids) > 5 else ""
        answer = QMessageBox.question(
            self, "Delete jobs",
            f"Delete {len(ids)} job{'s' if len(ids) > 1 else ''} ({names}{more})?\n\n"
            "Their metrics, logs and checkpoints are removed. This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )  # fmt: skip
        return answer == QMessageBox.StandardButton.Yes

    def _allowed(self) -> set[JobAction]:
        """What the selected jobs' states allow, together."""
        return {a for i in self.selected_ids() if (job := self.jobs.get(i)) for a in job.allowed_actions}

    def _update_actions(self, *_args: Any) -> None:
        allowed = self._allowed()
        for action in JobAction:
            getattr(self.job_actions, action.value).setEnabled(action in allowed)
        self.job_actions.pause_or_resume.setEnabled(bool(allowed & {JobAction.PAUSE, JobAction.RESUME}))

    def _read_view(self, job_id: str) -> None:
        """Read the daemon's view of a job an event told of (a new job, or one just placed on
        devices): the device labels, job dir and ETA only the view has."""
        if job_id in self._viewing:
            return
        self._viewing.add(job_id)

        def done(view: JobView) -> None:
            self._viewing.discard(job_id)
            self.jobs.fill_live(view)

        def failed(_err: Exception) -> None:
            self._viewing.discard(job_id)  # e.g. deleted meanwhile: its row goes with its event

        read = op(self.conn, self, self.conn.client.job, job_id, what="read the job")
        read.success(done).failure(failed).run()

    # ----------------------------------------------------------------- slots
    @Slot(object)
    def _on_conn_connected(self, _status: object) -> None:
        self.reload()

    @Slot(object)
    def _on_conn_job_changed(self, record: JobRecord) -> None:
        if self.jobs.apply_record(record):
            self._read_view(record.id)
        if self._select_when_seen == record.id and self.select_job(record.id):
            self._select_when_seen = None

    @Slot(str, int, int)
    def _on_conn_progress_changed(self, job_id: str, step: int, total: int) -> None:
        self.jobs.set_progress(job_id, step, total)

    @Slot(str, object)
    def _on_conn_job_health_changed(self, job_id: str, health: HealthView | None) -> None:
        self.jobs.set_health(job_id, health)

    @Slot(str, int, list)
    def _on_conn_metrics_added(self, job_id: str, attempt: int, points: list[MetricPoint]) -> None:
        self.jobs.add_metrics(job_id, attempt, points)

    def _preload_detail(self) -> None:
        op(self.conn, self.detail_host, importlib.import_module, DETAIL_MODULE, what="load the job view") \
            .success(self._on_detail_module_loaded).run()  # fmt: skip

    def _on_detail_module_loaded(self, module: Any) -> None:
        self.detail = module.JobDetail(self.conn, self.detail_host)
        self.detail_host.addWidget(self.detail)
        self.detail_host.setCurrentWidget(self.detail)
        self.detail.show_job(self._detail_job)
        self.detail_ready.emit()

    def _show_detail(self, job_id: str | None) -> None:
        self._detail_job = job_id
        if self.detail is not None and self.detail.job_id != job_id:
            self.detail.show_job(job_id)

    @Slot(str)
    def _on_conn_job_removed(self, job_id: str) -> None:
        if self._detail_job == job_id:
            self._show_detail(None)
        self.jobs.remove(job_id)

    @Slot(str)
    def _on_wizard_job_submitted(self, job_id: str) -> None:
        if not self.select_job(job_id):
            self._select_when_seen = job_id

    @Slot()
    def _on_pause_or_resume_triggered(self) -> None:
        ids = self.selected_ids()
        for action in (JobAction.PAUSE, JobAction.RESUME):
            self.run_action(
                action, [i for i in ids if (j := self.jobs.get(i)) and action in j.allowed_actions]
            )

    @Slot()
    def _on_find_triggered(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        ids = self.selected_ids()
        job_id = ids[0] if len(ids) == 1 else None
        self._show_detail(job_id)
        self._update_actions()

    @Slot(QModelIndex, QModelIndex)
    def _on_model_data_changed(self, top: QModelIndex, bottom: QModelIndex) -> None:
        if top.column() <= STATE <= bottom.column():
            self._update_actions()

    @Slot(int, int)
    def _on_splitter_moved(self, _pos: int, _index: int) -> None:
        QSettings().setValue("jobs/splitter", self.splitter.saveState())

    @Slot(str)
    def _on_theme_changed(self, _resolved: str) -> None:
        refresh_icons(list(self.job_actions))
        self._paint_new_button()
        self.filter_action.setIcon(theme.icon("search"))
        self.table.viewport().update()
