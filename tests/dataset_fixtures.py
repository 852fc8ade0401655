"""Generated dataset fixtures for the datasets tests: small, deterministic, every format."""

from __future__ import annotations

import json
import os
import sqlite3
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import yaml
from PIL import Image


def png(path: Path, seed: int, size: int = 16) -> Path:
    """A small image whose content depends on ``seed`` (distinct seeds, distinct pictures)."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def jpeg(path: Path, seed: int, size: int = 32) -> Path:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, quality=90)
    return path


def image_folder(root: Path, classes: dict[str, int] | None = None) -> Path:
    classes = classes or {"cat": 3, "dog": 2}
    seed = 0
    for cls, n in classes.items():
        for i in range(n):
            png(root / cls / f"{cls}{i}.png", seed)
            seed += 1
    return root


def image_flat(root: Path, n: int = 4) -> Path:
    for i in range(n):
        png(root / f"img{i}.png", 100 + i)
    return root


def coco(root: Path, boxes: list[list[float]] | None = None) -> Path:
    for i in range(3):
        png(root / "images" / f"{i}.png", 200 + i)
    boxes = boxes or [[1, 1, 4, 4], [2, 2, 5, 5], [0, 0, 8, 8]]
    data = {
        "images": [{"id": i, "file_name": f"{i}.png", "width": 16, "height": 16} for i in range(3)],
        "annotations": [
            {"id": i, "image_id": i, "category_id": 1 + (i % 2), "bbox": b} for i, b in enumerate(boxes)
        ],
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "person"}],
    }
    (root / "annotations.json").write_text(json.dumps(data))
    return root


def yolo(root: Path, lines: dict[str, str] | None = None) -> Path:
    (root / "labels").mkdir(parents=True, exist_ok=True)
    (root / "data.yaml").write_text(yaml.safe_dump({"names": ["car", "person"], "nc": 2}))
    lines = lines or {"a": "0 0.5 0.5 0.2 0.2\n1 0.3 0.3 0.1 0.1\n", "b": "1 0.5 0.5 0.4 0.4\n"}
    for i, (stem, text) in enumerate(lines.items()):
        png(root / "images" / f"{stem}.png", 300 + i)
        (root / "labels" / f"{stem}.txt").write_text(text)
    return root


def csv_file(path: Path, rows: int = 5) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "id,text,label\n" + "".join(f'{i},"row number {i}, with a comma",{i % 2}\n' for i in range(rows))
    )
    return path


def jsonl_file(path: Path, rows: int = 5) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"text": f"document {i} " * 20}) + "\n" for i in range(rows)))
    return path


def parquet_file(path: Path, rows: int = 5) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table({"text": [f"parquet row {i}" for i in range(rows)], "n": list(range(rows))}), path
    )
    return path


def text_corpus(root: Path, files: int = 2) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (root / f"part{i}.txt").write_text(
            "".join(f"line {j} of part {i} about training\n" for j in range(40))
        )
    return root


def zip_of(folder: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(folder.parent).as_posix())
    return out


def tar_of(folder: Path, out: Path) -> Path:
    with tarfile.open(out, "w:gz") as tf:
        tf.add(folder, arcname=folder.name)
    return out


def storage_snapshot(home: Path) -> dict:
    """Everything an import may touch: blob files (name, size, mode) and the dataset rows."""
    blobs = home / "datasets" / "blobs"
    files = {}
    if blobs.is_dir():
        for p in sorted(blobs.rglob("*")):
            if p.is_file():
                st = p.stat()
                files[p.relative_to(blobs).as_posix()] = (st.st_size, st.st_mode)
    rows = {}
    db = home / "sparktrainer.db"
    if db.exists():
        con = sqlite3.connect(db)
        try:
            for table in ("datasets", "dataset_versions", "dataset_entries"):
                try:
                    rows[table] = sorted(con.execute(f"select * from {table}").fetchall())
                except sqlite3.OperationalError:
                    rows[table] = None
        finally:
            con.close()
    tmp = home / "datasets" / "tmp"
    leftovers = sorted(os.listdir(tmp)) if tmp.is_dir() else []
    return {"blobs": files, "rows": rows, "tmp": leftovers}
