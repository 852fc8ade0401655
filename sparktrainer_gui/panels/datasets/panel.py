"""The Datasets panel: a drop zone (the whole panel), the datasets list and the selected
dataset's detail. Dropped folders, archives and data files open the import dialog; anything
else is refused with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QItemSelection, QSortFilterProxyModel, Qt, Signal, Slot
from PySide6.QtGui import QAction, QDragEnterEvent, QDragLeaveEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)  # fmt: skip

from sparktrainer_gui.actions import _Group, make_action
from sparktrainer_gui.ops import op
from sparktrainer_gui.panels.datasets import drops
from sparktrainer_gui.panels.datasets.detail import DatasetDetail
from sparktrainer_gui.panels.datasets.import_dialog import ImportDialog
from sparktrainer_gui.panels.datasets.list_model import COLUMNS, NAME_ROLE, SORT_ROLE, DatasetsTableModel
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.datasets import DatasetView, VersionView
from trainer_runtime.datasets import formats

HINT = "Drop a folder, an archive (.zip, .tar, .tgz, .tbz2, .txz…) or a data file anywhere here to import it."
DROP_STYLE = "#datasetsDropHint { padding: 6px 10px; }"
ACTIVE_STYLE = "#datasetsDropHint { padding: 6px 10px; background: palette(highlight); color: palette(highlighted-text); }"
REFUSED_STYLE = "#datasetsDropHint { padding: 6px 10px; color: #d93025; }"


@dataclass
class DatasetActions(_Group):
    title = "Datasets"
    import_file: QAction
    import_folder: QAction
    refresh: QAction

    @classmethod
    def create(cls, parent: QWidget) -> DatasetActions:
        return cls(
            import_file=make_action(parent, "Import dataset file…", "Ctrl+Shift+I", "add",
                                    "Import an archive or a data file as a dataset"),
            import_folder=make_action(parent, "Import dataset folder…", None, "add",
                                      "Import a folder (image folders, COCO, YOLO, text) as a dataset"),
            refresh=make_action(parent, "Refresh datasets", None, "retry", "Read the datasets list again"),
        )  # fmt: skip


class DatasetsPanel(QWidget):
    title = "Datasets"
    icon = "datasets"
    message_posted = Signal(str)
    dataset_imported = Signal(str)  # a dataset's name after an import through this panel

    def __init__(self, conn: RuntimeConnection, parent: QWidget | None = None):
        super().__init__(parent)
        self.conn = conn
        self.setAcceptDrops(True)
        self.actions_ = DatasetActions.create(self)
        self.model = DatasetsTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.dialog: ImportDialog | None = None
        self._select_when_seen: str | None = None
        self._build()
        self._connect()
        if conn.is_connected:
            self.reload()

    def _build(self) -> None:
        self.toolbar = QToolBar("Datasets", self)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toolbar.addAction(self.actions_.import_file)
        self.toolbar.addAction(self.actions_.import_folder)
        self.toolbar.addAction(self.actions_.refresh)
        self.hint = QLabel(HINT, self)
        self.hint.setObjectName("datasetsDropHint")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(DROP_STYLE)
        self.table = QTableView(self)
        self.table.setObjectName("datasetsTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(30)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col, width in zip(range(1, len(COLUMNS)), (90, 110, 90, 90, 70, 140), strict=True):
            self.table.setColumnWidth(col, width)
        self.detail = DatasetDetail(self.conn, self)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([170, 600])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.toolbar)
        lay.addWidget(self.hint)
        lay.addWidget(self.splitter, 1)

    def _connect(self) -> None:
        a, c = self.actions_, self.conn
        a.import_file.triggered.connect(self._on_import_file_triggered)
        a.import_folder.triggered.connect(self._on_import_folder_triggered)
        a.refresh.triggered.connect(self.reload)
        c.connected.connect(self._on_conn_connected)
        c.dataset_changed.connect(self._on_conn_dataset_changed)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.detail.message_posted.connect(self.message_posted)
        self.detail.dataset_changed.connect(self._on_conn_dataset_changed)

    def action_groups(self) -> list[_Group]:
        return [self.actions_]

    # ------------------------------------------------------------------ list
    @Slot()
    def reload(self) -> None:
        op(self.conn, self, self.conn.client.datasets, what="list the datasets") \
            .success(self._on_listed) \
            .failure(lambda e: self.message_posted.emit(f"Could not list the datasets: {e}")).run()  # fmt: skip

    def _on_listed(self, datasets: list[DatasetView]) -> None:
        self.model.sync(datasets)
        name = self.selected_name()
        if self._select_when_seen and self.select_dataset(self._select_when_seen):
            self._select_when_seen = None
        elif name and self.model.dataset(name) is not None:
            self.detail.show_dataset(self.model.dataset(name))
        elif name is None and self.detail.name() is not None:
            self.detail.show_dataset(None)

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(NAME_ROLE) if rows else None

    def select_dataset(self, name: str) -> bool:
        row = self.model.row_of(name)
        if row < 0:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.selectRow(index.row())
        self.table.scrollTo(index)
        return True

    # ---------------------------------------------------------------- import
    def import_paths(self, paths: list[Path]) -> bool:
        """Open the import dialog for a drop (or a file dialog's choice); False when refused."""
        path, problem = drops.choose(paths)
        if path is None:
            self.refuse(problem or "nothing to import")
            return False
        self.hint.setText(HINT)
        self.hint.setStyleSheet(DROP_STYLE)
        self.dialog = ImportDialog(self.conn, path, self)
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog.imported.connect(self._on_dialog_imported)
        self.dialog.open()
        return True

    def refuse(self, reason: str) -> None:
        self.hint.setText(f"Refused the drop: {reason}.")
        self.hint.setStyleSheet(REFUSED_STYLE)
        self.message_posted.emit(f"Refused the drop: {reason}.")

    @Slot(str, object)
    def _on_dialog_imported(self, name: str, version: VersionView) -> None:
        self.message_posted.emit(f"Imported {name} version {version.version}.")
        self._select_when_seen = name
        self.dataset_imported.emit(name)
        self.reload()

    @Slot()
    def _on_import_file_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a dataset file", str(Path.home()),
            formats.file_dialog_filter(),
        )  # fmt: skip
        if path:
            self.import_paths([Path(path)])

    @Slot()
    def _on_import_folder_triggered(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Import a dataset folder", str(Path.home()))
        if path:
            self.import_paths([Path(path)])

    # ----------------------------------------------------------------- drops
    @staticmethod
    def dropped_paths(event: QDropEvent | QDragEnterEvent) -> list[Path]:
        return [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
            self.hint.setText("Drop to import…")
            self.hint.setStyleSheet(ACTIVE_STYLE)
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.hint.setText(HINT)
        self.hint.setStyleSheet(DROP_STYLE)

    def dropEvent(self, event: QDropEvent) -> None:
        if not event.mimeData().hasUrls():
            event.ignore()
            return
        paths = self.dropped_paths(event)
        if self.import_paths(paths):
            event.acceptProposedAction()
        else:
            event.ignore()

    # ----------------------------------------------------------------- slots
    @Slot(dict)
    def _on_conn_connected(self, _status: dict) -> None:
        self.reload()

    @Slot(str)
    def _on_conn_dataset_changed(self, _name: str) -> None:
        self.reload()

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(self, _sel: QItemSelection, _desel: QItemSelection) -> None:
        name = self.selected_name()
        self.detail.show_dataset(self.model.dataset(name) if name else None)
