"""The virtualised sample grid: a QListView in icon mode over ``EntriesModel``.

Cells are all the same size (``setUniformItemSizes``) and painted by ``ThumbDelegate``, which
asks the model for a thumbnail only for the cells it paints, so scrolling through 100,000
files decodes only what is on screen (placeholders until the decode arrives)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from sparktrainer_gui.panels.datasets.entries_model import ENTRY_ROLE, THUMB_ROLE, EntriesModel

THUMB = 96
CELL = QSize(THUMB + 16, THUMB + 34)


TEXT_FLAGS = int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
SELECTED = QStyle.StateFlag.State_Selected


class ThumbDelegate(QStyledItemDelegate):
    """Paints a cell: the thumbnail (or an opaque placeholder) and the label. Called for every
    visible cell on every frame, so it does the least it can: one model call per cell, colours
    worked out once per palette."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._colors: tuple[int, QColor, QColor, QColor, QColor] | None = None

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return CELL

    def colors(self, pal: QPalette) -> tuple[int, QColor, QColor, QColor, QColor]:
        """(palette key, placeholder, highlight, text, highlighted text) for ``pal``."""
        if self._colors is None or self._colors[0] != pal.cacheKey():
            a, b = pal.color(QPalette.ColorRole.Base), pal.color(QPalette.ColorRole.Mid)
            placeholder = QColor((3 * a.red() + b.red()) // 4, (3 * a.green() + b.green()) // 4,
                                 (3 * a.blue() + b.blue()) // 4)  # fmt: skip
            self._colors = (pal.cacheKey(), placeholder, pal.color(QPalette.ColorRole.Highlight),
                            pal.color(QPalette.ColorRole.Text), pal.color(QPalette.ColorRole.HighlightedText))  # fmt: skip
        return self._colors

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        r: QRect = option.rect  # type: ignore[attr-defined]
        _key, placeholder, highlight, text_color, selected_text = self.colors(option.palette)  # type: ignore[attr-defined]
        selected = bool(option.state & SELECTED)  # type: ignore[attr-defined]
        model = index.model()
        if isinstance(model, EntriesModel):
            entry, pix = model.cell(index.row())
        else:
            entry, pix = index.data(ENTRY_ROLE), index.data(THUMB_ROLE)
        if selected:
            painter.fillRect(r.adjusted(2, 2, -2, -2), highlight)
        x, y = r.x() + (r.width() - THUMB) // 2, r.y() + 6
        if pix is not None and not pix.isNull():
            painter.drawPixmap(x + (THUMB - pix.width()) // 2, y + (THUMB - pix.height()) // 2, pix)
        else:
            painter.fillRect(x, y, THUMB, THUMB, placeholder)
        painter.setPen(selected_text if selected else text_color)
        text = "…" if entry is None else (entry.label or entry.path.rsplit("/", 1)[-1])
        text_rect = QRect(r.x() + 4, y + THUMB + 4, r.width() - 8, r.bottom() - y - THUMB - 6)
        elided = option.fontMetrics.elidedText(text, Qt.TextElideMode.ElideMiddle, text_rect.width())  # type: ignore[attr-defined]
        painter.drawText(text_rect, TEXT_FLAGS, elided)


class SampleGrid(QListView):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sampleGrid")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(2000)
        self.setGridSize(CELL)
        self.setSpacing(0)
        self.setWrapping(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(CELL.height() // 3)
        self.setItemDelegate(ThumbDelegate(self))
