"""The labeling session's talk with the daemon, all off the main thread: list datasets and
versions, load a version's labels (and a draft left by an earlier session), autosave
the working state as a draft (debounced: at most the last edit is lost), and save the
labels as a new dataset version. Every call is an ``ops.op`` bound to the session (a panel
closed while a call runs drops its answer); the answers are the contract's views."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from sparktrainer_gui.ops import op
from sparktrainer_gui.panels.labeling.document import DocBody
from sparktrainer_gui.panels.labeling.editor import LabelEditor
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.datasets import VersionView
from trainer_runtime.api.schema.labels import DraftView, LabelsView
from trainer_runtime.client.client import Client

log = logging.getLogger(__name__)
AUTOSAVE_MS = 700


@dataclass(frozen=True)
class Fetched:
    """A version's labels and the unsaved draft left by an earlier session (or None)."""

    name: str
    labels: LabelsView
    draft: DraftView | None


def fetch_labels(client: Client, name: str, version: int | str) -> Fetched:
    return Fetched(name, client.labels(name, version), client.labels_draft(name))


def put_draft(client: Client, name: str, body: DocBody) -> None:
    client.labels_draft_put(name, body.base_version, body.annotations, body.classes)


def drop_draft(client: Client, name: str) -> None:
    client.labels_draft_delete(name)


def save_labels(client: Client, name: str, body: DocBody) -> VersionView:
    """The new version (``labels_save`` answers with it)."""
    return client.labels_save(name, body.base_version, body.annotations, body.classes, body.message)


class LabelSession(QObject):
    datasets_listed = Signal(list)  # [DatasetView]
    versions_listed = Signal(str, list)  # dataset, [VersionView]
    draft_found = Signal(object)  # the DraftView: the panel asks whether to restore it
    loaded = Signal()
    saved = Signal(object)  # the new version (a VersionView)
    draft_saved = Signal()
    message_posted = Signal(str)

    def __init__(self, conn: RuntimeConnection, editor: LabelEditor, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.conn, self.editor = conn, editor
        self.pending: Fetched | None = None  # labels waiting for the answer about the draft
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(AUTOSAVE_MS)
        self._timer.timeout.connect(self.autosave_now)
        self._saving = False
        self._dirty = False
        self.loading = False
        editor.edited.connect(self._on_editor_edited)

    # ------------------------------------------------------------ listing
    def list_datasets(self) -> None:
        op(self.conn, self, self.conn.client.datasets, what="list the datasets") \
            .success(self.datasets_listed.emit).failure(self._failed).run()  # fmt: skip

    def list_versions(self, name: str) -> None:
        op(self.conn, self, self.conn.client.dataset_versions, name, what=f"list the versions of {name}") \
            .success(lambda versions: self.versions_listed.emit(name, versions)).failure(self._failed).run()  # fmt: skip

    # ------------------------------------------------------------ loading
    def open(self, name: str, version: int | str = "latest") -> None:
        self.loading = True
        op(self.conn, self, fetch_labels, self.conn.client, name, version, what=f"load the labels of {name}") \
            .success(self._on_fetched).failure(self._failed).run()  # fmt: skip

    def _on_fetched(self, got: Fetched) -> None:
        self.pending = got
        if got.draft is not None:
            self.draft_found.emit(got.draft)  # the panel answers with restore(draft or None)
        else:
            self.restore(None)

    def restore(self, draft: DraftView | None) -> None:
        """Finish loading: with ``draft``'s annotations over the version's, or without."""
        if self.pending is None:
            return
        got, self.pending = self.pending, None
        self.apply(got.name, got.labels, draft)
        if got.draft is not None and draft is None:  # declined: the version's labels are the working state
            op(self.conn, self, drop_draft, self.conn.client, got.name, what="drop the draft").run()

    def apply(self, name: str, labels: LabelsView, draft: DraftView | None = None) -> None:
        """Show ``labels`` (the answer of ``GET …/labels``), with ``draft`` over them."""
        try:
            self.editor.doc.load(name, labels, draft)
        except ValueError as err:
            self.loading = False
            self.message_posted.emit(f"Could not read the labels of {name}: {err}")
            return
        self.loading = False
        self.loaded.emit()
        if draft is not None:
            self.message_posted.emit(f"Restored the unsaved labels of {name}.")

    # ------------------------------------------------------------ autosave
    @Slot(str)
    def _on_editor_edited(self, _path: str) -> None:
        if self.editor.doc.dataset and not self.loading and not self._timer.isActive():
            self._timer.start()  # not restarted by later edits: saved at most AUTOSAVE_MS after the first

    @Slot()
    def autosave_now(self) -> None:
        self._timer.stop()
        doc = self.editor.doc
        if not doc.dataset:
            return
        if self._saving:
            self._dirty = True
            return
        self._saving, self._dirty = True, False
        body = doc.draft_body()  # taken on the main thread: a consistent snapshot
        op(self.conn, self, put_draft, self.conn.client, doc.dataset, body, what="autosave the labels") \
            .success(self._on_draft_done).failure(self._on_draft_failed).run()  # fmt: skip

    def autosave_pending(self) -> bool:
        return self._timer.isActive() or self._saving or self._dirty

    def _on_draft_done(self, _result: Any) -> None:
        self._saving = False
        if self._dirty:
            self.autosave_now()
        else:
            self.draft_saved.emit()

    def _on_draft_failed(self, err: Exception) -> None:
        self._saving = False
        log.warning("autosave failed: %s", err)
        self.message_posted.emit(
            f"Could not autosave the labels ({err}); they are still here, keep the app open."
        )

    # ------------------------------------------------------------ saving
    def save_version(self, message: str = "") -> bool:
        """Save as a new version; refused (with the shapes named) when a shape is invalid."""
        doc = self.editor.doc
        problems = doc.problems()
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            self.message_posted.emit(f"Cannot save: {problems[0]}{more}. Fix or delete the shape first.")
            return False
        self._timer.stop()
        op(self.conn, self, save_labels, self.conn.client, doc.dataset, doc.save_body(message),
           what="save the labels").success(self._on_saved).failure(self._failed).run()  # fmt: skip
        return True

    def _on_saved(self, version: VersionView) -> None:
        self.message_posted.emit(f"Saved {self.editor.doc.dataset} version {version.version}.")
        self.saved.emit(version)

    def _failed(self, err: Exception) -> None:
        self.loading = False
        self.message_posted.emit(f"{err}")
