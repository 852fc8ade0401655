"""The import dialog: detect (off the main thread), preview, correct, name, import with a
progress bar and Cancel. Every daemon call is an ``ops.op`` bound to the dialog; progress arrives
as ``dataset_import`` events and, in case the stream is down, by polling. The task is the
contract's ``ImportTaskView``: its state is an ``ImportState``, never a string spelled here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QDialog, QListWidgetItem, QTableWidgetItem, QWidget

from sparktrainer_gui.forms.import_dataset_ui import Ui_ImportDatasetForm
from sparktrainer_gui.ops import op
from sparktrainer_gui.panels.datasets.drops import default_name, human_bytes
from sparktrainer_gui.panels.datasets.thumbnails import ThumbnailLoader
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.datasets import ImportRequest, ImportTaskView, PreviewView
from trainer_runtime.datasets.errors import DatasetError, check_name
from trainer_runtime.datasets.formats import FORMATS, MODALITIES
from trainer_runtime.datasets.tasks import ImportState

POLL_MS = 400
ERROR_STYLE = "color: #d93025;"
STYLE = 'QLabel[role="error"] { color: #d93025; }'


def chat_line(preview: PreviewView) -> str:
    """The detected chat/instruction format of a chat dataset (the SFT reader's name for its rows,
    ``meta.chat_format``) and the fields it read, as a line of the summary; "" for other data."""
    chat = preview.meta.get("chat_format")
    if not chat:
        return ""
    fields = ", ".join(str(f) for f in preview.meta.get("fields") or [])
    return f"\nChat format: {chat}" + (f" (fields {fields})" if fields else "")


class ImportDialog(QDialog):
    imported = Signal(str, object)  # the dataset's name, the new version (a VersionView)

    def __init__(self, conn: RuntimeConnection, source: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.conn, self.source = conn, source
        self.preview: PreviewView | None = None
        self.task: ImportTaskView | None = None  # the running (or last) import
        self.failure: str | None = None  # why the import could not start
        self._starting = False  # asked the daemon to start; no task yet
        self._detecting = False
        self._thumbs = ThumbnailLoader(72, 64, self)
        self._thumbs.ready.connect(self._on_thumbs_ready)
        self._build()
        self._poll = QTimer(self, interval=POLL_MS)
        self._poll.timeout.connect(self._on_poll_timeout)
        conn.dataset_import_changed.connect(self._on_conn_import_changed)
        self.detect()

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        """Compose ``ui/import_dataset.ui`` and name its widgets on ``self`` as the code uses them."""
        self.form = f = Ui_ImportDatasetForm()
        f.setupUi(self)
        self.setStyleSheet(STYLE)
        self.setObjectName("datasetImportDialog")
        f.source_label.setText(str(self.source))
        for fmt in FORMATS:
            f.format_combo.addItem(fmt, fmt)
        for m in MODALITIES:
            f.modality_combo.addItem(m, m)
        f.name_edit.setText(default_name(self.source))
        f.name_error.hide()
        f.status_label.setObjectName("importStatus")
        for name in ("format_combo", "modality_combo", "summary_label", "name_edit", "name_error",
                     "preview_stack", "thumb_list", "rows_table", "status_label", "progress",
                     "import_button", "cancel_button"):  # fmt: skip
            setattr(self, name, getattr(f, name))
        f.format_combo.activated.connect(self._on_format_combo_activated)
        f.modality_combo.activated.connect(self._on_format_combo_activated)
        f.name_edit.textChanged.connect(self._update_buttons)
        f.import_button.clicked.connect(self.start_import)
        f.cancel_button.clicked.connect(self.reject)
        self._update_buttons()

    # ----------------------------------------------------------------- detect
    def detect(self, fmt: str | None = None, modality: str | None = None) -> None:
        self._detecting = True
        self.summary_label.setText("Reading the files…")
        self._set_status("")
        self._update_buttons()
        op(self.conn, self, self.conn.client.dataset_detect, str(self.source), fmt, modality,
           what="read the dataset").success(self._on_detected).failure(self._on_detect_failed).run()  # fmt: skip

    @Slot()
    def _on_format_combo_activated(self) -> None:
        self.detect(self.format_combo.currentData(), self.modality_combo.currentData())

    def _on_detected(self, preview: PreviewView) -> None:
        self._detecting = False
        self.preview = preview
        for combo, value in ((self.format_combo, preview.format), (self.modality_combo, preview.modality)):
            combo.setCurrentIndex(max(0, combo.findData(value)))
        classes = preview.classes
        shown = ", ".join(f"{k} ({v})" for k, v in list(classes.items())[:8])
        more = f" and {len(classes) - 8} more" if len(classes) > 8 else ""
        self.summary_label.setText(
            f"{preview.items:,} items in {preview.files:,} files, {human_bytes(preview.total_bytes)}"
            + (f"\n{len(classes)} classes: {shown}{more}" if classes else "")
            + chat_line(preview)
        )
        self._fill_preview(preview)
        self._update_buttons()

    def _on_detect_failed(self, err: Exception) -> None:
        self._detecting = False
        self.preview = None
        self.summary_label.setText("Not importable as it is.")
        self._set_status(str(err), error=True)
        self._update_buttons()

    def _fill_preview(self, preview: PreviewView) -> None:
        samples = preview.samples  # a sample is the file's own fields (an image's path, label...)
        if preview.modality == "image":
            self.thumb_list.clear()
            base = self.source.parent if self.source.is_file() else self.source
            for s in preview.image_samples:
                item = QListWidgetItem(s.label or Path(s.path).name, self.thumb_list)
                item.setToolTip(s.path)
                if not preview.archive:
                    path = str(base / s.path)
                    item.setData(Qt.ItemDataRole.UserRole, path)
                    pix = self._thumbs.get(path)
                    if pix is not None:
                        item.setIcon(QIcon(pix))
            self.preview_stack.setCurrentWidget(self.thumb_list)
            return
        keys: list[str] = []
        for s in samples:
            keys += [k for k in s if k not in keys]
        self.rows_table.clear()
        self.rows_table.setColumnCount(len(keys))
        self.rows_table.setRowCount(len(samples))
        self.rows_table.setHorizontalHeaderLabels(keys)
        for r, s in enumerate(samples):
            for c, k in enumerate(keys):
                self.rows_table.setItem(r, c, QTableWidgetItem("" if s.get(k) is None else str(s.get(k))))
        self.preview_stack.setCurrentWidget(self.rows_table)

    @Slot(list)
    def _on_thumbs_ready(self, paths: list[str]) -> None:
        for i in range(self.thumb_list.count()):
            item = self.thumb_list.item(i)
            path = item.data(Qt.ItemDataRole.UserRole)
            if path in paths and (pix := self._thumbs.get(path)) is not None:
                item.setIcon(QIcon(pix))

    # ----------------------------------------------------------------- import
    def name_problem(self) -> str | None:
        try:
            check_name(self.name_edit.text().strip())
        except DatasetError as err:
            return str(err)
        return None

    def running(self) -> bool:
        return self.task is not None and not self.task.is_terminal

    def _update_buttons(self) -> None:
        problem = self.name_problem()
        self.name_error.setText(problem or "")
        self.name_error.setVisible(bool(problem))
        busy = self._detecting or self.running() or self._starting
        self.import_button.setEnabled(self.preview is not None and not problem and not busy)
        for w in (self.format_combo, self.modality_combo, self.name_edit):
            w.setEnabled(not busy or self._detecting and w is self.name_edit)

    @Slot()
    def start_import(self) -> None:
        if self.preview is None or self.name_problem() or self.running() or self._starting:
            return
        self.task, self.failure, self._starting = None, None, True
        self.progress.setRange(0, 0)
        self.progress.show()
        self._set_status("Starting the import…")
        self.cancel_button.setText("Cancel")
        self._update_buttons()
        request = ImportRequest(
            path=str(self.source), name=self.name_edit.text().strip(),
            format=self.format_combo.currentData(), modality=self.modality_combo.currentData(),
        )  # fmt: skip
        op(self.conn, self, self.conn.client.import_dataset, request, what="start the import") \
            .success(self._on_import_update).failure(self._on_import_failed).run()  # fmt: skip

    def _on_import_failed(self, err: Exception) -> None:
        """The daemon refused to start (or to cancel) the import: say why, the dialog stays."""
        self._starting = False
        self.failure = str(err)
        self._poll.stop()
        self.progress.hide()
        self.cancel_button.setEnabled(True)
        self._set_status(self.failure, error=True)
        self._update_buttons()

    @Slot(object)
    def _on_conn_import_changed(self, task: Any) -> None:
        view = task if isinstance(task, ImportTaskView) else parse(ImportTaskView, task)
        if self.task is not None and view.id == self.task.id:
            self._on_import_update(view)

    @Slot()
    def _on_poll_timeout(self) -> None:
        if self.task is not None and self.running():
            op(self.conn, self, self.conn.client.dataset_import_status, self.task.id, what="poll the import") \
                .success(self._on_import_update).failure(lambda _e: None).run()  # fmt: skip  # the next poll retries

    def _on_import_update(self, task: ImportTaskView) -> None:
        self._starting = False
        if self.task is not None and self.task.is_terminal:
            return  # a late poll answer after the end
        self.task = task
        if not task.is_terminal:
            self._poll.start()
            total, done = task.total, task.done
            self.progress.setRange(0, total or 0)
            if total:
                self.progress.setValue(min(done, total))
            self._set_status(f"Importing: {task.phase} {done:,} of {total:,}" if total
                             else f"Importing: {task.phase}…")  # fmt: skip
        else:
            self._poll.stop()
            self.progress.hide()
            if task.state is ImportState.COMPLETED and task.version is not None:
                self._set_status(f"Imported version {task.version.version}.")
                self.imported.emit(task.name or self.name_edit.text().strip(), task.version)
                self.accept()
                return
            if task.state is ImportState.CANCELLED:
                self._set_status("Cancelled, nothing was stored.")
                self.cancel_button.setText("Close")
            else:
                self._set_status(task.error or "The import failed.", error=True)
        self._update_buttons()

    def reject(self) -> None:
        """Cancel (or Esc): a running import is cancelled first; the dialog stays to say so."""
        if self.task is not None and self.running():
            self.cancel_button.setEnabled(False)
            self._set_status("Cancelling…")
            op(self.conn, self, self.conn.client.dataset_import_cancel, self.task.id, what="cancel the import") \
                .success(self._on_cancel_answered).failure(self._on_import_failed).run()  # fmt: skip
            return
        if self._starting:
            return  # wait for the daemon's answer, then cancel
        self._poll.stop()
        self._thumbs.stop()
        super().reject()

    def _on_cancel_answered(self, task: ImportTaskView) -> None:
        self.cancel_button.setEnabled(True)
        self._on_import_update(task)

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet(ERROR_STYLE if error else "")
