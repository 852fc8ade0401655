"""Live training curves: loss + eval loss, learning rate, grad norm and tokens/s on one step axis.

Each curve item is created once; data lives in :mod:`.series` buffers and reaches
pyqtgraph from a 15 Hz timer, only when a series or the visible range changed.
The series' block index reduces every curve to about two points per pixel
column (peaks kept) for the visible step range, so 1M points per series repaint
in a few milliseconds; the items also carry ``setDownsampling(method='peak')``
and ``setClipToView(True)`` as a second line of defence."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from sparktrainer_gui.panels.jobs.plot_items import RefreshWhileShown, SparseAxis, blend, style_plot
from sparktrainer_gui.panels.jobs.series import MetricTrack, Series, fmt, group_points
from trainer_runtime.api.schema.jobs import MetricPoint

REFRESH_MS = 66  # ~15 Hz
SIDE_WIDTH = 360
MAX_SYMBOLS = 400  # eval markers are drawn while a curve has at most this many points on screen


@dataclass(frozen=True)
class SeriesStyle:
    label: str
    color: str
    plot: str
    smoothable: bool = True
    higher_is_better: bool = False
    markers: bool = False
    has_best: bool = True  # "best" means something (loss, throughput), not for lr or grad norm


SERIES: dict[str, SeriesStyle] = {
    "loss": SeriesStyle("Train loss", "#2f6fde", "loss"),
    "eval_loss": SeriesStyle("Eval loss", "#e8710a", "loss", smoothable=False, markers=True),
    "lr": SeriesStyle("Learning rate", "#1e9e5a", "lr", smoothable=False, has_best=False),
    "grad_norm": SeriesStyle("Grad norm", "#8e44ad", "grad_norm", has_best=False),
    "tokens_per_s": SeriesStyle("Tokens/s", "#c0392b", "tokens_per_s", higher_is_better=True),
}
PLOTS: list[tuple[str, str, int]] = [  # id, axis label, height share
    ("loss", "loss", 3),
    ("lr", "lr", 1),
    ("grad_norm", "grad norm", 1),
    ("tokens_per_s", "tokens/s", 1),
]


class _Curve:
    """The pyqtgraph items of one series: the drawn curve and its faint raw twin."""

    def __init__(self, plot: pg.PlotItem, style: SeriesStyle):
        color = QColor(style.color)
        faint = QColor(color)
        faint.setAlpha(70)
        self.raw = plot.plot(pen=pg.mkPen(faint, width=1), connect="finite")
        self.shown = plot.plot(pen=pg.mkPen(color, width=1), connect="finite")
        self.shown.setZValue(1)
        for item in (self.raw, self.shown):
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
        self.style = style
        self.markers_on = False
        self.sig: tuple[Any, ...] = ()
        self.raw_sig: tuple[Any, ...] = ()


class CurvesWidget(RefreshWhileShown, QWidget):
    """Plots, smoothing slider, log toggle, hover read-out and a min/last/best table."""

    refreshed = Signal()  # a refresh pass pushed new data to the plots

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.tracks = {k: MetricTrack(k, s.higher_is_better) for k, s in SERIES.items()}
        self._stats_versions: dict[str, int] = {}

        self.smoothing = QSlider(Qt.Orientation.Horizontal, objectName="smoothing")
        self.smoothing.setRange(0, 99)
        self.smoothing.setFixedWidth(140)
        self.smoothing.setToolTip("Exponential moving average of the noisy curves; the raw curve stays faint")
        self.smoothing_value = QLabel()
        self.log_scale = QCheckBox("Log loss", objectName="log_scale")
        self.fit = QPushButton("Fit", objectName="fit")
        self.fit.setToolTip("Show the whole run and follow new steps")
        self.readout = QLabel(" ", objectName="readout")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Smoothing"))
        bar.addWidget(self.smoothing)
        bar.addWidget(self.smoothing_value)
        bar.addSpacing(12)
        bar.addWidget(self.log_scale)
        bar.addWidget(self.fit)
        bar.addStretch(1)

        self.graphics = pg.GraphicsLayoutWidget()
        pal = self.palette()
        self.graphics.setBackground(pal.color(QPalette.ColorRole.Base))
        fg = pal.color(QPalette.ColorRole.Text)
        grid = QColor(fg)
        grid = blend(fg, pal.color(QPalette.ColorRole.Base), 0.12)
        self.plots: dict[str, pg.PlotItem] = {}
        self._vlines: dict[str, pg.InfiniteLine] = {}
        layout = self.graphics.ci.layout
        for row, (pid, label, share) in enumerate(PLOTS):
            plot = self.graphics.addPlot(row=row, col=0, axisItems={"left": SparseAxis(orientation="left")})
            style_plot(plot, label, fg, grid, axis_width=62)
            if pid != "loss":
                plot.setXLink(self.plots["loss"])
            if row < len(PLOTS) - 1:
                plot.getAxis("bottom").setStyle(showValues=False)
                plot.getAxis("bottom").setHeight(4)
            else:
                plot.setLabel("bottom", "step")
            plot.vb.setMouseEnabled(x=True, y=False)
            layout.setRowStretchFactor(row, share)
            line = pg.InfiniteLine(
                angle=90, movable=False, pen=pg.mkPen(fg, width=1, style=Qt.PenStyle.DashLine)
            )
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
            self._vlines[pid] = line
            self.plots[pid] = plot
        self._hline = pg.InfiniteLine(
            angle=0, movable=False, pen=pg.mkPen(fg, width=1, style=Qt.PenStyle.DotLine)
        )
        self._hline.setVisible(False)
        self._hline_plot: str | None = None
        self.curves = {k: _Curve(self.plots[s.plot], s) for k, s in SERIES.items()}

        self.table = QTableWidget(len(SERIES), 5, objectName="stats")
        self.table.setHorizontalHeaderLabels(["Series", "Last", "Min", "Best", "@ step"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setShowGrid(False)
        self.table.setStyleSheet(
            "QTableWidget::item { padding: 0px 3px; } QHeaderView::section { padding: 2px 3px; }"
        )
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        for row, (key, style) in enumerate(SERIES.items()):
            name = QTableWidgetItem(f"■ {style.label.replace('Learning rate', 'LR')}")
            name.setForeground(QColor(style.color))
            name.setToolTip(key)
            self.table.setItem(row, 0, name)
            for col in (1, 2, 3, 4):
                self.table.setItem(row, col, QTableWidgetItem("—"))
                self.table.item(row, col).setTextAlignment(
                    Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                )
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setSizeAdjustPolicy(QAbstractItemView.SizeAdjustPolicy.AdjustToContents)
        self.table.setFixedWidth(SIDE_WIDTH)

        side = QVBoxLayout()
        side.addWidget(self.table)
        side.addWidget(self.readout)
        self.readout.setWordWrap(True)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.readout.setFixedWidth(SIDE_WIDTH)
        side.addStretch(1)
        body = QHBoxLayout()
        body.addWidget(self.graphics, 1)
        body.addLayout(side)
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.addLayout(bar)
        root.addLayout(body, 1)

        self.smoothing.valueChanged.connect(self._on_smoothing_value_changed)
        self.log_scale.toggled.connect(self._on_log_scale_toggled)
        self.fit.clicked.connect(self._on_fit_clicked)
        self.graphics.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        self.refresh_timer = QTimer(self, interval=REFRESH_MS)
        self.refresh_timer.timeout.connect(self._on_timer_timeout)
        self.smoothing.setValue(60)
        self._on_smoothing_value_changed(self.smoothing.value())

    # ------------------------------------------------------------------ data
    def clear(self) -> None:
        for track in self.tracks.values():
            track.clear()
        self.readout.setText(" ")
        self._hide_crosshair()
        self._on_fit_clicked()

    def append(self, key: str, steps: np.ndarray, values: np.ndarray) -> None:
        track = self.tracks.get(key)
        if track is not None:
            track.extend(steps, values)

    def add_arrays(self, arrays: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        for key, (steps, values) in arrays.items():
            self.append(key, steps, values)

    def add_points(self, points: list[MetricPoint]) -> None:
        self.add_arrays(group_points(points))

    def point_count(self, key: str) -> int:
        return len(self.tracks[key]) if key in self.tracks else 0

    def displayed(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """The data of the full-colour curve as last handed to pyqtgraph."""
        x, y = self.curves[key].shown.getOriginalDataset()
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))

    # --------------------------------------------------------------- refresh
    @Slot()
    def _on_timer_timeout(self) -> None:
        self.refresh()

    def refresh(self) -> bool:
        """Push changed series (or a changed view) to the plot items; True if anything moved."""
        vb = self.plots["loss"].vb
        if vb.autoRangeEnabled()[0]:
            x0, x1 = -math.inf, math.inf
        else:
            x0, x1 = vb.viewRange()[0]
        width = max(32, int(vb.width()))
        changed = False
        for key, curve in self.curves.items():
            track = self.tracks[key]
            smoothing = curve.style.smoothable and track.weight > 0
            shown = track.shown if curve.style.smoothable else track.raw
            sig = (id(shown), shown.version, x0, x1, width)
            if sig != curve.sig:
                curve.sig = sig
                changed = True
                x, y = shown.view(x0, x1, width)
                if curve.style.markers:
                    self._set_markers(curve, len(x) <= MAX_SYMBOLS)
                curve.shown.setData(x, y)
            raw_sig = (track.raw.version, x0, x1, width) if smoothing else ()
            if raw_sig != curve.raw_sig:
                curve.raw_sig = raw_sig
                changed = True
                curve.raw.setVisible(smoothing)
                x, y = track.raw.view(x0, x1, width) if smoothing else (np.empty(0), np.empty(0))
                curve.raw.setData(x, y)
        if changed:
            for plot in self.plots.values():
                # settle auto-range now, not inside the paint (where a range change asks for a 2nd paint)
                plot.vb.prepareForPaint()
        self._refresh_stats()
        if changed:
            self.refreshed.emit()
        return changed

    def _set_markers(self, curve: _Curve, on: bool) -> None:
        if on == curve.markers_on:
            return
        curve.markers_on = on
        color = QColor(curve.style.color)
        if on:
            curve.shown.setSymbol("o")
            curve.shown.setSymbolSize(6)
            curve.shown.setSymbolBrush(color)
            curve.shown.setSymbolPen(pg.mkPen(color))
        else:
            curve.shown.setSymbol(None)

    def _refresh_stats(self) -> None:
        for row, (key, style) in enumerate(SERIES.items()):
            raw = self.tracks[key].raw
            if self._stats_versions.get(key) == raw.version:
                continue
            self._stats_versions[key] = raw.version
            st = raw.stats(style.higher_is_better)
            if st is None:
                cells = ("—",) * 4
            elif style.has_best:
                cells = (fmt(st.last), fmt(st.min), fmt(st.best), f"{st.best_step:,}")
            else:
                cells = (fmt(st.last), fmt(st.min), "—", "")
            for col, text in enumerate(cells, start=1):
                item = self.table.item(row, col)
                if item.text() != text:
                    item.setText(text)

    # ------------------------------------------------------------- controls
    @Slot(int)
    def _on_smoothing_value_changed(self, value: int) -> None:
        weight = value / 100.0
        self.smoothing_value.setText(f"{weight:.2f}")
        for key, style in SERIES.items():
            if style.smoothable:
                self.tracks[key].set_weight(weight)

    @Slot(bool)
    def _on_log_scale_toggled(self, on: bool) -> None:
        self.plots["loss"].setLogMode(y=on)
        self.plots["loss"].enableAutoRange(axis="y")

    @Slot()
    def _on_fit_clicked(self) -> None:
        for plot in self.plots.values():
            plot.enableAutoRange()

    # ----------------------------------------------------------------- hover
    @Slot(object)
    def _on_scene_mouse_moved(self, pos: QPointF) -> None:
        for pid, plot in self.plots.items():
            if plot.sceneBoundingRect().contains(pos):
                point = plot.vb.mapSceneToView(pos)
                self.show_readout(point.x(), pid)
                return
        self._hide_crosshair()

    def show_readout(self, step: float, plot_id: str = "loss") -> None:
        """Crosshair at ``step`` and the nearest value of every series in the read-out label."""
        anchor = self._nearest(self.tracks[SERIES[plot_id].plot if plot_id in SERIES else "loss"].raw, step)
        if anchor is None:
            anchor = next((a for t in self.tracks.values() if (a := self._nearest(t.raw, step))), None)
        if anchor is None:
            self._hide_crosshair()
            return
        at = anchor[0]
        lines = [f"<b>step {at:,}</b>"]
        for key, style in SERIES.items():
            track = self.tracks[key]
            near = self._nearest(track.raw, at)
            if near is None:
                continue
            text = f"{near[1]:.5g}"
            if style.smoothable and track.weight > 0:
                sm = self._nearest(track.smooth, at)
                if sm is not None:
                    text = f"{sm[1]:.5g} <span style='color:gray'>(raw {near[1]:.5g})</span>"
            where = "" if near[0] == at else f" <span style='color:gray'>@ {near[0]:,}</span>"
            lines.append(f"<span style='color:{style.color}'>■</span> {style.label}: {text}{where}")
        self.readout.setText("<br>".join(lines))
        for line in self._vlines.values():
            line.setPos(at)
            line.setVisible(True)
        self._place_hline(plot_id, at)

    def _place_hline(self, plot_id: str, step: int) -> None:
        if self._hline_plot != plot_id:
            if self._hline_plot is not None:
                self.plots[self._hline_plot].removeItem(self._hline)
            self.plots[plot_id].addItem(self._hline, ignoreBounds=True)
            self._hline_plot = plot_id
        key = next(k for k, s in SERIES.items() if s.plot == plot_id)
        near = self._nearest(self.tracks[key].shown, step)
        if near is None or not math.isfinite(near[1]):
            self._hline.setVisible(False)
            return
        value = near[1]
        if plot_id == "loss" and self.log_scale.isChecked():
            value = math.log10(value) if value > 0 else float("nan")
        self._hline.setPos(value)
        self._hline.setVisible(math.isfinite(value))

    @staticmethod
    def _nearest(series: Series, step: float) -> tuple[int, float] | None:
        return series.value_at(step) if len(series) else None

    def _hide_crosshair(self) -> None:
        for line in self._vlines.values():
            line.setVisible(False)
        self._hline.setVisible(False)

    def leaveEvent(self, event) -> None:
        self._hide_crosshair()
        super().leaveEvent(event)
