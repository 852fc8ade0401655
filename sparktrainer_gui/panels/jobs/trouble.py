"""The job detail's warning lines: a worker in trouble (the daemon's ``health``: stopped, or
no progress and no CPU for a while) and an MLflow mirror that is behind (it retries) or gave
up on the job (``mlflow_done`` with an error). Each line is the daemon's sentence, whole:
plain text, wrapped, selectable."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from sparktrainer_gui.panels.jobs.table_model import health_sentence
from trainer_runtime.api.schema.jobs import JobRow

WARNING_STYLE = (
    "color: palette(text); background: rgba(194, 65, 12, 0.12); "
    "border-left: 3px solid #c2410c; padding: 4px 8px;"
)
BEHIND_STYLE = "color: palette(placeholder-text); padding: 0 8px;"
MIRROR_FIELDS = ("mlflow_run_id", "mlflow_error", "mlflow_done")


def mlflow_line(job: JobRow) -> tuple[str, bool] | None:
    """What the job view says of its MLflow mirror: (sentence, permanent), or None when fine.
    A permanent error (the mirror gave up on this job: ``mlflow_done`` with an error) is told
    apart from a transient one (it retries and catches up)."""
    error = (job.mlflow_error or "").strip()
    if not error:
        return None
    if job.mlflow_done:
        return f"MLflow: not mirrored — {error}", True
    return f"MLflow: behind — retrying: {error}", False


def mirror_pending(job: JobRow | None) -> bool:
    """Whether the mirror's outcome for this job may still change without a state change
    (the daemon's mirror thread publishes no events): a finished job not mirrored yet, or
    one whose mirror is behind."""
    if job is None or job.mlflow_done:
        return False
    return job.is_terminal or bool(job.mlflow_error)


def sentence_label(name: str, style: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setStyleSheet(style)
    label.hide()
    return label


class TroubleLines(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.health = sentence_label("health", WARNING_STYLE)
        self.mlflow = sentence_label("mlflow", BEHIND_STYLE)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.health)
        lay.addWidget(self.mlflow)

    def show_view(self, job: JobRow | None) -> None:
        health = job.health if job is not None else None
        self.health.setText(health_sentence(health) if health else "")
        self.health.setVisible(health is not None)
        mirror = mlflow_line(job) if job is not None else None
        self.mlflow.setText(mirror[0] if mirror else "")
        self.mlflow.setStyleSheet(WARNING_STYLE if mirror and mirror[1] else BEHIND_STYLE)
        self.mlflow.setVisible(mirror is not None)
        self.setVisible(health is not None or mirror is not None)
