"""The suggestions box beside the class list: where the suggestions came from, accept and
reject buttons, and "accept all at or above" a threshold slider. ``choose()`` lists the
finished pre-labelling jobs of the open dataset, or starts a new one with a model folder
(and loads its suggestions when it completes)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from sparktrainer_gui.ops import op
from sparktrainer_gui.panels.labeling.editor import LabelEditor
from sparktrainer_gui.panels.labeling.suggestions import SuggestionLayer
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.jobs import JobView
from trainer_runtime.api.schema.labels import SuggestionsView
from trainer_runtime.client.client import Client
from trainer_runtime.jobs.state import JobState

NEW_JOB = "Start a new pre-labelling job…"
LOOKED_AT = 50  # finished jobs whose spec is read to find the pre-labelling ones (newest first)


def fetch_suggestions(client: Client, job_id: str) -> SuggestionsView:
    data = client.job_suggestions(job_id)
    if data is None:
        raise LookupError(f"job {job_id} has written no suggestions yet")
    return data


def prelabel_jobs(client: Client, dataset: str) -> list[JobView]:
    """The completed pre-labelling jobs of ``dataset``: the list rows carry no spec, so the
    newest completed jobs are read one by one."""
    rows = sorted(client.jobs([JobState.COMPLETED]), key=lambda r: r.created_at, reverse=True)[:LOOKED_AT]
    found = []
    for row in rows:
        job = client.job(row.id)
        if job.spec.get("recipe") == "prelabel" and (job.spec.get("dataset") or {}).get("name") == dataset:
            found.append(job)
    return found


class SuggestionsBox(QGroupBox):
    def __init__(self, conn: RuntimeConnection, editor: LabelEditor, layer: SuggestionLayer,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__("Suggestions", parent)
        self.conn, self.editor, self.layer = conn, editor, layer
        self.waiting_for: str | None = None  # a started job whose suggestions load when it completes
        self.info = QLabel("None shown. Suggestions… picks a pre-labelling job.", self)
        self.info.setWordWrap(True)
        self.accept_button = QPushButton("Accept (Enter)", self)
        self.reject_button = QPushButton("Reject (Del)", self)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, 100)
        self.slider.setValue(50)
        self.bulk_button = QPushButton(self)
        row = QHBoxLayout()
        row.addWidget(self.accept_button)
        row.addWidget(self.reject_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.info)
        layout.addLayout(row)
        layout.addWidget(self.slider)
        layout.addWidget(self.bulk_button)
        self.accept_button.clicked.connect(lambda: layer.accept())
        self.reject_button.clicked.connect(lambda: layer.reject())
        self.bulk_button.clicked.connect(self._on_bulk_clicked)
        self.slider.valueChanged.connect(self._refresh)
        layer.changed.connect(self._refresh)
        conn.job_changed.connect(self._on_conn_job_changed)
        self._refresh()

    def threshold(self) -> float:
        return self.slider.value() / 100

    @Slot()
    def _refresh(self, *_args: Any) -> None:
        from sparktrainer_gui.panels.labeling.suggestions import above

        n_all = self.layer.count()
        n_above = sum(len(above(v, self.threshold())) for v in self.layer.pending.values())
        self.bulk_button.setText(f"Accept all ≥ {self.threshold():.2f} ({n_above})")
        self.bulk_button.setEnabled(n_above > 0)
        here = self.layer.here()
        has = self.layer.selected is not None
        self.accept_button.setEnabled(has)
        self.reject_button.setEnabled(has)
        if n_all:
            chosen = here[self.layer.selected] if has and self.layer.selected is not None else None
            which = f" Selected: {chosen.label} {chosen.score:.2f}." if chosen else ""
            self.info.setText(
                f"{n_all} pending from {self.layer.source or 'a job'}, {len(here)} on this image.{which}"
            )
        elif self.layer.source:
            self.info.setText(f"All suggestions from {self.layer.source} are decided.")

    @Slot()
    def _on_bulk_clicked(self) -> None:
        n = self.layer.accept_above(self.threshold())
        self.editor.message_posted.emit(f"Accepted {n} suggestion{'s' * (n != 1)} (one undo step).")

    # ------------------------------------------------------------ jobs
    def choose(self) -> None:
        dataset = self.editor.doc.dataset
        if not dataset:
            self.editor.message_posted.emit("Open a dataset first.")
            return
        op(self.conn, self, prelabel_jobs, self.conn.client, dataset, what="list the pre-labelling jobs") \
            .success(self._on_jobs_listed).failure(lambda err: self.editor.message_posted.emit(str(err))).run()  # fmt: skip

    def _on_jobs_listed(self, done: list[JobView]) -> None:
        labels = [f"{j.id} · {(j.spec.get('model') or {}).get('path', '')}" for j in done]
        choice, ok = QInputDialog.getItem(
            self, "Suggestions", "Show the suggestions of:", [*labels, NEW_JOB], 0, False
        )
        if not ok:
            return
        if choice == NEW_JOB:
            self.start_job()
        else:
            self.load_job(done[labels.index(choice)].id)

    def load_job(self, job_id: str) -> None:
        op(self.conn, self, fetch_suggestions, self.conn.client, job_id, what="read the suggestions") \
            .success(lambda data: self._on_fetched(job_id, data)) \
            .failure(lambda err: self.editor.message_posted.emit(f"No suggestions from job {job_id} yet ({err}).")) \
            .run()  # fmt: skip

    def _on_fetched(self, job_id: str, data: SuggestionsView) -> None:
        n = self.layer.load(data, f"job {job_id}")
        self.editor.message_posted.emit(f"{n} suggestion{'s' * (n != 1)} from job {job_id}.")

    def start_job(self, model_dir: str | None = None) -> None:
        model_dir = model_dir or QFileDialog.getExistingDirectory(
            self, "Model folder (an image-classification final/ folder or a Hugging Face detector)"
        )
        if not model_dir:
            return
        doc = self.editor.doc
        spec = {"name": f"prelabel-{doc.dataset}", "recipe": "prelabel", "model": {"path": model_dir},
                "dataset": {"name": doc.dataset, "version": doc.base_version},
                "prelabel": {"only_unlabeled": True, "min_score": 0.0}}  # fmt: skip
        op(self.conn, self, self.conn.client.submit, spec, what="start the pre-labelling job") \
            .success(self._on_job_started) \
            .failure(lambda err: self.editor.message_posted.emit(f"Could not start it: {err}")).run()  # fmt: skip

    def _on_job_started(self, job: JobView) -> None:
        self.waiting_for = job.id
        self.info.setText(
            f"Pre-labelling job {self.waiting_for} is running; its suggestions show when it ends."
        )
        self.editor.message_posted.emit(f"Started pre-labelling job {self.waiting_for}.")

    @Slot(object)
    def _on_conn_job_changed(self, job: Any) -> None:
        """A job's record changed (``JobRecord``): the started pre-labelling job has ended."""
        if job.id != self.waiting_for or not job.is_terminal:
            return
        self.waiting_for = None
        if job.state is JobState.COMPLETED:
            self.load_job(job.id)
        else:
            self.info.setText(f"Pre-labelling job {job.id} {job.state.value.lower()}: {job.reason or ''}")
