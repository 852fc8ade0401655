"""Integrity (verify) and quality reports of a version, and quality gates that make a new,
cleaned manifest (the old version is never edited)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from trainer_runtime.datasets.blobs import CHUNK, BlobStore
from trainer_runtime.datasets.errors import DatasetError
from trainer_runtime.datasets.imaging import ImageTooLarge, decode
from trainer_runtime.datasets.limits import DEFAULT_LIMITS, Limits
from trainer_runtime.datasets.model import Entry, is_image
from trainer_runtime.datasets.phash import DEFAULT_THRESHOLD, dhash, near_duplicate_groups
from trainer_runtime.datasets.textio import csv_rows, is_blank, lines

MAX_TEXT_CHARS = 20_000
LISTED = 200  # at most this many rows of each finding are listed
GATES = ("dedupe", "dedupe-near", "drop-corrupt")


def verify(blobs: BlobStore, entries: list[Entry]) -> dict[str, Any]:
    """Re-hash every blob against the manifest; lists missing and corrupt files by path."""
    missing, corrupt = [], []
    seen: dict[str, str] = {}  # sha → "ok" | "missing" | "corrupt"
    for e in entries:
        state = seen.get(e.sha256)
        if state is None:
            h = hashlib.sha256()
            try:
                with open(blobs.path(e.sha256), "rb") as fh:
                    while chunk := fh.read(CHUNK):
                        h.update(chunk)
                state = "ok" if h.hexdigest() == e.sha256 else "corrupt"
            except FileNotFoundError:
                state = "missing"
            seen[e.sha256] = state
        if state == "missing":
            missing.append(e.path)
        elif state == "corrupt":
            corrupt.append(e.path)
    return {
        "ok": not missing and not corrupt,
        "checked": len(entries),
        "missing": missing,
        "corrupt": corrupt,
    }


def report(blobs: BlobStore, meta: dict[str, Any], entries: list[Entry],
           near_threshold: int = DEFAULT_THRESHOLD, max_text_chars: int = MAX_TEXT_CHARS,
           limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:  # fmt: skip
    """Findings of one version. Pictures are decoded with bounded memory (``imaging.decode``):
    a PNG too big to decode whole in the daemon is checked as a stream and listed under
    ``not_compared`` (it has no perceptual hash, so no near-duplicate search)."""
    out: dict[str, Any] = {"undecodable": [], "exact_duplicates": [], "near_duplicates": [],
                           "empty_rows": [], "overlong_rows": [], "schema_errors": [],
                           "not_compared": []}  # fmt: skip
    by_sha: dict[str, list[str]] = defaultdict(list)
    for e in entries:
        by_sha[e.sha256].append(e.path)
    out["exact_duplicates"] = sorted(sorted(p) for p in by_sha.values() if len(p) > 1)
    hashes: dict[str, int] = {}
    sizes: dict[str, tuple[int, int]] = {}
    for e in entries:
        if not is_image(e.path):
            continue
        try:
            got = decode(blobs.path(e.sha256), e.path, limits, use=dhash)
        except ImageTooLarge as err:
            out["undecodable"].append({"path": e.path, "error": str(err)})
            continue
        if got.problem:
            out["undecodable"].append({"path": e.path, "error": got.problem})
            continue
        sizes[e.path] = got.size
        if got.whole:
            hashes[e.path] = got.value
        else:
            out["not_compared"].append({"path": e.path, "width": got.size[0], "height": got.size[1]})
    # exact copies are reported as such; near duplicates compare one path per content
    first_of = {paths[0]: sha for sha, paths in by_sha.items()}
    unique = {p: h for p, h in hashes.items() if p in first_of}
    out["near_duplicates"] = [
        g for g in near_duplicate_groups(unique, near_threshold) if len({first_of[p] for p in g}) > 1
    ]
    fmt = meta.get("format")
    if fmt in ("csv", "jsonl", "parquet", "text"):
        _text_rows(blobs, fmt, meta, entries, max_text_chars, out, limits)
    if fmt == "yolo":
        _yolo_schema(blobs, meta, entries, out, limits)
    if fmt == "coco":
        _coco_schema(blobs, entries, sizes, out)
    classes = meta.get("classes") or {}
    counts = [n for n in classes.values() if n > 0]
    out["class_counts"] = classes
    out["imbalance_ratio"] = max(counts) / min(counts) if len(counts) >= 2 else None
    out["summary"] = {k: len(v) for k, v in out.items() if isinstance(v, list)}
    for key in ("empty_rows", "overlong_rows", "schema_errors", "not_compared"):
        out[key] = out[key][:LISTED]
    out["near_threshold"], out["max_text_chars"] = near_threshold, max_text_chars
    return out


def rows(blobs: BlobStore, fmt: str, e: Entry, text_field: str | None,
         limits: Limits = DEFAULT_LIMITS) -> Iterator[tuple[int, str]]:  # fmt: skip
    """(line, text) of each row of one stored file, read as a stream (``textio``)."""
    path = blobs.path(e.sha256)
    if fmt == "parquet":
        yield from _parquet_rows(path, text_field)
        return
    if fmt == "text":
        found = False
        for i, line in lines(e.path, path, limits, strict=False):
            if not is_blank(line):
                found = True
                yield i, line.rstrip("\r\n")
        if not found:
            yield 1, ""
        return
    if fmt == "jsonl":
        for i, line in lines(e.path, path, limits, strict=False):
            if not is_blank(line):
                row = json.loads(line)
                yield i, str(row.get(text_field) or "") if text_field else " ".join(map(str, row.values()))
        return
    header: list[str] | None = None
    delimiter = "\t" if e.path.endswith(".tsv") else ","
    for line_num, fields in csv_rows(e.path, path, delimiter, limits, strict=False):
        if header is None:
            header = fields
            continue
        if not fields:
            continue
        row = dict(zip(header, fields, strict=False))
        value = row.get(text_field) if text_field else " ".join(v for v in row.values() if v)
        yield line_num, (value or "").strip()


def _parquet_rows(path: Path, text_field: str | None) -> Iterator[tuple[int, str]]:
    """Rows a batch at a time (the whole table would be read into memory, then as Python)."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    col = text_field if text_field in pf.schema_arrow.names else None
    i = 0
    for batch in pf.iter_batches(batch_size=1024, columns=[col] if col else None):
        for row in batch.to_pylist():
            i += 1
            yield (
                i,
                str(row.get(col) or "") if col else " ".join(str(v) for v in row.values() if v is not None),
            )


def _text_rows(blobs: BlobStore, fmt: str, meta: dict[str, Any], entries: list[Entry], limit: int,
               out: dict[str, Any], limits: Limits) -> None:  # fmt: skip
    field = meta.get("text_field")
    for e in entries:
        for line, text in rows(blobs, fmt, e, field, limits):
            if not text.strip():
                out["empty_rows"].append({"path": e.path, "line": line})
            elif len(text) > limit:
                out["overlong_rows"].append({"path": e.path, "line": line, "chars": len(text)})


def _yolo_schema(blobs: BlobStore, meta: dict[str, Any], entries: list[Entry], out: dict[str, Any],
                 limits: Limits) -> None:  # fmt: skip
    names = meta.get("names")
    if names is None:
        for e in entries:
            if e.path in ("data.yaml", "dataset.yaml", "data.yml"):
                names = (yaml.safe_load(blobs.path(e.sha256).read_text()) or {}).get("names")
    n = len(names or [])
    for e in entries:
        if not (e.path.startswith("labels/") and e.path.endswith(".txt")):
            continue
        for lineno, line in lines(e.path, blobs.path(e.sha256), limits, strict=False):
            cols = line.split()
            if not cols:
                continue
            cls = int(cols[0])
            if not 0 <= cls < n:
                out["schema_errors"].append(
                    {"path": e.path, "line": lineno, "message": f"class id {cls} is outside 0..{n - 1}"}
                )
            if any(not 0.0 <= float(v) <= 1.0 for v in cols[1:]):
                out["schema_errors"].append(
                    {"path": e.path, "line": lineno, "message": "coordinates must be normalised to 0..1"}
                )


def _coco_schema(blobs: BlobStore, entries: list[Entry], sizes: dict[str, tuple[int, int]],
                 out: dict[str, Any]) -> None:  # fmt: skip
    for e in entries:
        if not e.path.endswith(".json"):
            continue
        data = json.loads(blobs.path(e.sha256).read_text(encoding="utf-8"))
        cats = {c["id"] for c in data["categories"]}
        base = PurePosixPath(e.path).parent
        images = {}
        for img in data["images"]:
            w, h = img.get("width"), img.get("height")
            if not (isinstance(w, int | float) and isinstance(h, int | float)):
                for cand in (
                    (base / img["file_name"]).as_posix(),
                    f"images/{img['file_name']}",
                    img["file_name"],
                ):
                    if cand in sizes:
                        w, h = sizes[cand]
                        break
            images[img["id"]] = (img["file_name"], w, h)
        for i, ann in enumerate(data["annotations"]):
            where = {"path": e.path, "annotation": i}
            if ann["category_id"] not in cats:
                out["schema_errors"].append({**where, "message": f"unknown category_id {ann['category_id']}"})
            if ann["image_id"] not in images:
                out["schema_errors"].append({**where, "message": f"unknown image_id {ann['image_id']}"})
                continue
            name, w, h = images[ann["image_id"]]
            x, y, bw, bh = ann["bbox"]
            if bw <= 0 or bh <= 0:
                out["schema_errors"].append({**where, "message": f"box of {name} has no area: {ann['bbox']}"})
            elif w is not None and (x < 0 or y < 0 or x + bw > w or y + bh > h):
                out["schema_errors"].append(
                    {**where, "message": f"box {ann['bbox']} lies outside {name} ({w}×{h})"}
                )


def apply_gates(entries: list[Entry], rep: dict[str, Any], gates: list[str]) -> tuple[list[Entry], list[str]]:
    """A cleaned copy of the manifest and the paths it dropped."""
    unknown = [g for g in gates if g not in GATES]
    if unknown or not gates:
        raise DatasetError(
            f"unknown quality gate(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(GATES)}"
        )
    drop: set[str] = set()
    if "dedupe" in gates:
        drop.update(p for group in rep["exact_duplicates"] for p in group[1:])
    if "dedupe-near" in gates:
        drop.update(p for group in rep["near_duplicates"] for p in group[1:])
    if "drop-corrupt" in gates:
        drop.update(u["path"] for u in rep["undecodable"])
    for p in list(drop):  # a YOLO image goes with its label file
        if p.startswith("images/"):
            drop.add("labels/" + str(PurePosixPath(p[len("images/") :]).with_suffix(".txt")))
    kept = [e for e in entries if e.path not in drop]
    return kept, sorted(drop & {e.path for e in entries})
