"""Status-bar widgets: the runtime connection, a live device summary and the MLflow mirror.

The device summary and the mirror's state come from the daemon's status, fetched off the
main thread on job changes (debounced) and every few seconds while connected."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from sparktrainer_gui import theme
from sparktrainer_gui.ops import op
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.jobs.state import JobState

if TYPE_CHECKING:
    from trainer_runtime.api.schema.jobs import StatusView

REFRESH_MS = 4000
# The dots borrow the job states' colours: fine like a running job, waiting like a queued one.
CONNECTION_COLORS = {"connected": JobState.RUNNING, "connecting": JobState.QUEUED}
TROUBLE, BEHIND = JobState.FAILED, JobState.PAUSED


def device_summary(status: StatusView) -> str:
    """Two CPU slots, one busy → "2 CPU slots, 1 busy"; whole GPUs and MIG slices are told apart."""
    dev = status.devices
    total, busy = dev.total, dev.busy
    if dev.kind == "gpu":
        slices = sum(1 for d in dev.devices if d.kind == "mig")
        if slices:  # schedulable units are whole GPUs plus MIG slices; say which is which
            gpus = len({d.gpu or d.id for d in dev.devices})
            noun = f"{'GPU' if gpus == 1 else 'GPUs'} ({slices} MIG {'slice' if slices == 1 else 'slices'})"
            total = gpus
        else:
            noun = "GPU" if total == 1 else "GPUs"
    else:
        noun = "CPU slot" if total == 1 else "CPU slots"
    return f"{total} {noun}, {busy} busy" if busy else f"{total} {noun}, all free"


def mlflow_summary(status: StatusView) -> tuple[JobState, str, str] | None:
    """The mirror's state from ``/v1/status`` as (colour, short text, the whole sentence), or
    None when it is off or fine. A permanent error (the mirror stopped trying) is told apart
    from a transient one (it retries and catches up)."""
    mirror = status.mlflow
    if not mirror.enabled:
        return None
    if mirror.permanent_error:
        return (TROUBLE, "MLflow: not mirrored", f"MLflow is not mirrored: {mirror.permanent_error}")
    if mirror.last_error:
        return (BEHIND, "MLflow: behind", f"MLflow is behind and retrying: {mirror.last_error}")
    return None


class RuntimeStatus(QWidget):
    def __init__(self, conn: RuntimeConnection, parent: QWidget | None = None):
        super().__init__(parent)
        self.conn = conn
        self._in_flight = False
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 6, 0)
        lay.setSpacing(14)
        self.devices = QLabel("", self)
        self.devices.setObjectName("deviceSummary")
        self.connection = QLabel(self)
        self.connection.setObjectName("connectionStatus")
        self.mlflow = QLabel(self)
        self.mlflow.setObjectName("mlflowStatus")
        self.mlflow.hide()
        self._mlflow: tuple[JobState, str, str] | None = None
        lay.addWidget(self.mlflow)
        lay.addWidget(self.devices)
        lay.addWidget(self.connection)
        self._state = ("connecting", "Connecting to the runtime…")
        self._timer = QTimer(self, interval=REFRESH_MS)
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._timer.timeout.connect(self.refresh)
        self._debounce.timeout.connect(self.refresh)
        conn.connected.connect(self._on_conn_connected)
        conn.disconnected.connect(self._on_conn_disconnected)
        conn.start_refused.connect(self._on_conn_start_refused)
        conn.job_changed.connect(self._on_conn_job_changed)
        theme.notifier.theme_changed.connect(self._on_theme_changed)
        self._render()

    def refresh(self) -> None:
        if self._in_flight or not self.conn.is_connected or not self.window().isVisible():
            return  # a closed window does not poll (its connection may be stopped)
        self._in_flight = True
        op(self.conn, self, self.conn.client.status, what="read the runtime's status") \
            .success(self._on_status_done).failure(self._on_status_error).run()  # fmt: skip

    def _on_status_done(self, status: StatusView) -> None:
        self._in_flight = False
        self._show_status(status)

    def _show_status(self, status: StatusView) -> None:
        self.devices.setText(device_summary(status))
        self._mlflow = mlflow_summary(status)
        self._render_mlflow()

    def _on_status_error(self, _err: Exception) -> None:
        self._in_flight = False  # the connection reports the outage itself

    def _render(self) -> None:
        kind, text = self._state
        dot = theme.state_color(CONNECTION_COLORS.get(kind, TROUBLE))
        self.connection.setText(f'<span style="color:{dot}">●</span>&nbsp;{html.escape(text)}')
        self.connection.setToolTip(text)

    def _render_mlflow(self) -> None:
        self.mlflow.setVisible(self._mlflow is not None)
        if self._mlflow is not None:
            color, text, sentence = self._mlflow
            dot = theme.state_color(color)
            self.mlflow.setText(f'<span style="color:{dot}">●</span>&nbsp;{html.escape(text)}')
            self.mlflow.setToolTip(sentence)

    @Slot(object)
    def _on_conn_connected(self, status: StatusView) -> None:
        self._state = ("connected", f"Runtime {status.version} connected")
        self._show_status(status)
        self._render()
        self._timer.start()

    @Slot(str)
    def _on_conn_disconnected(self, reason: str) -> None:
        short = reason if len(reason) <= 70 else reason[:69] + "…"
        self._state = ("disconnected", f"Disconnected: {short}")
        self.devices.setText("")
        self._mlflow = None
        self._render_mlflow()
        self._timer.stop()
        self._render()
        self.connection.setToolTip(reason)

    @Slot(str, float)
    def _on_conn_start_refused(self, sentence: str, _retry_in: float) -> None:
        self._on_conn_disconnected(sentence)
        self._state = ("disconnected", "Runtime not started")
        self._render()
        self.connection.setToolTip(sentence)

    @Slot(object)
    def _on_conn_job_changed(self, _job: object) -> None:
        self._debounce.start()

    @Slot(str)
    def _on_theme_changed(self, _resolved: str) -> None:
        self._render()
        self._render_mlflow()
