"""Generated YOLO and COCO datasets for the labeling tests: odd image sizes, many classes, boxes
and polygons, written in our canonical forms (YOLO: 6 decimals; COCO: 2 decimals, ids in path
order, ``area`` of the box or polygon, ``segmentation: []`` for a box)."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import yaml
from PIL import Image

SIZES = [(37, 101), (640, 333), (101, 37), (64, 64), (333, 640), (17, 23)]


def _image(path: Path, w: int, h: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), ((seed * 53) % 256, (seed * 91) % 256, (seed * 17) % 256)).save(path)


def _shoelace(pts: list[tuple[float, float]]) -> float:
    s = 0.0
    for i in range(len(pts)):
        x0, y0 = pts[i]
        x1, y1 = pts[(i + 1) % len(pts)]
        s += x0 * y1 - x1 * y0
    return abs(s) / 2


def _polygon(rng: random.Random, w: int, h: int, places: int) -> list[tuple[float, float]]:
    """A simple (non self-crossing) polygon inside the image: points around a centre, by angle."""
    while True:
        n = rng.randint(3, 7)
        cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
        angles = sorted(rng.uniform(0, 2 * math.pi) for _ in range(n))
        pts = []
        for a in angles:
            r = rng.uniform(0.2, 0.95)
            x = min(max(cx + math.cos(a) * r * min(cx, w - cx), 0), w)
            y = min(max(cy + math.sin(a) * r * min(cy, h - cy), 0), h)
            pts.append((round(x, places), round(y, places)))
        if _shoelace(pts) > 1.0 and len(set(pts)) == n:
            return pts


def _box(rng: random.Random, w: int, h: int) -> tuple[int, int, int, int]:
    x0, y0 = rng.randint(0, w - 2), rng.randint(0, h - 2)
    return x0, y0, rng.randint(x0 + 1, w), rng.randint(y0 + 1, h)


def make_yolo(root: Path, n_classes: int = 30, seed: int = 0) -> dict[str, str]:
    """A YOLO folder at ``root``; returns {label file: its text}. The last image has no label
    file (unlabeled) and the one before has an empty one (labelled, no objects)."""
    rng = random.Random(seed)
    names = [f"class_{i:02d}" for i in range(n_classes)]
    (root).mkdir(parents=True, exist_ok=True)
    (root / "data.yaml").write_text(yaml.safe_dump({"names": names}), encoding="utf-8")
    texts: dict[str, str] = {}
    sizes = SIZES * 2
    for k, (w, h) in enumerate(sizes):
        rel = f"img_{k:02d}.png" if k % 3 else f"sub/img_{k:02d}.png"
        _image(root / "images" / rel, w, h, k)
        if k == len(sizes) - 1:
            continue
        lines = []
        for _ in range(0 if k == len(sizes) - 2 else rng.randint(1, 6)):
            cls = rng.randrange(n_classes)
            if rng.random() < 0.5:
                x0, y0, x1, y1 = _box(rng, w, h)
                vals = [(x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h]
            else:
                vals = [v for x, y in _polygon(rng, w, h, 3) for v in (x / w, y / h)]
            lines.append(" ".join([str(cls), *(f"{v:.6f}" for v in vals)]))
        label = "labels/" + rel.rsplit(".", 1)[0] + ".txt"
        text = "".join(f"{ln}\n" for ln in lines)
        (root / label).parent.mkdir(parents=True, exist_ok=True)
        (root / label).write_text(text, encoding="utf-8")
        texts[label] = text
    return texts


def make_coco(root: Path, n_classes: int = 30, seed: int = 1) -> dict:
    """A COCO folder at ``root`` (``annotations.json`` + ``images/``); returns the JSON document.
    Category ids are sparse (1, 3, 5, ...) as in real COCO files."""
    rng = random.Random(seed)
    cats = [{"id": 1 + 2 * i, "name": f"thing {i}"} for i in range(n_classes)]
    images, anns = [], []
    for k, (w, h) in enumerate(SIZES * 2):
        name = f"pic_{k:02d}.png"
        _image(root / "images" / name, w, h, k)
        images.append({"id": k + 1, "file_name": name, "width": w, "height": h})
        for _ in range(rng.randint(0, 5)):
            cat = rng.choice(cats)["id"]
            if rng.random() < 0.5:
                x0, y0 = round(rng.uniform(0, w - 2), 2), round(rng.uniform(0, h - 2), 2)
                bw, bh = round(rng.uniform(0.5, w - x0), 2), round(rng.uniform(0.5, h - y0), 2)
                while x0 + bw > w:
                    bw = round(bw - 0.01, 2)
                while y0 + bh > h:
                    bh = round(bh - 0.01, 2)
                ann = {"bbox": [x0, y0, bw, bh], "area": round(bw * bh, 2), "segmentation": []}
            else:
                pts = _polygon(rng, w, h, 2)
                xs, ys = [p[0] for p in pts], [p[1] for p in pts]
                bbox = [min(xs), min(ys), round(max(xs) - min(xs), 2), round(max(ys) - min(ys), 2)]
                ann = {
                    "bbox": bbox,
                    "area": round(_shoelace(pts), 2),
                    "segmentation": [[v for p in pts for v in p]],
                }
            anns.append({"id": len(anns) + 1, "image_id": k + 1, "category_id": cat, "iscrowd": 0, **ann})
    doc = {"images": images, "annotations": anns, "categories": cats}
    (root / "annotations.json").write_text(json.dumps(doc), encoding="utf-8")
    return doc
