"""The layer palette: the catalogue by category, filtered as you type, from which layers
are dragged onto the canvas (the drag carries the layer type as ``MIME_LAYER``).
Double-click or Enter adds the layer at the middle of the canvas."""

from __future__ import annotations

from PySide6.QtCore import (
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeView, QVBoxLayout, QWidget

from trainer_runtime.architecture.catalogue import LAYERS

MIME_LAYER = "application/x-sparktrainer-layer"
TYPE_ROLE = Qt.ItemDataRole.UserRole + 1
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2
CATEGORY_TITLES = {"io": "Input and output"}
HIDDEN_CATEGORIES = {"imported"}  # made by importing a model, not from the palette


class LayerModel(QStandardItemModel):
    """Categories with their layers (a small static list, so a QStandardItemModel)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHorizontalHeaderLabels(["Layer"])
        categories: dict[str, QStandardItem] = {}
        for layer in LAYERS.values():
            if layer.category in HIDDEN_CATEGORIES:
                continue
            parent_item = categories.get(layer.category)
            if parent_item is None:
                parent_item = QStandardItem(CATEGORY_TITLES.get(layer.category, layer.category.capitalize()))
                parent_item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                parent_item.setData(layer.category, SEARCH_ROLE)
                categories[layer.category] = parent_item
                self.appendRow(parent_item)
            item = QStandardItem(layer.type)
            item.setFlags(
                Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled
            )
            item.setData(layer.type, TYPE_ROLE)
            item.setData(f"{layer.type} {layer.category} {layer.doc}", SEARCH_ROLE)
            item.setToolTip(f"{layer.type}: {layer.doc}\nDrag it onto the canvas.")
            parent_item.appendRow(item)

    def mimeTypes(self) -> list[str]:
        return [MIME_LAYER]

    def mimeData(self, indexes: list[QModelIndex | QPersistentModelIndex]) -> QMimeData:
        data = QMimeData()
        types = [str(i.data(TYPE_ROLE)) for i in indexes if i.data(TYPE_ROLE)]
        if types:
            data.setData(MIME_LAYER, types[0].encode("utf-8"))
            data.setText(types[0])
        return data

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction


class LayerPalette(QWidget):
    layer_activated = Signal(str)  # a layer type to add at the middle of the canvas

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("builderPalette")
        self.model = LayerModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setRecursiveFilteringEnabled(True)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterRole(SEARCH_ROLE)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("paletteFilter")
        self.filter_edit.setPlaceholderText("Search layers…")
        self.filter_edit.setClearButtonEnabled(True)
        self.tree = QTreeView(self)
        self.tree.setObjectName("paletteTree")
        self.tree.setModel(self.proxy)
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setUniformRowHeights(True)
        self.tree.expandAll()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.tree, 1)
        self.filter_edit.textChanged.connect(self._on_filter_edit_text_changed)
        self.filter_edit.returnPressed.connect(self._on_filter_edit_return_pressed)
        self.tree.activated.connect(self._on_tree_activated)

    def index_of(self, layer_type: str) -> QModelIndex:
        """The (proxy) index of a layer, for selection and drags; invalid when filtered out."""
        for row in range(self.proxy.rowCount()):
            parent = self.proxy.index(row, 0)
            for child in range(self.proxy.rowCount(parent)):
                index = self.proxy.index(child, 0, parent)
                if index.data(TYPE_ROLE) == layer_type:
                    return index
        return QModelIndex()

    def visible_layers(self) -> list[str]:
        out = []
        for row in range(self.proxy.rowCount()):
            parent = self.proxy.index(row, 0)
            out += [
                str(self.proxy.index(c, 0, parent).data(TYPE_ROLE))
                for c in range(self.proxy.rowCount(parent))
            ]
        return out

    @Slot(str)
    def _on_filter_edit_text_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        self.tree.expandAll()

    @Slot()
    def _on_filter_edit_return_pressed(self) -> None:
        visible = self.visible_layers()
        if len(visible) == 1:
            self.layer_activated.emit(visible[0])

    @Slot(QModelIndex)
    def _on_tree_activated(self, index: QModelIndex) -> None:
        layer_type = index.data(TYPE_ROLE)
        if layer_type:
            self.layer_activated.emit(str(layer_type))
