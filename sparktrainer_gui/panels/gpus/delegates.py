"""The metric cells of the devices table: the value as text and, beside it, a sparkline of the
last minutes drawn as one QPainterPath (rebuilt only when the device got a new sample or the
cell changed size)."""

from __future__ import annotations

import math

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from sparktrainer_gui import theme
from sparktrainer_gui.panels.gpus.table_model import METRIC_OF, SPARK_ROLE, UUID_ROLE

Index = QModelIndex | QPersistentModelIndex
SPARK_COLORS = {"util_pct": "#2f6fde", "memory_used_mb": "#8e44ad", "temp_c": "#e8710a", "power_w": "#1e9e5a"}
TEXT_W = {"util_pct": 56, "memory_used_mb": 116, "temp_c": 60, "power_w": 104}  # the rest: sparkline


def peaks(values: list[float], buckets: int) -> list[float]:
    """``values`` reduced to at most ``buckets`` points, each the largest of its bucket (NaN when
    a bucket has no value), so a short spike stays visible in a narrow cell."""
    n = len(values)
    if n <= buckets or buckets <= 0:
        return values
    out = []
    for b in range(buckets):
        chunk = [v for v in values[b * n // buckets : (b + 1) * n // buckets] if v == v]
        out.append(max(chunk) if chunk else math.nan)
    return out


def spark_path(values: list[float], lo: float, hi: float, rect: QRectF) -> QPainterPath:
    """A polyline of ``values`` scaled into ``rect``, at most one point per pixel column
    (NaNs break the line)."""
    path = QPainterPath()
    values = peaks(values, int(rect.width()))
    n = len(values)
    if n == 0 or hi <= lo:
        return path
    left, bottom, height = rect.left(), rect.bottom(), rect.height()
    dx = rect.width() / max(1, n - 1)
    scale = height / (hi - lo)
    run: list[QPointF] = []
    for i, v in enumerate(values):
        if v != v:  # NaN: end the current run
            if run:
                path.addPolygon(QPolygonF(run))
                run = []
            continue
        x = left + i * dx if n > 1 else rect.right()
        run.append(QPointF(x, bottom - (min(hi, max(lo, v)) - lo) * scale))
    if run:
        path.addPolygon(QPolygonF(run))
    return path


class SparklineDelegate(QStyledItemDelegate):
    def __init__(self, column: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.metric = METRIC_OF[column]
        self.text_w = TEXT_W[self.metric]
        self._paths: dict[str, tuple[tuple, QPainterPath]] = {}

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:  # type: ignore[override]
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text, opt.text = opt.text, ""
        style = opt.widget.style() if opt.widget else None
        if style:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        c = theme.colors()
        rect = opt.rect.adjusted(8, 0, -8, 0)  # type: ignore[attr-defined]
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)  # type: ignore[attr-defined]
        painter.save()
        painter.setPen(QColor(c["text"]))
        text_rect = rect.adjusted(0, 0, -(rect.width() - self.text_w), 0)
        elided = QFontMetrics(opt.font).elidedText(text, Qt.TextElideMode.ElideRight, text_rect.width())  # type: ignore[attr-defined]
        painter.drawText(text_rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), elided)
        spark = index.data(SPARK_ROLE)
        area = QRectF(
            rect.left() + self.text_w + 4, rect.top() + 6, rect.width() - self.text_w - 4, rect.height() - 12
        )
        if spark is not None and area.width() > 12:
            key = str(index.data(UUID_ROLE))
            sig = (spark.version, area.width(), area.height())
            cached = self._paths.get(key)
            if cached is None or cached[0] != sig:
                values, lo, hi = spark.values()
                local = QRectF(0, 0, area.width(), area.height())
                cached = (sig, spark_path(values, lo, hi, local))
                self._paths[key] = cached
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.translate(area.topLeft())
            painter.setPen(QPen(QColor(c["track"] if not selected else c["border"]), 1))
            painter.drawLine(QPointF(0, area.height()), QPointF(area.width(), area.height()))
            painter.setPen(QPen(QColor(SPARK_COLORS[self.metric]), 1.4))
            painter.drawPath(cached[1])
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # type: ignore[override]
        base = super().sizeHint(option, index)
        return QSize(self.text_w + 110, base.height())

    def forget(self, uuids: set[str]) -> None:
        """Drop the cached paths of devices that left the table."""
        for key in list(self._paths):
            if key not in uuids:
                del self._paths[key]
