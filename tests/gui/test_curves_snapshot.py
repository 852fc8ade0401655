"""Pixel snapshot of the curves widget: pinned size, fixed font, fixed data.

Regenerate the reference after an intended change with
``SPARKTRAINER_UPDATE_SNAPSHOTS=1 pytest tests/gui/test_curves_snapshot.py`` and look at it."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QFont, QImage

from sparktrainer_gui.panels.jobs.curves import CurvesWidget

SNAPSHOTS = Path(__file__).parent / "snapshots"
SIZE = (900, 500)
CHANNEL_TOLERANCE = 48  # a pixel differs when one channel moved more than this
MAX_DIFFERENT = 0.005  # share of differing pixels allowed (font hinting, antialiasing)


def _to_array(img: QImage) -> np.ndarray:
    img = img.convertToFormat(QImage.Format.Format_RGB32)
    arr = np.frombuffer(img.constBits(), dtype=np.uint8, count=img.sizeInBytes())
    return arr.reshape(img.height(), img.bytesPerLine() // 4, 4)[:, : img.width(), :3].copy()


def _fixed_data() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    steps = np.arange(1, 1201, dtype=float)
    loss = 0.6 + 2.8 * np.exp(-steps / 250.0) + rng.normal(0, 0.12, steps.size)
    loss[700] = 3.2  # a spike that must survive decimation
    ev = np.arange(0, 1201, 200, dtype=float)
    eval_loss = 0.75 + 2.8 * np.exp(-ev / 250.0)
    lr = 3e-3 * np.minimum(1.0, steps / 100.0) * (0.5 + 0.5 * np.cos(np.pi * steps / 1200.0))
    grad = 1.0 + 0.6 * np.exp(-steps / 300.0) + np.abs(rng.normal(0, 0.15, steps.size))
    tps = 5200 + rng.normal(0, 180, steps.size)
    return {
        "loss": (steps, loss),
        "eval_loss": (ev, eval_loss),
        "lr": (steps, lr),
        "grad_norm": (steps, grad),
        "tokens_per_s": (steps, tps),
    }


@pytest.fixture
def curves(qtbot):
    w = CurvesWidget()
    font = QFont("DejaVu Sans", 8)
    w.setFont(font)
    for plot in w.plots.values():
        for name in ("left", "bottom"):
            plot.getAxis(name).setStyle(tickFont=font)
    qtbot.addWidget(w)
    w.setFixedSize(*SIZE)
    with qtbot.waitExposed(w):  # a context manager: called bare, it never waits
        w.show()
    w.add_arrays(_fixed_data())
    w.refresh()
    return w


def test_curves_snapshot(curves, qtbot):
    qtbot.wait(0)  # let the layout settle (no timing involved)
    got = curves.grab().toImage()
    assert (got.width(), got.height()) == SIZE
    ref_path = SNAPSHOTS / "curves.png"
    if os.environ.get("SPARKTRAINER_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        assert got.save(str(ref_path))
        pytest.skip(f"reference snapshot written to {ref_path}")
    assert ref_path.exists(), f"no reference {ref_path}; run with SPARKTRAINER_UPDATE_SNAPSHOTS=1"
    ref = _to_array(QImage(str(ref_path)))
    cur = _to_array(got)
    assert ref.shape == cur.shape
    diff = np.abs(ref.astype(np.int16) - cur.astype(np.int16)).max(axis=2)
    share = float(np.mean(diff > CHANNEL_TOLERANCE))
    if share > MAX_DIFFERENT:
        out = Path(os.environ.get("TMPDIR", "/tmp")) / "curves-actual.png"
        got.save(str(out))
        pytest.fail(f"{share:.2%} of the pixels differ from {ref_path} (actual image: {out})")


def test_snapshot_data_keeps_the_spike(curves):
    _x, y = curves.displayed("loss")
    assert y.size > 0
    curves.smoothing.setValue(0)
    curves.refresh()
    x, y = curves.displayed("loss")
    assert x.size < 1200  # decimated to about two points per pixel column …
    assert 3.2 in y  # … and the spike survived
