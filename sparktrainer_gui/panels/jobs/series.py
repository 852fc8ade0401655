"""Metric series for the live curves: pure numpy, no Qt.

A :class:`Series` is a step-sorted, growable (step, value) buffer with one point
per step (a later value for a step replaces the earlier one). Next to the raw
points it keeps a level-of-detail index: the min and max of every block of
``BLOCK`` points, updated incrementally on append. :meth:`Series.view` uses it
to reduce any step range to at most two points (min, max) per pixel column
without touching every raw point, so a 1M-point series costs O(N / BLOCK) per
repaint and every peak stays visible (the same result as pyqtgraph's
``setDownsampling(method='peak')``, which would scan all N points each frame).

:class:`MetricTrack` pairs a raw series with its EMA-smoothed twin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trainer_runtime.api.schema.jobs import MetricPoint

BLOCK = 64
_CHUNK_EXP = 100.0 * np.log(10.0)  # weight**-k stays below 1e100 within one EMA chunk


def ema(values: np.ndarray, weight: float, init: float | None = None) -> np.ndarray:
    """Exponential moving average ``s[i] = w*s[i-1] + (1-w)*x[i]`` (``s[-1] = init`` or ``x[0]``).

    Vectorised in chunks (closed form with powers of ``w``), so 1M points take
    milliseconds. Non-finite inputs are carried over by the previous finite value."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0 or weight <= 0.0:
        return x.copy()
    x = _ffill_nonfinite(x, init)
    w = float(min(weight, 0.9999))
    prev = float(x[0] if init is None or not np.isfinite(init) else init)
    if not np.isfinite(prev):  # all leading values non-finite
        return x.copy()
    chunk = max(1, int(_CHUNK_EXP / -np.log(w)))
    out = np.empty_like(x)
    powers_full = w ** np.arange(1, min(chunk, x.size) + 1, dtype=np.float64)
    for start in range(0, x.size, chunk):
        seg = x[start : start + chunk]
        p = powers_full[: seg.size]  # w**1 .. w**n
        # s_k = w**k * prev + (1-w) * sum_{j<=k} w**(k-j) x_j  =  p_k * (prev + (1-w) * cumsum(x_j / p_j))
        acc = np.cumsum(seg / p)
        out[start : start + seg.size] = p * (prev + (1.0 - w) * acc)
        prev = float(out[start + seg.size - 1])
    return out


def _ffill_nonfinite(x: np.ndarray, init: float | None) -> np.ndarray:
    bad = ~np.isfinite(x)
    if not bad.any():
        return x
    idx = np.where(bad, 0, np.arange(x.size))
    np.maximum.accumulate(idx, out=idx)
    filled = x[idx]
    lead = ~np.isfinite(filled)  # non-finite before the first finite value
    if lead.any():
        first = x[np.isfinite(x)]
        fill = init if init is not None and np.isfinite(init) else (first[0] if first.size else np.nan)
        filled[lead] = fill
    return filled


def peak_reduce(x: np.ndarray, y: np.ndarray, per_bucket: int) -> tuple[np.ndarray, np.ndarray]:
    """Reduce to two points (min, max) per bucket of ``per_bucket`` points; peaks survive.

    The output x repeats each bucket's first x twice (a vertical segment per pixel column)."""
    n = y.size
    if per_bucket <= 1 or n <= 2:
        return x, y
    nb = -(-n // per_bucket)
    pad = nb * per_bucket - n
    yy = np.concatenate([y, np.full(pad, np.nan)]) if pad else y
    yy = yy.reshape(nb, per_bucket)
    out_y = np.empty(nb * 2)
    out_y[0::2] = np.fmin.reduce(yy, axis=1)
    out_y[1::2] = np.fmax.reduce(yy, axis=1)
    out_x = np.repeat(x[::per_bucket], 2)
    return out_x, out_y


@dataclass(frozen=True)
class Stats:
    count: int
    last: float
    last_step: int
    min: float
    max: float
    best: float  # min when lower is better, else max
    best_step: int


class Series:
    """Step-sorted (step, value) points with a block min/max index for fast peak views."""

    def __init__(self, capacity: int = 1024):
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self._bmin = np.empty(capacity // BLOCK + 1)
        self._bmax = np.empty(capacity // BLOCK + 1)
        self._n = 0
        self.version = 0  # bumps on every change (the widget repaints when it moved)

    def __len__(self) -> int:
        return self._n

    @property
    def steps(self) -> np.ndarray:
        return self._x[: self._n]

    @property
    def values(self) -> np.ndarray:
        return self._y[: self._n]

    def clear(self) -> None:
        self._n = 0
        self.version += 1

    def extend(self, steps: np.ndarray, values: np.ndarray) -> None:
        """Add points; a step already present takes the new value (dedupe by step)."""
        x = np.asarray(steps, dtype=np.float64).ravel()
        y = np.asarray(values, dtype=np.float64).ravel()
        if x.size == 0:
            return
        y = np.where(np.isfinite(y), y, np.nan)  # ±inf would wreck auto-range; keep as a gap
        if x.size > 1 and not np.all(x[1:] > x[:-1]):
            order = np.argsort(x, kind="stable")
            x, y = x[order], y[order]
            last = np.append(x[1:] != x[:-1], True)  # the later duplicate wins
            x, y = x[last], y[last]
        n = self._n
        if n == 0 or x[0] > self._x[n - 1]:
            self._reserve(n + x.size)
            self._x[n : n + x.size] = x
            self._y[n : n + x.size] = y
            self._n = n + x.size
            self._reindex(n)
        else:
            self._merge(x, y)
        self.version += 1

    def _merge(self, x: np.ndarray, y: np.ndarray) -> None:
        old_x, old_y = self.steps, self.values
        pos = np.searchsorted(old_x, x)
        hit = (pos < old_x.size) & (old_x[np.minimum(pos, old_x.size - 1)] == x)
        new_y = old_y.copy()
        new_y[pos[hit]] = y[hit]
        mx = np.concatenate([old_x, x[~hit]])
        my = np.concatenate([new_y, y[~hit]])
        order = np.argsort(mx, kind="stable")
        first_changed = int(pos.min())
        self._n = 0
        self._reserve(mx.size)
        self._x[: mx.size] = mx[order]
        self._y[: mx.size] = my[order]
        self._n = mx.size
        self._reindex(first_changed)

    def _reserve(self, size: int) -> None:
        if size <= self._x.size:
            return
        cap = max(size, self._x.size * 2)
        for name in ("_x", "_y"):
            old = getattr(self, name)
            new = np.empty(cap, dtype=np.float64)
            new[: self._n] = old[: self._n]
            setattr(self, name, new)
        for name in ("_bmin", "_bmax"):
            old = getattr(self, name)
            new = np.empty(cap // BLOCK + 1)
            new[: old.size] = old
            setattr(self, name, new)

    def _reindex(self, first: int) -> None:
        """Recompute the block min/max from the block that holds index ``first``."""
        b0 = first // BLOCK
        seg = self._y[b0 * BLOCK : self._n]
        nb = -(-seg.size // BLOCK)
        pad = nb * BLOCK - seg.size
        blocks = (np.concatenate([seg, np.full(pad, np.nan)]) if pad else seg).reshape(nb, BLOCK)
        self._bmin[b0 : b0 + nb] = np.fmin.reduce(blocks, axis=1)
        self._bmax[b0 : b0 + nb] = np.fmax.reduce(blocks, axis=1)

    # ------------------------------------------------------------------ views
    def view(self, x0: float, x1: float, buckets: int) -> tuple[np.ndarray, np.ndarray]:
        """Points to draw for steps in [x0, x1] (plus one neighbour each side), at most
        about ``2 * buckets`` of them, every bucket's min and max kept."""
        n = self._n
        if n == 0:
            return self._x[:0], self._y[:0]
        i0 = max(0, int(np.searchsorted(self.steps, x0, "left")) - 1)
        i1 = min(n, int(np.searchsorted(self.steps, x1, "right")) + 1)
        count = i1 - i0
        buckets = max(1, buckets)
        if count <= 2 * buckets:
            return self._x[i0:i1], self._y[i0:i1]
        per = -(-count // buckets)
        if per < 2 * BLOCK:
            return peak_reduce(self._x[i0:i1], self._y[i0:i1], per)
        b0, b1 = i0 // BLOCK, -(-i1 // BLOCK)
        k = -(-per // BLOCK)  # blocks per bucket (rounded up: never more buckets than asked)
        nb = -(-(b1 - b0) // k)
        pad = nb * k - (b1 - b0)
        mins, maxs = self._bmin[b0:b1], self._bmax[b0:b1]
        if pad:
            mins = np.concatenate([mins, np.full(pad, np.nan)])
            maxs = np.concatenate([maxs, np.full(pad, np.nan)])
        out_y = np.empty(nb * 2)
        out_y[0::2] = np.fmin.reduce(mins.reshape(nb, k), axis=1)
        out_y[1::2] = np.fmax.reduce(maxs.reshape(nb, k), axis=1)
        out_x = np.repeat(self._x[b0 * BLOCK : b1 * BLOCK : k * BLOCK], 2)
        return out_x, out_y

    def value_at(self, step: float) -> tuple[int, float] | None:
        """The point whose step is nearest to ``step``."""
        n = self._n
        if n == 0:
            return None
        i = int(np.searchsorted(self.steps, step))
        if i >= n or (i > 0 and step - self._x[i - 1] <= self._x[i] - step):
            i -= 1
        return int(self._x[i]), float(self._y[i])

    def stats(self, higher_is_better: bool = False) -> Stats | None:
        n = self._n
        if n == 0:
            return None
        nb = -(-n // BLOCK)
        bmin, bmax = self._bmin[:nb], self._bmax[:nb]
        if np.all(np.isnan(bmin)):
            lo = hi = float("nan")
            best_i = n - 1
        else:
            lo, hi = float(np.nanmin(bmin)), float(np.nanmax(bmax))
            blocks = bmax if higher_is_better else bmin
            b = int(np.nanargmax(blocks) if higher_is_better else np.nanargmin(blocks))
            seg = self._y[b * BLOCK : min(n, (b + 1) * BLOCK)]
            best_i = b * BLOCK + int(np.nanargmax(seg) if higher_is_better else np.nanargmin(seg))
        return Stats(
            count=n,
            last=float(self._y[n - 1]),
            last_step=int(self._x[n - 1]),
            min=lo,
            max=hi,
            best=float(self._y[best_i]),
            best_step=int(self._x[best_i]),
        )


class MetricTrack:
    """One metric: the raw series and its EMA-smoothed copy (kept up to date incrementally)."""

    def __init__(self, key: str, higher_is_better: bool = False):
        self.key = key
        self.higher_is_better = higher_is_better
        self.raw = Series()
        self.smooth = Series()
        self.weight = 0.0

    def __len__(self) -> int:
        return len(self.raw)

    def clear(self) -> None:
        self.raw.clear()
        self.smooth.clear()

    def extend(self, steps: np.ndarray, values: np.ndarray) -> None:
        n = len(self.raw)
        last = self.raw.steps[-1] if n else -np.inf
        self.raw.extend(steps, values)
        if self.weight <= 0.0:
            return
        steps = np.asarray(steps, dtype=np.float64)
        if n and len(self.smooth) == n and steps.size and steps.min() > last:
            new = slice(n, len(self.raw))
            s_prev = float(self.smooth.values[-1])
            self.smooth.extend(self.raw.steps[new], ema(self.raw.values[new], self.weight, s_prev))
        else:
            self._resmooth()

    def set_weight(self, weight: float) -> None:
        weight = float(np.clip(weight, 0.0, 0.999))
        if weight != self.weight:
            self.weight = weight
            self._resmooth()

    def _resmooth(self) -> None:
        self.smooth.clear()
        if self.weight > 0.0 and len(self.raw):
            self.smooth.extend(self.raw.steps.copy(), ema(self.raw.values, self.weight))

    @property
    def shown(self) -> Series:
        """The series drawn in full colour: smoothed when smoothing is on."""
        return self.smooth if self.weight > 0.0 else self.raw


def fmt(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    a = abs(value)
    if a != 0 and (a < 1e-3 or a >= 1e6):
        return f"{value:.3e}"
    return f"{value:.4g}" if a < 1000 else f"{value:,.0f}"


def group_points(points: list[MetricPoint]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``[MetricPoint, …]`` → ``{key: (steps, values)}`` (runs off the main thread too)."""
    by_key: dict[str, tuple[list[float], list[float]]] = {}
    for p in points:
        steps, values = by_key.setdefault(p.key, ([], []))
        steps.append(p.step)
        values.append(p.value)
    return {
        k: (np.asarray(s, dtype=np.float64), np.asarray(v, dtype=np.float64)) for k, (s, v) in by_key.items()
    }
