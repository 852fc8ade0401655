"""The selected device's last hour: utilisation, memory, temperature and power on one time axis.

Curves are created once; a 10 Hz timer hands the history to pyqtgraph only when the device
got a new sample (or another device was selected). Curves clip to the view and peak-downsample.
Imported off the main thread the first time the GPUs panel is shown (pyqtgraph, numpy)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QTimer, Slot
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from sparktrainer_gui.panels.gpus.delegates import SPARK_COLORS
from sparktrainer_gui.panels.gpus.state import HistoryStore
from sparktrainer_gui.panels.jobs.plot_items import Grid, RefreshWhileShown, SparseAxis, blend, style_plot

REFRESH_MS = 100
PLOTS = (  # metric, title, scale to the shown unit
    ("util_pct", "utilisation %", 1.0),
    ("memory_used_mb", "memory GiB", 1 / 1024),
    ("temp_c", "temperature °C", 1.0),
    ("power_w", "power W", 1.0),
)


class _ValueGrid(Grid):
    """Horizontal grid lines only: the time axis (DateAxisItem) cannot be asked for ticks
    outside its own paint."""

    def paint(self, p, *args) -> None:
        vb = self._plot.vb
        (x0, x1), (y0, y1) = vb.viewRange()
        p.setPen(self._pen)
        for _spacing, values in self._plot.getAxis("left").tickValues(y0, y1, vb.height())[:1]:
            for v in values:
                p.drawLine(QPointF(x0, v), QPointF(x1, v))


class DeviceDetailPlot(RefreshWhileShown, QWidget):
    def __init__(self, history: HistoryStore, parent: QWidget | None = None):
        super().__init__(parent)
        self.history = history
        self.uuid: str | None = None
        self._sig: tuple = ()
        self.title = QLabel("Select a GPU or MIG device to see its last hour.", self)
        self.title.setObjectName("gpuDetailTitle")
        self.graphics = pg.GraphicsLayoutWidget(self)
        pal = self.palette()
        self.graphics.setBackground(pal.color(QPalette.ColorRole.Base))
        fg = pal.color(QPalette.ColorRole.Text)
        grid = blend(fg, pal.color(QPalette.ColorRole.Base), 0.12)
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        first: pg.PlotItem | None = None
        for row, (metric, label, _scale) in enumerate(PLOTS):
            axis = pg.DateAxisItem(orientation="bottom")
            left = SparseAxis(orientation="left")
            plot = self.graphics.addPlot(row=row, col=0, axisItems={"bottom": axis, "left": left})
            style_plot(plot, label, fg, grid, axis_width=52, grid_item=_ValueGrid)
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            if row < len(PLOTS) - 1:
                plot.getAxis("bottom").setStyle(showValues=False)
                plot.getAxis("bottom").setHeight(4)
            plot.vb.setMouseEnabled(x=True, y=False)
            if metric == "util_pct":
                plot.setYRange(0, 100, padding=0.02)
                plot.getAxis("left").setTicks([[(0, "0"), (50, "50"), (100, "100")]])
            elif metric == "temp_c":
                plot.vb.setLimits(minYRange=10)  # a steady temperature is a flat line, not noise
            curve = plot.plot(pen=pg.mkPen(QColor(SPARK_COLORS[metric]), width=1), connect="finite")
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            self.plots[metric] = plot
            self.curves[metric] = curve
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addWidget(self.graphics, 1)
        self.refresh_timer = QTimer(self, interval=REFRESH_MS)
        self.refresh_timer.timeout.connect(self._on_refresh_timer_timeout)

    def show_device(self, uuid: str | None, title: str = "", limits: dict[str, float] | None = None) -> None:
        """Plot ``uuid``'s history; ``limits``: fixed tops per metric (memory total, power limit)."""
        self.uuid = uuid
        for metric, _label, scale in PLOTS:
            top = (limits or {}).get(metric)
            if metric == "util_pct":
                continue
            if top:
                self.plots[metric].setYRange(0, top * scale, padding=0.02)
            else:
                self.plots[metric].enableAutoRange(axis="y")
        self.title.setText(title or "Select a GPU or MIG device to see its last hour.")
        self._sig = ()
        self.refresh()

    def displayed(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.curves[metric].getOriginalDataset()
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))

    @Slot()
    def _on_refresh_timer_timeout(self) -> None:
        self.refresh()

    def refresh(self) -> bool:
        hist = self.history.devices.get(self.uuid) if self.uuid else None
        sig = (self.uuid, hist.version if hist else -1)
        if sig == self._sig:
            return False
        self._sig = sig
        if hist is None or not len(hist):
            for curve in self.curves.values():
                curve.setData([], [])
            return True
        t = np.fromiter(hist.time, dtype=float, count=len(hist.time))
        for metric, _label, scale in PLOTS:
            y = np.fromiter(hist.values[metric], dtype=float, count=len(hist.time)) * scale
            self.curves[metric].setData(t, y)
        for plot in self.plots.values():
            plot.vb.prepareForPaint()
        return True
