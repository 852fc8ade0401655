"""Dataset import throughput: N small generated images imported into the content-addressed store
(A) against ``cp -r`` plus ``sha256sum`` of the same files (B), in the same run; then the re-import
of the unchanged folder.

    .venv/bin/python bench/dataset_import.py [--images 20000] [--rounds 4] [--link]

A runs the real import (scan, sha256, full image decode check, blob write, manifest and rows in
one commit) in this process into a fresh data dir each round. B runs ``cp -r SRC DST`` then
``find DST -type f -print0 | xargs -0 sha256sum``. Rounds alternate A B, B A, ...; the first
round is a warm-up and is dropped; medians are reported. Ratio = B time / A time (target >= 0.7).
Re-import: the same folder imported again into the same data dir (the stat cache skips hashing);
speed-up = first import time / re-import time (target >= 10).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainer_runtime.datasets.service import DatasetService  # noqa: E402
from trainer_runtime.store.store import Store  # noqa: E402


def generate(folder: Path, n: int, classes: int = 10) -> int:
    rng = np.random.default_rng(0)
    total = 0
    for i in range(n):
        d = folder / f"class{i % classes:02d}"
        d.mkdir(parents=True, exist_ok=True)
        p = d / f"img{i:06d}.png"
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(p, compress_level=1)
        total += p.stat().st_size
    return total


def run_import(src: Path, home: Path, link: bool) -> tuple[float, float]:
    """(first import seconds, re-import seconds) into a fresh data dir."""
    home.mkdir(parents=True)
    store = Store(f"sqlite:///{home / 'sparktrainer.db'}")
    svc = DatasetService(home / "datasets", store.engine)
    try:
        t0 = time.perf_counter()
        v1 = svc.import_(src, "bench", link=link)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        v2 = svc.import_(src, "bench", link=link)
        again = time.perf_counter() - t0
        assert v1.manifest_hash == v2.manifest_hash
        return first, again
    finally:
        store.close()


def run_baseline(src: Path, dst: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(["cp", "-r", str(src), str(dst)], check=True)
    subprocess.run(f"find '{dst}' -type f -print0 | xargs -0 sha256sum > /dev/null", shell=True, check=True)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=4, help="including one warm-up round")
    ap.add_argument("--link", action="store_true", help="hard-link source files instead of copying")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ds-bench-") as tmp:
        work = Path(tmp)
        src = work / "images"
        t0 = time.perf_counter()
        size = generate(src, args.images)
        print(f"generated {args.images} images ({size / 2**20:.1f} MiB) in {time.perf_counter() - t0:.1f}s")
        a_times, b_times, re_times = [], [], []
        for r in range(args.rounds):
            order = ("A", "B") if r % 2 == 0 else ("B", "A")
            for which in order:
                target = work / f"{which}-{r}"
                if which == "A":
                    first, again = run_import(src, target, args.link)
                    if r:
                        a_times.append(first)
                        re_times.append(again)
                    print(f"round {r} A import {first:.2f}s  re-import {again:.3f}s")
                else:
                    t = run_baseline(src, target)
                    if r:
                        b_times.append(t)
                    print(f"round {r} B cp -r + sha256sum {t:.2f}s")
                shutil.rmtree(target)
        a, b, re = (statistics.median(x) for x in (a_times, b_times, re_times))
        print(
            f"\nimport (median):            {a:.2f}s  {args.images / a:,.0f} files/s  {size / 2**20 / a:.1f} MiB/s"
        )
        print(f"cp -r + sha256sum (median): {b:.2f}s  {args.images / b:,.0f} files/s")
        print(f"throughput ratio import / baseline: {b / a:.2f} (target >= 0.7)")
        print(f"re-import (median):         {re:.3f}s, {a / re:.1f}x faster than the first (target >= 10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
