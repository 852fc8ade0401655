"""The command palette (Ctrl+K): a filterable list of panels and actions; Enter runs one."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QModelIndex, QSize, QSortFilterProxyModel, Qt, Slot
from PySide6.QtGui import (
    QAction,
    QColor,
    QIcon,
    QKeyEvent,
    QPainter,
    QPixmap,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QDialog,
    QLineEdit,
    QListView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from sparktrainer_gui import theme
from sparktrainer_gui.actions import shortcut_text

ACTION_ROLE = Qt.ItemDataRole.UserRole + 1
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2
KEYS_ROLE = Qt.ItemDataRole.UserRole + 3


class _EntryDelegate(QStyledItemDelegate):
    """The entry as usual, its shortcut right-aligned in the muted colour."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:  # type: ignore[override]
        super().paint(painter, option, index)
        keys = index.data(KEYS_ROLE)
        if keys:
            painter.save()
            painter.setPen(QColor(theme.colors()["muted"]))
            rect = option.rect.adjusted(0, 0, -12, 0)  # type: ignore[attr-defined]
            painter.drawText(rect, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), keys)
            painter.restore()


def _blank_icon() -> QIcon:
    pix = QPixmap(20, 20)
    pix.fill(Qt.GlobalColor.transparent)
    return QIcon(pix)


class _WordsProxy(QSortFilterProxyModel):
    """Every typed word must appear in the entry's text (case-insensitive)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._words: list[str] = []

    def set_words(self, text: str) -> None:
        self.beginFilterChange()
        self._words = text.lower().split()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:  # type: ignore[override]
        hay = str(self.sourceModel().index(row, 0, parent).data(SEARCH_ROLE) or "")
        return all(w in hay for w in self._words)


class CommandPalette(QDialog):
    def __init__(self, entries: Iterable[tuple[str, QAction]], parent: QWidget | None = None):
        """``entries``: (category, action) pairs; disabled actions are listed but do not run."""
        super().__init__(parent, Qt.WindowType.Popup | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("commandPalette")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.edit = QLineEdit(self)
        self.edit.setObjectName("paletteInput")
        self.edit.setPlaceholderText("Type a command or a panel…")
        self.list = QListView(self)
        self.list.setObjectName("paletteList")
        self.list.setUniformItemSizes(True)
        self.list.setIconSize(QSize(18, 18))
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.list.setItemDelegate(_EntryDelegate(self.list))
        self.source = QStandardItemModel(self)
        blank = _blank_icon()
        for category, action in entries:
            text = action.text().replace("&", "")
            item = QStandardItem(blank if action.icon().isNull() else action.icon(), f"{category}: {text}")
            item.setData(action, ACTION_ROLE)
            item.setData(shortcut_text(action), KEYS_ROLE)
            item.setData(text.lower() if category == "Panel" else f"{category} {text}".lower(), SEARCH_ROLE)
            item.setEnabled(action.isEnabled())
            item.setEditable(False)
            self.source.appendRow(item)
        self.proxy = _WordsProxy(self)
        self.proxy.setSourceModel(self.source)
        self.list.setModel(self.proxy)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 10, 10, 10)
        lay.setSpacing(8)
        lay.addWidget(self.edit)
        lay.addWidget(self.list)
        self.resize(560, 380)
        self.edit.textChanged.connect(self._on_edit_text_changed)
        self.edit.returnPressed.connect(self.run_current)
        self.list.clicked.connect(self._on_list_clicked)
        self._select_first()

    def popup_over(self, window: QWidget) -> None:
        geo = window.geometry()
        self.move(geo.x() + (geo.width() - self.width()) // 2, geo.y() + 80)
        self.show()
        self.edit.setFocus()

    def visible_texts(self) -> list[str]:
        return [self.proxy.index(r, 0).data() for r in range(self.proxy.rowCount())]

    @Slot()
    def run_current(self) -> None:
        index = self.list.currentIndex()
        action = index.data(ACTION_ROLE) if index.isValid() else None
        if action is None or not action.isEnabled():
            return
        self.close()
        action.trigger()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
            row = self.list.currentIndex().row() + (1 if key == Qt.Key.Key_Down else -1)
            if 0 <= row < self.proxy.rowCount():
                self.list.setCurrentIndex(self.proxy.index(row, 0))
            return
        super().keyPressEvent(event)

    def _select_first(self) -> None:
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.flags() & Qt.ItemFlag.ItemIsEnabled:
                self.list.setCurrentIndex(index)
                return

    @Slot(str)
    def _on_edit_text_changed(self, text: str) -> None:
        self.proxy.set_words(text)
        self._select_first()

    @Slot(QModelIndex)
    def _on_list_clicked(self, index: QModelIndex) -> None:
        self.list.setCurrentIndex(index)
        self.run_current()
