"""The live plots' value axis: labels never stack on short plots, and every plot keeps one."""

from __future__ import annotations

import numpy as np

from sparktrainer_gui.panels.jobs.plot_items import SparseAxis


def test_labels_fit_the_plot_height_and_at_least_one_is_shown(qtbot) -> None:
    axis = SparseAxis(orientation="left")
    rng = np.random.default_rng(3)
    for _ in range(400):
        lo = float(rng.uniform(-1e4, 1e4)) * 10.0 ** int(rng.integers(-6, 3))
        span = abs(lo) * float(rng.uniform(0.001, 2.0)) + 1e-9
        size = float(rng.uniform(12, 400))
        levels = axis.tickValues(lo, lo + span, size)
        assert len(levels) == 1, levels  # major ticks only
        values = [v for v in levels[0][1] if lo <= v <= lo + span]
        assert 1 <= len(values) <= max(1, int(size // SparseAxis.LABEL_PX)), (lo, span, size, levels)
