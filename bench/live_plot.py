"""Benchmark: frame time of the job-detail curves with 5 series × 1,000,000 points, live.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python bench/live_plot.py [--frames 300]``

Two top-level windows of the same size are shown side by side in one process:

* **ours** – :class:`CurvesWidget` (train loss, eval loss, lr, grad norm, tokens/s; smoothing at its
  default 0.6, so three of the series also draw a faint raw curve: 8 curve items in all). Its data
  go in with ``append`` and reach pyqtgraph through ``refresh()`` (what its 15 Hz timer calls; the
  timer itself is stopped so that it cannot run inside a measured frame).
* **naive** – the same four plots with five plain ``PlotDataItem`` s; each frame calls
  ``setData(x[:n], y[:n])`` with every point, no downsampling, no clip-to-view.

Both start with 1,000,000 points per series and then receive 1,000 points/s per series: every frame
appends the points of the wall-clock time elapsed since that variant's previous frame (simulated
training at 1 kHz), so both grow the same way. Frames are interleaved so background load on the
machine hits both alike: A B A B … when ``--naive-every 1``; by default the naive variant (about
0.5–1 s a frame) runs after every 3rd frame of ours (B A A A B A A A …: 300 measured frames of ours,
about 90 of the baseline), which keeps the whole run under about two minutes. The first ``--warmup`` frames of
each variant are dropped.

**What a frame time is**: from the data update (append + push to the items) to the paint
finished. After the update the loop runs ``app.processEvents()`` until the plot's scene has been
painted once more (counted through pyqtgraph's ``sigPrepareForPaint``, which the view emits at the
start of each paint; the paint itself completes inside that same ``processEvents`` call), then
once more for anything the paint queued (stats table, axes). That is the path a real frame takes:
Qt's own deferred update, one paint of the plot area into the window's raster backing store. (A
forced ``viewport().repaint()`` was tried first; it paints twice per frame, because pyqtgraph's
queued dirty-item pass asks for a second paint after it.) The clock is ``time.perf_counter``. Prints medians, 95th percentiles and the ratio naive/ours.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QApplication

from sparktrainer_gui.panels.jobs.curves import PLOTS, SERIES, CurvesWidget

KEYS = list(SERIES)
RATE = 1000.0  # points per second per series
SIZE = (1200, 700)


def _values(key: str, steps: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    base = {"loss": 2.0, "eval_loss": 2.1, "lr": 3e-3, "grad_norm": 1.0, "tokens_per_s": 5000.0}[key]
    return base * (0.2 + np.exp(-steps / 4e5)) * (1.0 + 0.1 * rng.standard_normal(steps.size))


class Naive:
    """The baseline: all points to setData every frame."""

    def __init__(self, initial: dict[str, tuple[np.ndarray, np.ndarray]], capacity: int):
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.resize(*SIZE)
        plots = {}
        for row, (pid, label, _share) in enumerate(PLOTS):
            plots[pid] = self.graphics.addPlot(row=row, col=0)
            plots[pid].setLabel("left", label)
            if row:
                plots[pid].setXLink(plots["loss"])
        self.items = {k: plots[s.plot].plot(pen=pg.mkPen(s.color)) for k, s in SERIES.items()}
        self.x = {k: np.empty(capacity) for k in KEYS}
        self.y = {k: np.empty(capacity) for k in KEYS}
        self.n = 0
        for k, (x, y) in initial.items():
            self.x[k][: x.size], self.y[k][: y.size] = x, y
        self.n = next(iter(initial.values()))[0].size

    def update(self, steps: np.ndarray, new: dict[str, np.ndarray]) -> None:
        a, b = self.n, self.n + steps.size
        for k in KEYS:
            self.x[k][a:b], self.y[k][a:b] = steps, new[k]
        self.n = b
        for k, item in self.items.items():
            item.setData(self.x[k][:b], self.y[k][:b])

    def show(self) -> None:
        self.graphics.show()


class Ours:
    def __init__(self, initial: dict[str, tuple[np.ndarray, np.ndarray]]):
        self.widget = CurvesWidget()
        self.widget.resize(*SIZE)
        self.graphics = self.widget.graphics
        self.widget.add_arrays(initial)

    def update(self, steps: np.ndarray, new: dict[str, np.ndarray]) -> None:
        for k in KEYS:
            self.widget.append(k, steps, new[k])
        self.widget.refresh()

    def show(self) -> None:
        self.widget.show()
        self.widget.refresh_timer.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--frames", type=int, default=300, help="measured frames per variant")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--naive-every", type=int, default=3, help="one naive frame per N frames of ours")
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(0)

    t = time.perf_counter()
    steps0 = np.arange(1, args.points + 1, dtype=np.float64)
    initial = {k: (steps0, _values(k, steps0, rng)) for k in KEYS}
    capacity = args.points + int(RATE * 600) + 10_000
    variants = {"naive": Naive(initial, capacity), "ours": Ours(initial)}
    paints = {name: 0 for name in variants}
    for name, v in variants.items():
        v.show()
        v.graphics.scene().sigPrepareForPaint.connect(lambda n=name: paints.__setitem__(n, paints[n] + 1))
    app.processEvents()
    print(f"set-up: {len(KEYS)} series × {args.points:,} points, {time.perf_counter() - t:.1f}s")

    times: dict[str, list[float]] = {name: [] for name in variants}
    next_step = {name: float(args.points + 1) for name in variants}
    last = {name: time.perf_counter() for name in variants}
    appended = {name: 0 for name in variants}
    total = args.frames + args.warmup
    for frame in range(total):
        for name, v in variants.items():  # interleaved: naive, ours, ours, ours, naive, …
            if name == "naive" and frame % args.naive_every:
                continue
            now = time.perf_counter()
            k = max(1, round((now - last[name]) * RATE))
            last[name] = now
            steps = next_step[name] + np.arange(k, dtype=np.float64)
            next_step[name] += k
            appended[name] += k
            new = {key: _values(key, steps, rng) for key in KEYS}
            t0 = time.perf_counter()
            painted = paints[name]
            v.update(steps, new)
            deadline = t0 + 5.0
            while paints[name] == painted and time.perf_counter() < deadline:
                app.processEvents()
            app.processEvents()
            times[name].append(time.perf_counter() - t0)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"frames measured: ours {len(times['ours']) - args.warmup}, naive {len(times['naive']) - args.warmup}"
          f" (after {args.warmup} warm-up each), interleaved; load average {load:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    res = {}
    for name, ts in times.items():
        ms = np.array(ts[args.warmup :]) * 1e3
        res[name] = (statistics.median(ms), float(np.percentile(ms, 95)))
        print(
            f"{name:>6}: median {res[name][0]:7.2f} ms   p95 {res[name][1]:7.2f} ms   "
            f"max {ms.max():7.2f} ms   (+{appended[name]:,} points per series during the run)"
        )
    ratio_p95 = res["naive"][1] / res["ours"][1]
    ratio_med = res["naive"][0] / res["ours"][0]
    print(f" ratio naive/ours: p95 {ratio_p95:.1f}×, median {ratio_med:.1f}×")
    ok = res["ours"][1] <= 16.0
    print(f"target p95 ≤ 16 ms for ours: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
