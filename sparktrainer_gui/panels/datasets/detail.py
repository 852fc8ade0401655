"""The selected dataset: its files (a thumbnail grid for images, rows for text and tables),
class histogram, versions and quality report."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)  # fmt: skip

from sparktrainer_gui.ops import op
from sparktrainer_gui.panels.datasets.drops import human_bytes
from sparktrainer_gui.panels.datasets.entries_model import ENTRY_ROLE, EntriesModel
from sparktrainer_gui.panels.datasets.grid import THUMB, SampleGrid
from sparktrainer_gui.panels.datasets.histogram import ClassHistogram
from sparktrainer_gui.panels.datasets.quality_view import QualityView
from sparktrainer_gui.panels.datasets.thumbnails import ThumbnailLoader
from sparktrainer_gui.panels.datasets.versions import VersionsView
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.datasets import DatasetView, VersionView

HEAD_BYTES = 64 * 1024


def read_head(path: str, limit: int = HEAD_BYTES) -> str:
    """The start of a stored file as text (for the rows view's preview)."""
    with open(path, "rb") as fh:
        data = fh.read(limit)
    text = data.decode("utf-8", errors="replace")
    return text + ("\n…" if len(data) == limit else "")


class DatasetDetail(QWidget):
    message_posted = Signal(str)
    dataset_changed = Signal(str)  # a version was made or deleted here

    def __init__(self, conn: RuntimeConnection, parent: QWidget | None = None):
        super().__init__(parent)
        self.conn = conn
        self.dataset: DatasetView | None = None
        self.version: int | str = "latest"
        self.thumbnails = ThumbnailLoader(THUMB, parent=self)
        self.model = EntriesModel(conn, conn.client.dataset_version, self.thumbnails, self)
        self.model.page_failed.connect(self.message_posted)
        self.title = QLabel("Select a dataset, or drop a folder or archive here to import one.", self)
        self.title.setObjectName("datasetTitle")
        self.title.setWordWrap(True)
        self.grid = SampleGrid(self)
        self.grid.setModel(self.model)
        self.rows = QTableView(self)
        self.rows.setObjectName("datasetRows")
        self.rows.setModel(self.model)
        self.rows.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.rows.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.rows.verticalHeader().hide()
        self.rows.verticalHeader().setDefaultSectionSize(24)
        self.rows.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.rows.selectionModel().selectionChanged.connect(self._on_rows_selection_changed)
        self.text_preview = QPlainTextEdit(self)
        self.text_preview.setObjectName("rowsPreview")
        self.text_preview.setReadOnly(True)
        self.text_preview.setPlaceholderText("Select a file to see its first rows.")
        rows_box = QSplitter(Qt.Orientation.Vertical, self)
        rows_box.addWidget(self.rows)
        rows_box.addWidget(self.text_preview)
        self.files = QStackedWidget(self)
        self.files.addWidget(self.grid)
        self.files.addWidget(rows_box)

        self.histogram = ClassHistogram(self)
        self.versions = VersionsView(conn, self)
        self.quality = QualityView(conn, self)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("datasetTabs")
        self.tabs.addTab(self.histogram, "Classes")
        self.tabs.addTab(self.versions, "Versions")
        self.tabs.addTab(self.quality, "Quality")
        for view in (self.versions, self.quality):
            view.message_posted.connect(self.message_posted)
        self.versions.changed.connect(self._on_versions_changed)
        self.versions.version_activated.connect(self.show_version)
        self.quality.version_created.connect(lambda _v: self._on_versions_changed())
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.files)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([620, 420])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.addWidget(self.title)
        lay.addWidget(split, 1)
        self.show_dataset(None)

    # ----------------------------------------------------------------- show
    def name(self) -> str | None:
        return self.dataset.name if self.dataset else None

    def show_dataset(self, d: DatasetView | None) -> None:
        """Show ``d`` (a dataset's view from the list) at its latest version."""
        same = d is not None and self.dataset is not None and d.name == self.dataset.name
        old = (self.dataset.manifest_hash, self.dataset.latest) if self.dataset else None
        changed = not same or old != ((d.manifest_hash, d.latest) if d else None)
        self.dataset = d
        if d is None:
            self.model.set_source(None, "latest", 0)
            self.histogram.set_classes({})
            self.versions.show_dataset(None)
            self.quality.show_dataset(None)
            self.tabs.setEnabled(False)
            self.title.setText("Select a dataset, or drop a folder or archive here to import one.")
            return
        self.tabs.setEnabled(True)
        if not same:
            self.versions.show_dataset(d.name)
            self.quality.show_dataset(d.name)
        elif changed:
            self.versions.reload()
        if changed:  # a new latest version (or another dataset): show the latest files
            self._show(d.latest or 0, d.files, d.classes)

    def _show(self, version: int, files: int, classes: dict[str, int]) -> None:
        d = self.dataset
        assert d is not None
        self.version = version if version != d.latest else "latest"
        image = d.modality == "image"
        self.files.setCurrentIndex(0 if image else 1)
        self.model.set_source(d.name, version, files)
        self.text_preview.clear()
        self.histogram.set_classes(classes, "No classes (labels come from sub-folders, COCO or YOLO)")
        self.quality.show_dataset(d.name, version)
        self.title.setText(
            f"<b>{d.name}</b> · version {version} of {d.latest} · {d.modality} · {d.format} · "
            f"{d.items:,} items · {human_bytes(d.total_bytes)}"
        )

    @Slot(int)
    def show_version(self, number: int) -> None:
        """Show an older version's files (double-click in the version list)."""
        name = self.name()
        if name is None:
            return
        op(self.conn, self, self.conn.client.dataset_version, name, number, 0, 1, what="read the version") \
            .success(lambda page: self._on_version_info(name, page.version)) \
            .failure(lambda e: self.message_posted.emit(str(e))).run()  # fmt: skip

    def _on_version_info(self, name: str, v: VersionView) -> None:
        if name == self.name():
            self._show(v.version, v.files, v.classes)

    @Slot()
    def _on_versions_changed(self) -> None:
        name = self.name()
        if name:
            self.dataset_changed.emit(name)

    @Slot(QItemSelection, QItemSelection)
    def _on_rows_selection_changed(self, _sel: QItemSelection, _desel: QItemSelection) -> None:
        rows = self.rows.selectionModel().selectedRows()
        entry = rows[0].data(ENTRY_ROLE) if rows else None
        if not entry or not entry.blob:
            return
        path = entry.path
        op(self.conn, self, read_head, entry.blob, what=f"read {path}") \
            .success(lambda text: self._on_head(path, text)) \
            .failure(lambda e: self._on_head(path, f"Could not read {path}: {e}")).run()  # fmt: skip

    def _on_head(self, path: str, text: str) -> None:
        self.text_preview.setPlainText(text)
        self.text_preview.setDocumentTitle(path)

    def stop(self) -> None:
        self.thumbnails.stop()
