"""Job detail: header and controls, then tabs for live curves, log, checkpoints, spec and history.

Every daemon call is an ``op`` bound to this widget (off the main thread); answers for a job
that is no longer shown are dropped (a generation counter). The job is the daemon's ``JobView``;
the stream's records, progress and health are applied over it. Which buttons apply is the view's
``allowed_actions`` (the runtime's state machine)."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from sparktrainer_gui.ops import op
from sparktrainer_gui.panels.jobs.curves import CurvesWidget
from sparktrainer_gui.panels.jobs.detail_tabs import (
    CheckpointsTable,
    HistoryTable,
    SpecView,
    add_generations_tab,
)
from sparktrainer_gui.panels.jobs.log_view import LogView
from sparktrainer_gui.panels.jobs.metrics_feed import MetricsFeed
from sparktrainer_gui.panels.jobs.trouble import MIRROR_FIELDS, TroubleLines, mirror_pending
from sparktrainer_gui.runtime import RuntimeConnection
from sparktrainer_gui.state.jobs import Update, merge_view, record_update
from trainer_runtime.api.schema.jobs import (
    ArtifactView,
    HealthView,
    JobAction,
    JobRecord,
    JobState,
    JobView,
    TransitionView,
)

log = logging.getLogger(__name__)

MIRROR_POLL_MS = (2_000, 60_000)  # first and longest wait between re-reads of a pending mirror
# The badge's white text needs these darker tones in both themes.
STATE_COLORS: dict[JobState, str] = {
    JobState.PENDING: "#6b7280", JobState.QUEUED: "#6b7280", JobState.RUNNING: "#2f6fde",
    JobState.PAUSED: "#c98a00", JobState.COMPLETED: "#1e9e5a", JobState.FAILED: "#d03b3b",
    JobState.CANCELLED: "#7a7a7a",
}  # fmt: skip
ACTIONS = (JobAction.PAUSE, JobAction.RESUME, JobAction.CANCEL, JobAction.RESTART)


def allowed_actions(job: JobView | None) -> set[JobAction]:
    """Which control buttons apply: the view's ``allowed_actions``, less what was already asked
    of the worker (a pending pause or cancel)."""
    if job is None:
        return set()
    allowed = set(job.allowed_actions) & set(ACTIONS)
    if job.pending_action is not None:
        allowed -= {JobAction.PAUSE, JobAction(job.pending_action)}
    return allowed


class JobDetail(QWidget):
    """Everything about one job: live curves, log, checkpoints, spec, history, controls."""

    action_failed = Signal(str)  # a sentence (also shown in the header)
    job_loaded = Signal(str)  # job id, after the job view arrived

    def __init__(self, conn: RuntimeConnection, parent: QWidget | None = None):
        super().__init__(parent)
        self.conn = conn
        self.job_id: str | None = None
        self.job: JobView | None = None
        self._gen = 0
        # Changes of the shown job that arrive while its view loads. The stream is ordered and
        # every change is published, so these applied over the loaded view, in order, end at
        # the newest state (dropping them left a job shown QUEUED that had started meanwhile).
        self._early: list[Update] = []

        self.title = QLabel(objectName="title")
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state_badge = QLabel(objectName="state")
        self.buttons = {a: QPushButton(a.capitalize(), objectName=f"{a}_button") for a in ACTIONS}
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.state_badge)
        top.addStretch(1)
        for name, button in self.buttons.items():
            button.clicked.connect(lambda _=False, n=name: self._on_action_button_clicked(n))
            top.addWidget(button)
        self.progress = QProgressBar(objectName="progress")
        self.progress.setTextVisible(True)
        self.progress.setMaximumHeight(18)
        self.info = QLabel(objectName="info")
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reason = QLabel(objectName="reason")
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet("color: palette(placeholder-text);")
        self.error = QLabel(objectName="error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d03b3b;")
        self.error.hide()
        self.trouble = TroubleLines()  # a worker that stopped responding, the MLflow mirror's trouble
        self.health, self.mlflow = self.trouble.health, self.trouble.mlflow
        self._changes = 0  # events applied to self.job (a re-read older than one is not used)
        self._mirror_timer = QTimer(
            self, singleShot=True, interval=MIRROR_POLL_MS[0], timeout=self._reread_mirror
        )

        self.curves = CurvesWidget()
        self.log_view = LogView(conn)
        self.checkpoints = CheckpointsTable()
        self.spec = SpecView()
        self.history = HistoryTable()
        self.tabs = QTabWidget(objectName="tabs")
        self.tabs.addTab(self.curves, "Curves")
        self.tabs.addTab(self.log_view, "Log")
        self.tabs.addTab(self.checkpoints, "Checkpoints")
        self.tabs.addTab(self.spec, "Spec")
        self.tabs.addTab(self.history, "History")
        self.generations = add_generations_tab(self.tabs, conn)
        self.feed = MetricsFeed(conn, self.curves, self)

        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addLayout(top)
        lay.addWidget(self.progress)
        lay.addWidget(self.info)
        lay.addWidget(self.reason)
        lay.addWidget(self.trouble)
        lay.addWidget(self.error)
        lay.addWidget(self.tabs, 1)
        empty = QLabel("Select a job to see its curves, log, checkpoints and history.")
        empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty.setStyleSheet("color: palette(placeholder-text);")
        self.stack = QStackedWidget()
        self.stack.addWidget(empty)
        self.stack.addWidget(page)
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.addWidget(self.stack)

        conn.job_changed.connect(self._on_conn_job_changed)
        conn.progress_changed.connect(self._on_conn_progress_changed)
        conn.job_health_changed.connect(self._on_conn_job_health_changed)
        conn.job_removed.connect(self._on_conn_job_removed)
        self.feed.load_failed.connect(self._show_error)
        self.log_view.load_failed.connect(self._show_error)
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)
        self._render_header()

    # ---------------------------------------------------------------- showing
    def show_job(self, job_id: str | None) -> None:
        """Show ``job_id`` (None: the empty page); clears everything and reloads it."""
        self._gen += 1
        self.job_id, self.job = job_id, None
        self._early.clear()
        self._mirror_timer.setInterval(MIRROR_POLL_MS[0])
        self.error.hide()
        self.feed.load(None)
        self.log_view.load(None)
        self.generations.set_job(job_id)
        self.checkpoints.set_artifacts([])
        self.history.set_transitions([])
        self.spec.set_spec(None)
        self._render_header()
        self.stack.setCurrentIndex(0 if job_id is None else 1)
        if job_id is None:
            return
        gen = self._gen
        op(self.conn, self, self.conn.client.job, job_id, what="load this job") \
            .success(lambda job: self._on_job_loaded(gen, job)) \
            .failure(lambda e: self._on_call_failed(gen, "load this job", e)).run()  # fmt: skip

    def _on_job_loaded(self, gen: int, job: JobView) -> None:
        if gen != self._gen:
            return
        for change in self._early:
            job = merge_view(job, change)
        self._early.clear()
        self.job = job
        self._render_header()
        self.spec.set_spec(job.spec)
        self._reload_streams()
        self._refresh_tables()
        self.job_loaded.emit(job.id)

    def _reload_streams(self) -> None:
        assert self.job is not None
        self.feed.load(self.job_id, self.job.attempt)
        self.log_view.load(self.job_id, self.job.attempt)

    def _refresh_tables(self) -> None:
        if self.job_id is None:
            return
        gen, job_id = self._gen, self.job_id

        def artifacts(rows: list[ArtifactView]) -> None:
            if gen == self._gen:
                self.checkpoints.set_artifacts(rows)

        def transitions(rows: list[TransitionView]) -> None:
            if gen == self._gen:
                self.history.set_transitions(rows)

        op(self.conn, self, self.conn.client.artifacts, job_id, what="list the checkpoints").success(artifacts) \
            .failure(lambda e: self._on_call_failed(gen, "list the checkpoints", e)).run()  # fmt: skip
        op(self.conn, self, self.conn.client.transitions, job_id, what="load the state history") \
            .success(transitions) \
            .failure(lambda e: self._on_call_failed(gen, "load the state history", e)).run()  # fmt: skip

    # ------------------------------------------------------------------ header
    def _render_header(self) -> None:
        job = self.job
        allowed = allowed_actions(job)
        for name, button in self.buttons.items():
            button.setEnabled(name in allowed)
        if job is None:
            self.title.setText(self.job_id or "")
            self.state_badge.setText("")
            self.info.setText("Loading…" if self.job_id else "")
            self.reason.setText("")
            self.trouble.show_view(None)
            self._mirror_timer.stop()
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            return
        pending = job.pending_action
        label = job.state.label + (f" · {pending} requested" if pending else "")
        self.state_badge.setText(label)
        self.state_badge.setStyleSheet(
            f"background: {STATE_COLORS[job.state]}; color: white; border-radius: 8px; padding: 2px 10px;"
            " font-weight: 600;"
        )
        self.title.setText(job.name or job.id)
        self.title.setToolTip(job.id)
        self._set_progress(job.step, job.total_steps)
        bits = [f"Attempt {job.attempt}", f"Device {job.device_label or ', '.join(job.devices) or '—'}"]
        if job.experiment:
            bits.append(f"Experiment {job.experiment}")
        bits.append(f"MLflow run {job.mlflow_run_id or '—'}")
        bits.append(f"ID {job.id}")
        self.info.setText("   ·   ".join(bits))
        self.reason.setText(job.reason or "")
        self.reason.setVisible(bool(job.reason))
        self.trouble.show_view(job)
        if not mirror_pending(job):
            self._mirror_timer.stop()
        elif not self._mirror_timer.isActive():
            self._mirror_timer.start()

    def _reread_mirror(self) -> None:
        """Re-read the job's view for its mirror state (its thread publishes no events),
        less often each time while it stays pending."""
        if self.job_id is None or self.job is None:
            return
        self._mirror_timer.setInterval(min(MIRROR_POLL_MS[1], self._mirror_timer.interval() * 2))
        gen, changes, job_id = self._gen, self._changes, self.job_id
        op(self.conn, self, self.conn.client.job, job_id, what="re-read the mirror state") \
            .success(lambda job: self._on_mirror_reread(gen, changes, job)) \
            .failure(lambda e: log.debug("re-reading the mirror state of %s failed: %s", job_id, e)) \
            .run()  # fmt: skip

    def _on_mirror_reread(self, gen: int, changes: int, job: JobView) -> None:
        if gen != self._gen or self.job is None:
            return
        if changes == self._changes:  # no event came meanwhile (an event is as new or newer)
            self.job = merge_view(self.job, {k: getattr(job, k) for k in MIRROR_FIELDS})
        self._render_header()

    def _set_progress(self, step: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(step, max(1, total)))
        self.progress.setFormat(f"step {step:,} of {total:,}  (%p%)" if total else "not started")

    def _show_error(self, sentence: str) -> None:
        self.error.setText(sentence)
        self.error.show()

    def _on_call_failed(self, gen: int, what: str, err: Exception) -> None:
        if gen != self._gen:
            return
        log.warning("could not %s (%s)", what, self.job_id, exc_info=err)
        self._show_error(f"Could not {what}: {err}")

    # ---------------------------------------------------------------- actions
    def _on_action_button_clicked(self, action: JobAction | str) -> None:
        if self.job_id is None:
            return
        gen, action = self._gen, JobAction(action)
        for button in self.buttons.values():
            button.setEnabled(False)
        self.error.hide()
        op(self.conn, self, self.conn.client.action, self.job_id, action, what=f"{action} the job") \
            .success(lambda job: self._on_action_done(gen, job)) \
            .failure(lambda e: self._on_action_failed(gen, action, e)).run()  # fmt: skip

    def _on_action_done(self, gen: int, job: JobView) -> None:
        if gen == self._gen and self.job is not None and job.id == self.job_id:
            self._apply(record_update(job))

    def _on_action_failed(self, gen: int, action: JobAction, err: Exception) -> None:
        if gen != self._gen:
            return
        log.warning("%s of %s failed", action, self.job_id, exc_info=err)
        sentence = f"Could not {action} the job: {err}"
        self._show_error(sentence)
        self._render_header()
        self.action_failed.emit(sentence)

    # ------------------------------------------------------------ live events
    @Slot(object)
    def _on_conn_job_changed(self, record: JobRecord) -> None:
        if record.id != self.job_id:
            return
        if self.job is None:
            self._early.append(record_update(record))
            return
        self._apply(record_update(record))

    def _apply(self, update: Update) -> None:
        assert self.job is not None
        old = self.job
        self.job = merge_view(old, update)
        self._changes += 1
        self._render_header()
        if self.job.attempt != old.attempt:
            self._reload_streams()  # a restart: the new attempt starts with empty curves and log
        elif self.job.is_terminal:
            self.log_view.poll()  # the last lines written before exit
        if self.job.state is not old.state or self.job.attempt != old.attempt:
            self._refresh_tables()
        if list(self.job.devices) != list(old.devices):
            self._read_devices()

    def _read_devices(self) -> None:
        """A record placed the job on devices (or freed them): their labels and the job dir
        come with the daemon's view only, so it is read once for them."""
        assert self.job is not None
        self.job = merge_view(
            self.job, {"device_info": [d for d in self.job.device_info if d.id in self.job.devices]}
        )
        if set(self.job.devices) == {d.id for d in self.job.device_info}:
            return
        gen, job_id = self._gen, self.job.id

        def done(view: JobView) -> None:
            if gen == self._gen and self.job is not None and view.devices == self.job.devices:
                self.job = merge_view(self.job, {"device_info": view.device_info, "job_dir": view.job_dir})
                self._render_header()

        read = op(self.conn, self, self.conn.client.job, job_id, what="read the job's devices")
        read.success(done).failure(
            lambda e: log.debug("reading the devices of %s failed: %s", job_id, e)
        ).run()

    @Slot(str, int, int)
    def _on_conn_progress_changed(self, job_id: str, step: int, total: int) -> None:
        if job_id != self.job_id:
            return
        update: Update = {"step": step, **({"total_steps": total} if total else {})}
        if self.job is None:
            self._early.append(update)
        else:
            self.job = merge_view(self.job, update)
            self._set_progress(self.job.step, self.job.total_steps)

    @Slot(str, object)
    def _on_conn_job_health_changed(self, job_id: str, health: HealthView | None) -> None:
        if job_id != self.job_id:
            return
        if self.job is None:
            self._early.append({"health": health})
        else:
            self.job = merge_view(self.job, {"health": health})
            self._changes += 1
            self._render_header()

    @Slot(str)
    def _on_conn_job_removed(self, job_id: str) -> None:
        if job_id == self.job_id:
            self.show_job(None)

    @Slot(int)
    def _on_tabs_current_changed(self, index: int) -> None:
        if self.tabs.widget(index) in (self.checkpoints, self.history):
            self._refresh_tables()  # checkpoints appear without a state change
