"""The labeling session's talk with the daemon, all off the main thread: list datasets and
versions, load a version's labels (and a draft left by an earlier session), autosave
the working state as a draft (debounced: at most the last edit is lost), and save the
labels as a new dataset version."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from shiboken6 import isValid

from sparktrainer_gui.panels.labeling.editor import LabelEditor
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.client.client import Client

log = logging.getLogger(__name__)
AUTOSAVE_MS = 700


def submit(conn: RuntimeConnection, owner: QObject, fn: Callable[..., Any], *args: Any,
           on_done: Callable[[Any], None] | None = None,
           on_error: Callable[[Exception], None] | None = None) -> None:  # fmt: skip
    """``conn.submit`` whose callbacks are dropped once ``owner`` is deleted (a panel closed
    while its call was running); a late error still reaches the log."""

    def done(result: Any) -> None:
        if isValid(owner) and on_done is not None:
            on_done(result)

    def failed(err: Exception) -> None:
        if not isValid(owner):
            log.info("a labeling call ended after its panel closed: %s", err)
        elif on_error is not None:
            on_error(err)
        else:
            conn.call_failed.emit(str(err))

    conn.submit(fn, *args, on_done=done, on_error=failed)


def fetch_labels(client: Client, name: str, version: int | str) -> dict[str, Any]:
    """{"labels": the version's labels, "draft": the unsaved draft or None}."""
    return {"labels": client.labels(name, version), "draft": client.labels_draft(name)}


def put_draft(client: Client, name: str, body: dict[str, Any]) -> None:
    client.labels_draft_put(name, body["base_version"], body["annotations"], body["classes"])


def drop_draft(client: Client, name: str) -> None:
    client.labels_draft_delete(name)


def save_labels(client: Client, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """The new version (``labels_save`` answers with it)."""
    return client.labels_save(
        name, body["base_version"], body["annotations"], body["classes"], body["message"]
    )


class LabelSession(QObject):
    datasets_listed = Signal(list)  # [{"name", ...}]
    versions_listed = Signal(str, list)  # dataset, [{"version", ...}]
    draft_found = Signal(dict)  # the draft: the panel asks whether to restore it
    loaded = Signal()
    saved = Signal(dict)  # the new version ({"dataset", "version", "manifest_hash", ...})
    draft_saved = Signal()
    message_posted = Signal(str)

    def __init__(self, conn: RuntimeConnection, editor: LabelEditor, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.conn, self.editor = conn, editor
        self.pending: dict[str, Any] | None = None  # labels waiting for the draft answer
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
        submit(
            self.conn,
            self,
            self.conn.client.datasets,
            on_done=self.datasets_listed.emit,
            on_error=self._failed,
        )

    def list_versions(self, name: str) -> None:
        submit(self.conn, self, self.conn.client.dataset_versions, name,
                         on_done=lambda versions: self.versions_listed.emit(name, versions),
                         on_error=self._failed)  # fmt: skip

    # ------------------------------------------------------------ loading
    def open(self, name: str, version: int | str = "latest") -> None:
        self.loading = True
        submit(self.conn, self, fetch_labels, self.conn.client, name, version,
                         on_done=lambda got: self._on_fetched(name, got), on_error=self._failed)  # fmt: skip

    def _on_fetched(self, name: str, got: dict[str, Any]) -> None:
        labels, draft = got["labels"], got["draft"]
        self.pending = {"name": name, "labels": labels, "had_draft": bool(draft)}
        if draft and draft.get("annotations") is not None:
            self.draft_found.emit(draft)  # the panel answers with restore(draft or None)
        else:
            self.restore(None)

    def restore(self, draft: dict[str, Any] | None) -> None:
        """Finish loading: with ``draft``'s annotations over the version's, or without."""
        if self.pending is None:
            return
        name, labels, had_draft = self.pending["name"], self.pending["labels"], self.pending["had_draft"]
        self.pending = None
        self.apply(name, labels, draft)
        if had_draft and draft is None:  # declined: the version's labels are the working state
            submit(self.conn, self, drop_draft, self.conn.client, name)

    def apply(self, name: str, labels: dict[str, Any], draft: dict[str, Any] | None = None) -> None:
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
        submit(self.conn, self, put_draft, self.conn.client, doc.dataset, body,
                         on_done=self._on_draft_done, on_error=self._on_draft_failed)  # fmt: skip

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
        submit(self.conn, self, save_labels, self.conn.client, doc.dataset, doc.save_body(message),
                         on_done=self._on_saved, on_error=self._failed)  # fmt: skip
        return True

    def _on_saved(self, version: dict[str, Any]) -> None:
        self.message_posted.emit(f"Saved {self.editor.doc.dataset} version {version.get('version')}.")
        self.saved.emit(version)

    def _failed(self, err: Exception) -> None:
        self.loading = False
        self.message_posted.emit(f"{err}")
