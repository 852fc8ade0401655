"""Table delegates: a progress bar with its label, and a coloured state pill."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from sparktrainer_gui import theme
from trainer_runtime.jobs.state import JobState

Index = QModelIndex | QPersistentModelIndex


def _draw_cell_background(
    delegate: QStyledItemDelegate, painter: QPainter, option: QStyleOptionViewItem, index: Index
) -> tuple[QStyleOptionViewItem, str]:
    """Let the style draw the cell (selection, hover) without its text; return the option and
    the text so the delegate draws its own content on top."""
    opt = QStyleOptionViewItem(option)
    delegate.initStyleOption(opt, index)
    text, opt.text = opt.text, ""
    style = opt.widget.style() if opt.widget else None
    if style:
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
    return opt, text


class ProgressDelegate(QStyledItemDelegate):
    """Draws ``index.data(value_role)`` (0..1, or None) as a bar, and the display text beside it."""

    def __init__(self, value_role: int, state_role: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.value_role, self.state_role = value_role, state_role

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        opt, text = _draw_cell_background(self, painter, option, index)
        value = index.data(self.value_role)
        c = theme.colors()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = opt.rect.adjusted(8, 0, -8, 0)
        bar_w = min(96, max(40, r.width() // 2))
        bar = QRectF(r.left(), r.center().y() - 3, bar_w, 6)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(c["track"]))
        painter.drawRoundedRect(bar, 3, 3)
        if value is not None and value > 0:
            state = index.data(self.state_role)
            fill = QRectF(bar.left(), bar.top(), max(6.0, bar.width() * min(1.0, float(value))), bar.height())
            # A running job's bar is the accent colour; a stopped one shows its state's colour.
            running = state is None or state == JobState.RUNNING
            painter.setBrush(QColor(c["accent"] if running else theme.state_color(state, "accent")))
            painter.drawRoundedRect(fill, 3, 3)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        painter.setPen(QColor(c["text"] if selected else c["muted"]))
        text_rect = r.adjusted(bar_w + 10, 0, 0, 0)
        elided = QFontMetrics(opt.font).elidedText(text, Qt.TextElideMode.ElideRight, text_rect.width())
        painter.drawText(text_rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), elided)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        base = super().sizeHint(option, index)
        return QSize(base.width() + 140, base.height())


class StatePillDelegate(QStyledItemDelegate):
    """Draws the state as a small coloured pill; a row whose ``health_role`` holds something
    (a worker that stopped responding) gets the warning colour and a warning sign instead
    of the dot."""

    def __init__(self, state_role: int, parent: QWidget | None = None, health_role: int | None = None):
        super().__init__(parent)
        self.state_role, self.health_role = state_role, health_role
        self._signs: dict[str, QPixmap] = {}  # warning signs by colour (drawn once, not per paint)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        opt, text = _draw_cell_background(self, painter, option, index)
        c = theme.colors()
        trouble = self.health_role is not None and bool(index.data(self.health_role))
        color = QColor(c["warning"] if trouble else theme.state_color(index.data(self.state_role)))
        fm = QFontMetrics(opt.font)
        lead = 20 if trouble else 16  # room for the sign (or the dot) before the text
        w = fm.horizontalAdvance(text) + lead + 6
        h = fm.height() + 4
        pill = QRectF(opt.rect.left() + 8, opt.rect.center().y() - h / 2 + 0.5, w, h)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        bg = QColor(color)
        bg.setAlpha(40 if theme.current_theme() == "light" else 60)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(bg)
        painter.drawRoundedRect(pill, h / 2, h / 2)
        if trouble:
            sign = self._signs.get(color.name())
            if sign is None:
                sign = self._signs[color.name()] = theme.icon("warning", color.name()).pixmap(12, 12)
            painter.drawPixmap(int(pill.left() + 5), int(pill.center().y() - 6), sign)
        else:
            painter.setBrush(color)
            painter.drawEllipse(QRectF(pill.left() + 7, pill.center().y() - 3, 6, 6))
        painter.setPen(color)
        painter.drawText(pill.adjusted(lead, 0, -4, 0), int(Qt.AlignmentFlag.AlignVCenter), text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        base = super().sizeHint(option, index)
        return QSize(base.width() + 30, base.height())
