"""Sample-grid scrolling benchmark: frame time while scrolling 100,000 entries.

    .venv/bin/python bench/datasets_grid.py [--entries 100000] [--frames 600] [--latency-ms 5]

The real ``SampleGrid`` + ``EntriesModel`` + ``ThumbnailLoader`` of the Datasets panel, fed
by a paged fake source (bench only): pages of ``--entries`` entries, answered on a thread
after ``--latency-ms`` (a daemon round trip), whose blobs are a few hundred real 32×32 PNG
files generated here, so every thumbnail is really decoded off the main thread. A frame is
one scroll step followed by a synchronous repaint of the viewport (``repaint()``) and the
events that arrived; its time is what the user waits for between two frames. Three runs:
a slow scroll (a third of a row per frame), a fast one (two screens per frame) and jumps to
random places (dragging the scroll bar). Prints the median and p95 frame time of each, and
how many entries and thumbnails were held (never all of them).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_blobs(folder: Path, n: int = 300) -> list[str]:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        p = folder / f"{i:04d}.png"
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(p)
        out.append(str(p))
    return out


class FakeSource:
    """Pages of a version with ``total`` entries, answered on a worker thread."""

    def __init__(self, total: int, blobs: list[str], latency_s: float):
        self.total, self.blobs, self.latency_s = total, blobs, latency_s
        self.pool = ThreadPoolExecutor(max_workers=4)
        self.max_page = 0
        self.lock = threading.Lock()

    def fetch(self, _name: str, _version: Any, offset: int, limit: int) -> dict[str, Any]:
        time.sleep(self.latency_s)
        rows = range(offset, min(self.total, offset + limit))
        with self.lock:
            self.max_page = max(self.max_page, len(rows))
        return {"entries": [{"path": f"class{i % 10}/img{i:06d}.png", "sha256": f"{i:064x}", "size": 1000,
                             "label": f"class{i % 10}", "blob": self.blobs[i % len(self.blobs)]} for i in rows]}  # fmt: skip

    def submit(self, fn: Any, *args: Any, on_done: Any = None, on_error: Any = None) -> None:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()

        def finish(f: Any) -> None:
            err = f.exception()
            QTimer.singleShot(0, app, lambda: on_error(err) if err else on_done(f.result()))

        self.pool.submit(fn, *args).add_done_callback(finish)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--blobs", type=int, default=3000, help="distinct image files behind the entries")
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    from sparktrainer_gui.panels.datasets.entries_model import EntriesModel
    from sparktrainer_gui.panels.datasets.grid import CELL, THUMB, SampleGrid
    from sparktrainer_gui.panels.datasets.thumbnails import ThumbnailLoader

    app = QApplication([sys.argv[0]])
    with tempfile.TemporaryDirectory() as tmp:
        source = FakeSource(args.entries, make_blobs(Path(tmp), args.blobs), args.latency_ms / 1000)
        loader = ThumbnailLoader(THUMB)
        model = EntriesModel(source.submit, source.fetch, loader)
        grid = SampleGrid()
        grid.setModel(model)
        grid.resize(1200, 800)
        grid.show()
        t0 = time.perf_counter()
        model.set_source("bench", 1, args.entries)
        deadline = time.monotonic() + 60
        cols = max(1, grid.viewport().width() // CELL.width())
        full = -(-args.entries // cols) * CELL.height() - grid.viewport().height()
        while grid.verticalScrollBar().maximum() < full - CELL.height() and time.monotonic() < deadline:
            app.processEvents()
        layout_s = time.perf_counter() - t0
        bar = grid.verticalScrollBar()
        print(f"{args.entries:,} entries, viewport 1200x800, cell {CELL.width()}x{CELL.height()}; "
              f"laid out in {layout_s * 1000:.0f} ms; scroll range {bar.maximum():,} px")  # fmt: skip
        rng = random.Random(0)
        results = {}
        for run, step in (("slow", CELL.height() // 3), ("fast", 2 * grid.viewport().height()), ("jumps", 0)):
            frames: list[float] = []
            bar.setValue(0)
            app.processEvents()
            for _ in range(args.frames):
                t = time.perf_counter()
                value = (
                    rng.randrange(bar.maximum()) if step == 0 else (bar.value() + step) % (bar.maximum() + 1)
                )
                bar.setValue(value)
                grid.viewport().repaint()
                app.processEvents()
                frames.append((time.perf_counter() - t) * 1000)
            results[run] = frames
            print(f"{run:>5}: frame median {statistics.median(frames):6.2f} ms   p95 {pct(frames, 0.95):6.2f} ms   "
                  f"max {max(frames):6.2f} ms")  # fmt: skip
        # Let the last screen finish: every thumbnail on it arrives.
        deadline = time.monotonic() + 20
        while (loader.pending() or model.paged.has_wanted()) and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.005)
        print(f"held: {model.paged.loaded_rows():,} of {args.entries:,} entries ({len(model.paged.pages())} pages), "
              f"{len(loader._cache):,} thumbnails cached (limit {loader.cache_size:,}); "
              f"{model.fetches:,} page fetches, {loader.decoded_count:,} decodes")  # fmt: skip
        loader.stop()
        source.pool.shutdown(wait=True)
        p95 = max(pct(f, 0.95) for f in results.values())
        print(f"worst p95 {p95:.2f} ms ({'smooth at 60 Hz' if p95 < 16.7 else 'misses 60 Hz frames'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
