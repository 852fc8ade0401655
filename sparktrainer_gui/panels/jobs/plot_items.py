"""Small pyqtgraph helpers for the curves: a cheap grid and opaque colour mixing."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QTimer, Slot
from PySide6.QtGui import QColor


class Grid(pg.GraphicsObject):
    """Major-tick grid lines behind the curves (the axes' own grid costs ~10 ms a frame)."""

    def __init__(self, plot: pg.PlotItem, color: QColor):
        super().__init__()
        self._plot = plot
        self._pen = pg.mkPen(color, width=1)
        self.setZValue(-100)
        plot.vb.sigRangeChanged.connect(self._on_view_range_changed)

    @Slot()
    def _on_view_range_changed(self) -> None:
        self.prepareGeometryChange()

    def boundingRect(self) -> QRectF:
        return self._plot.vb.viewRect()

    def paint(self, p, *args) -> None:
        vb = self._plot.vb
        (x0, x1), (y0, y1) = vb.viewRange()
        p.setPen(self._pen)
        for name, lo, hi, size, vertical in (
            ("bottom", x0, x1, vb.width(), True),
            ("left", y0, y1, vb.height(), False),
        ):
            levels = self._plot.getAxis(name).tickValues(lo, hi, size)
            for _spacing, values in levels[:1]:
                for v in values:
                    if vertical:
                        p.drawLine(QPointF(v, y0), QPointF(v, y1))
                    else:
                        p.drawLine(QPointF(x0, v), QPointF(x1, v))


class SparseAxis(pg.AxisItem):
    """A value axis with at most one label per ~22 px (at least one label), so short plots do
    not stack their labels: pyqtgraph draws at least two and a quarter major intervals, whatever
    the height."""

    LABEL_PX = 22

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list:
        levels = super().tickSpacing(minVal, maxVal, size)
        if not levels:
            return levels
        spacing, offset = levels[0]
        most = max(1, int(size // self.LABEL_PX))
        fallback = None
        for mult in (1, 2, 2.5, 5, 10, 20, 25, 50, 100):
            step = spacing * mult
            labels = (
                math.floor((maxVal - offset) / step + 1e-9) - math.ceil((minVal - offset) / step - 1e-9) + 1
            )
            if labels <= most:
                if labels >= 1:
                    return [(step, offset)]
                fallback = fallback or [(step, offset)]
        return fallback or levels[:1]


def blend(fg: QColor, bg: QColor, amount: float) -> QColor:
    """An opaque mix of two colours (alpha-blended lines are several times slower to draw)."""
    mix = [
        round(a * amount + b * (1 - amount)) for a, b in zip(fg.getRgb()[:3], bg.getRgb()[:3], strict=True)
    ]
    return QColor(*mix)


def style_plot(
    plot: pg.PlotItem, label: str, fg: QColor, grid: QColor, axis_width: int, grid_item: type[Grid] = Grid
) -> None:
    """The house style of a stacked live plot: no context menu, a value grid, a small title in
    the corner (vertical axis labels overlap on short plots), tinted axes, major ticks only."""
    plot.setMenuEnabled(False)
    plot.addItem(grid_item(plot, grid), ignoreBounds=True)
    plot.setTitle(label, size="8pt", justify="left", color=fg)
    plot.titleLabel.setMaximumHeight(14)
    plot.layout.setRowFixedHeight(0, 14)
    for name in ("left", "bottom"):
        ax = plot.getAxis(name)
        ax.setPen(grid)
        ax.setTextPen(fg)
    plot.getAxis("left").setWidth(axis_width)
    plot.getAxis("left").setStyle(maxTickLevel=0)


class RefreshWhileShown:
    """For live plot widgets (QWidget subclasses, listed before QWidget in the bases) with a
    ``refresh_timer`` and a ``refresh()``: the timer runs only while the widget is shown, and
    showing it refreshes at once."""

    refresh_timer: QTimer

    def refresh(self) -> bool:
        raise NotImplementedError

    def showEvent(self, event) -> None:
        super().showEvent(event)  # type: ignore[misc]
        self.refresh_timer.start()
        self.refresh()

    def hideEvent(self, event) -> None:
        self.refresh_timer.stop()
        super().hideEvent(event)  # type: ignore[misc]
