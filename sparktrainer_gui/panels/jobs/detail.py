"""Job detail: header and controls, then tabs for live curves, log, checkpoints, spec and history.

Every daemon call runs through ``RuntimeConnection.submit`` (off the main thread);
answers for a job that is no longer shown are dropped (a generation counter)."""

from __future__ import annotations

import logging
from typing import Any

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

from sparktrainer_gui.panels.jobs.curves import CurvesWidget
from sparktrainer_gui.panels.jobs.detail_tabs import CheckpointsTable, HistoryTable, SpecView
from sparktrainer_gui.panels.jobs.log_view import LogView
from sparktrainer_gui.panels.jobs.metrics_feed import MetricsFeed
from sparktrainer_gui.panels.jobs.trouble import MIRROR_KEYS, TERMINAL, TroubleLines, mirror_pending
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.jobs.state import JobState

log = logging.getLogger(__name__)

ACTIVE = frozenset(str(s) for s in JobState) - TERMINAL  # the runtime's rule, as the wire's strings
MIRROR_POLL_MS = (2_000, 60_000)  # first and longest wait between re-reads of a pending mirror
STATE_COLORS = {
    "PENDING": "#6b7280", "QUEUED": "#6b7280", "RUNNING": "#2f6fde", "PAUSED": "#c98a00",
    "COMPLETED": "#1e9e5a", "FAILED": "#d03b3b", "CANCELLED": "#7a7a7a",
}  # fmt: skip
ACTIONS = ("pause", "resume", "cancel", "restart")


def allowed_actions(job: dict[str, Any] | None) -> set[str]:
    """Which control buttons make sense for a job view (the daemon decides in the end)."""
    if not job:
        return set()
    state, pending = job.get("state"), job.get("pending_action")
    allowed: set[str] = set()
    if state == "RUNNING" and not pending:
        allowed.add("pause")
    if state == "PAUSED":
        allowed.add("resume")
    if state in ACTIVE and pending != "cancel":
        allowed.add("cancel")
    if state in TERMINAL:
        allowed.add("restart")
    return allowed


def _merged(job: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """A job view with a newer (partial) view of it applied."""
    merged = {**job, **change}
    if "health" not in change and change.get("state", job.get("state")) != job.get("state"):
        merged["health"] = None  # a state change: the worker that was in trouble is gone
    return merged


class JobDetail(QWidget):
    """Everything about one job: live curves, log, checkpoints, spec, history, controls."""

    action_failed = Signal(str)  # a sentence (also shown in the header)
    job_loaded = Signal(str)  # job id, after the job view arrived

    def __init__(self, conn: RuntimeConnection, parent: QWidget | None = None):
        super().__init__(parent)
        self.conn = conn
        self.job_id: str | None = None
        self.job: dict[str, Any] | None = None
        self._gen = 0
        # Changes of the shown job that arrive while its view loads. The stream is ordered and
        # every change is published, so these applied over the loaded view, in order, end at
        # the newest state (dropping them left a job shown QUEUED that had started meanwhile).
        self._early: list[dict[str, Any]] = []

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
        self.checkpoints.set_artifacts([])
        self.history.set_transitions([])
        self.spec.set_spec(None)
        self._render_header()
        self.stack.setCurrentIndex(0 if job_id is None else 1)
        if job_id is None:
            return
        gen = self._gen
        self.conn.submit(
            self.conn.client.job, job_id,
            on_done=lambda job: self._on_job_loaded(gen, job),
            on_error=lambda e: self._on_call_failed(gen, "load this job", e),
        )  # fmt: skip

    def _on_job_loaded(self, gen: int, job: dict[str, Any]) -> None:
        if gen != self._gen:
            return
        for change in self._early:
            job = _merged(job, change)
        self._early.clear()
        self.job = job
        self._render_header()
        self.spec.set_spec(job.get("spec"))
        self._reload_streams()
        self._refresh_tables()
        self.job_loaded.emit(job["id"])

    def _reload_streams(self) -> None:
        assert self.job is not None
        attempt = int(self.job.get("attempt") or 1)
        self.feed.load(self.job_id, attempt)
        self.log_view.load(self.job_id, attempt)

    def _refresh_tables(self) -> None:
        if self.job_id is None:
            return
        gen, job_id = self._gen, self.job_id
        self.conn.submit(
            self.conn.client.artifacts, job_id,
            on_done=lambda rows: gen == self._gen and self.checkpoints.set_artifacts(rows),
            on_error=lambda e: self._on_call_failed(gen, "list the checkpoints", e),
        )  # fmt: skip
        self.conn.submit(
            self.conn.client.transitions, job_id,
            on_done=lambda rows: gen == self._gen and self.history.set_transitions(rows),
            on_error=lambda e: self._on_call_failed(gen, "load the state history", e),
        )  # fmt: skip

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
        state = job.get("state", "?")
        pending = job.get("pending_action")
        color = STATE_COLORS.get(state, "#6b7280")
        label = state.capitalize() + (f" · {pending} requested" if pending else "")
        self.state_badge.setText(label)
        self.state_badge.setStyleSheet(
            f"background: {color}; color: white; border-radius: 8px; padding: 2px 10px; font-weight: 600;"
        )
        self.title.setText(job.get("name") or job.get("id", ""))
        self.title.setToolTip(job.get("id", ""))
        self._set_progress(int(job.get("step") or 0), int(job.get("total_steps") or 0))
        devices = ", ".join(job.get("devices") or []) or "—"
        bits = [f"Attempt {job.get('attempt', 1)}", f"Device {devices}"]
        if job.get("experiment"):
            bits.append(f"Experiment {job['experiment']}")
        bits.append(f"MLflow run {job.get('mlflow_run_id') or '—'}")
        bits.append(f"ID {job.get('id', '')}")
        self.info.setText("   ·   ".join(bits))
        self.reason.setText(job.get("reason") or "")
        self.reason.setVisible(bool(job.get("reason")))
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
        gen, changes = self._gen, self._changes
        self.conn.submit(
            self.conn.client.job, self.job_id,
            on_done=lambda job: self._on_mirror_reread(gen, changes, job),
            on_error=lambda e: log.debug("re-reading the mirror state of %s failed: %s", self.job_id, e),
        )  # fmt: skip

    def _on_mirror_reread(self, gen: int, changes: int, job: dict[str, Any]) -> None:
        if gen != self._gen or self.job is None:
            return
        if changes == self._changes:  # no event came meanwhile (an event is as new or newer)
            self.job.update({k: job.get(k) for k in MIRROR_KEYS})
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
    def _on_action_button_clicked(self, action: str) -> None:
        if self.job_id is None:
            return
        gen = self._gen
        for button in self.buttons.values():
            button.setEnabled(False)
        self.error.hide()
        self.conn.submit(
            self.conn.client.action, self.job_id, action,
            on_done=lambda job: self._on_action_done(gen, job),
            on_error=lambda e: self._on_action_failed(gen, action, e),
        )  # fmt: skip

    def _on_action_done(self, gen: int, job: dict[str, Any]) -> None:
        if gen == self._gen:
            self._on_conn_job_changed(job)

    def _on_action_failed(self, gen: int, action: str, err: Exception) -> None:
        if gen != self._gen:
            return
        log.warning("%s of %s failed", action, self.job_id, exc_info=err)
        sentence = f"Could not {action} the job: {err}"
        self._show_error(sentence)
        self._render_header()
        self.action_failed.emit(sentence)

    # ------------------------------------------------------------ live events
    @Slot(dict)
    def _on_conn_job_changed(self, job: dict[str, Any]) -> None:
        if job.get("id") != self.job_id:
            return
        if self.job is None:
            self._early.append(job)
            return
        old = self.job
        self.job = _merged(old, job)
        self._changes += 1
        self._render_header()
        if int(job.get("attempt") or 1) != int(old.get("attempt") or 1):
            self._reload_streams()  # a restart: the new attempt starts with empty curves and log
        elif job.get("state") in TERMINAL:
            self.log_view.poll()  # the last lines written before exit
        if job.get("state") != old.get("state") or job.get("attempt") != old.get("attempt"):
            self._refresh_tables()

    @Slot(str, int, int)
    def _on_conn_progress_changed(self, job_id: str, step: int, total: int) -> None:
        if job_id == self.job_id and self.job is None:
            self._early.append({"step": step, **({"total_steps": total} if total else {})})
        elif job_id == self.job_id and self.job is not None:
            total = total or int(self.job.get("total_steps") or 0)
            self.job["step"], self.job["total_steps"] = step, total
            self._set_progress(step, total)

    @Slot(str, object)
    def _on_conn_job_health_changed(self, job_id: str, health: dict[str, Any] | None) -> None:
        if job_id == self.job_id and self.job is None:
            self._early.append({"health": health})
        elif job_id == self.job_id and self.job is not None:
            self.job["health"] = health
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
