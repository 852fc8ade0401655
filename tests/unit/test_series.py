"""Series buffers, smoothing and peak-preserving decimation (pure numpy, no Qt)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from sparktrainer_gui.panels.jobs.series import BLOCK, MetricTrack, Series, ema, peak_reduce


def _naive_ema(x: np.ndarray, w: float) -> np.ndarray:
    out, s = np.empty_like(x), x[0]
    for i, v in enumerate(x):
        s = w * s + (1 - w) * v
        out[i] = s
    return out


def test_series_module_needs_no_qt() -> None:
    assert not any(m.startswith("PySide6") for m in sys.modules if "series" in m)
    import sparktrainer_gui.panels.jobs.series as mod

    assert "PySide6" not in mod.__dict__ and "pg" not in mod.__dict__


@pytest.mark.parametrize("w", [0.0, 0.3, 0.9, 0.99, 0.999])
def test_ema_matches_the_recurrence(w: float) -> None:
    x = np.random.default_rng(0).normal(2.0, 0.5, 50_000)
    got = ema(x, w)
    want = x if w == 0 else _naive_ema(x, w)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_ema_continues_from_an_initial_value_and_skips_non_finite() -> None:
    x = np.array([1.0, np.nan, 3.0, np.inf, 5.0])
    got = ema(x, 0.5, init=1.0)
    want = _naive_ema(np.array([1.0, 1.0, 1.0, 3.0, 3.0, 5.0]), 0.5)[1:]
    np.testing.assert_allclose(got, want)
    assert np.all(np.isfinite(got))


def test_peak_reduce_keeps_min_and_max_of_every_bucket() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=10_007)
    y[1234], y[8000] = 50.0, -50.0
    x = np.arange(y.size, dtype=float)
    rx, ry = peak_reduce(x, y, 100)
    assert ry.size == 2 * 101
    assert ry.max() == 50.0 and ry.min() == -50.0
    for b in range(101):
        chunk = y[b * 100 : (b + 1) * 100]
        assert ry[2 * b] == chunk.min() and ry[2 * b + 1] == chunk.max()
        assert rx[2 * b] == x[b * 100]


def test_append_grows_past_capacity_and_keeps_order() -> None:
    s = Series(capacity=8)
    for start in range(0, 1000, 37):
        steps = np.arange(start, min(start + 37, 1000))
        s.extend(steps, steps * 2.0)
    assert len(s) == 1000
    np.testing.assert_array_equal(s.steps, np.arange(1000))
    np.testing.assert_array_equal(s.values, np.arange(1000) * 2.0)


def test_dedupe_by_step_the_later_value_wins() -> None:
    s = Series()
    s.extend([1, 2, 3, 4], [10.0, 20.0, 30.0, 40.0])
    s.extend([3, 4, 5], [31.0, 41.0, 50.0])  # overlap with history (live points after a page)
    s.extend([0, 2], [0.5, 21.0])  # out of order
    s.extend([6, 6], [60.0, 61.0])  # duplicate within one batch
    np.testing.assert_array_equal(s.steps, [0, 1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(s.values, [0.5, 10, 21, 31, 41, 50, 61])
    assert s.stats().min == 0.5 and s.stats().max == 61


def test_view_is_peak_preserving_and_bounded() -> None:
    n = 1_000_000
    rng = np.random.default_rng(2)
    y = rng.random(n)
    spikes = rng.choice(n, 20, replace=False)
    y[spikes[:10]] = 100.0
    y[spikes[10:]] = -100.0
    s = Series()
    for part in np.array_split(np.arange(n), 7):
        s.extend(part, y[part])
    vx, vy = s.view(-np.inf, np.inf, 800)
    assert vy.size <= 2 * 800 + 2
    assert np.count_nonzero(vy == 100.0) >= 1 and np.count_nonzero(vy == -100.0) >= 1
    # every spike's bucket shows it: the reduced curve's envelope covers each spike's step
    for i in spikes:
        b = np.searchsorted(vx[0::2], i, "right") - 1
        assert vy[2 * b] <= y[i] <= vy[2 * b + 1]
    # a zoomed view returns the raw points plus one neighbour on each side
    zx, zy = s.view(1000, 1100, 800)
    np.testing.assert_array_equal(zx, np.arange(999, 1102))
    np.testing.assert_array_equal(zy, y[999:1102])


def test_view_of_a_middle_range_matches_the_block_index() -> None:
    y = np.sin(np.arange(300_000) / 500.0)
    s = Series()
    s.extend(np.arange(y.size), y)
    vx, vy = s.view(50_000.5, 250_000.5, 100)
    assert vx[0] <= 50_000 and vx[-1] <= 250_001
    assert vy.max() == pytest.approx(1.0, abs=1e-6) and vy.min() == pytest.approx(-1.0, abs=1e-6)
    assert vy.size <= 2 * 100 + 2 * BLOCK


def test_stats_min_last_best() -> None:
    loss = MetricTrack("loss")
    loss.extend(np.arange(1, 6), [3.0, 2.0, 2.5, 1.5, 1.8])
    st = loss.raw.stats()
    assert (st.count, st.last, st.last_step, st.min, st.max) == (5, 1.8, 5, 1.5, 3.0)
    assert (st.best, st.best_step) == (1.5, 4)
    tps = MetricTrack("tokens_per_s", higher_is_better=True)
    tps.extend([1, 2, 3], [100.0, 300.0, 200.0])
    st = tps.raw.stats(higher_is_better=True)
    assert (st.best, st.best_step) == (300.0, 2)
    assert Series().stats() is None


def test_track_smooths_incrementally_like_a_full_recompute() -> None:
    x = np.random.default_rng(3).normal(size=5000)
    track = MetricTrack("loss")
    track.set_weight(0.9)
    for part in np.array_split(np.arange(5000), 13):
        track.extend(part, x[part])
    np.testing.assert_allclose(track.shown.values, _naive_ema(x, 0.9), rtol=1e-9)
    track.set_weight(0.0)
    assert track.shown is track.raw
    track.set_weight(0.5)
    np.testing.assert_allclose(track.shown.values, _naive_ema(x, 0.5), rtol=1e-9)
