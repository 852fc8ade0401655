"""A version's files as training workers read them (workers read files, never the store), under
``materialized/<manifest hash>/``: built once in a private temporary folder, renamed into place.

Files are hard links to the blobs (so they share the blobs' mode: 0440 or 0400 as the umask
allows), or copies given that mode; folders are 0700. The text corpus is written as a stream:
each document is escaped and written a chunk at a time, so the daemon's memory does not grow
with a document's or a dataset's size.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from trainer_runtime.datasets import model, quality
from trainer_runtime.datasets.blobs import BlobStore
from trainer_runtime.datasets.errors import DatasetError
from trainer_runtime.datasets.limits import Limits
from trainer_runtime.store.datasets import VersionInfo

CHUNK = 1 << 20


def _place(blobs: BlobStore, sha: str, out: Path) -> None:
    """``out`` as a hard link to the blob, or a copy of it with the blob's mode (across devices)."""
    try:
        os.link(blobs.path(sha), out)
    except OSError:
        shutil.copyfile(blobs.path(sha), out)
        os.chmod(out, blobs.mode)


def _build(parent: Path, final: Path, fill: Callable[[Path], None]) -> None:
    """Fill a new private folder and rename it to ``final`` (kept when another build won)."""
    tmp = parent / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir(parents=True, mode=0o700)
    try:
        fill(tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def text_corpus(
    blobs: BlobStore, root: Path, info: VersionInfo, entries: list[model.Entry], limits: Limits
) -> Path:
    """One .txt file linked as it is; otherwise every document (a .txt file, a JSONL/CSV/Parquet
    row's text) as a line ``{"text": ...}`` of a .jsonl file."""
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = root / info.manifest_hash
    single_txt = info.meta.get("format") == "text" and len(entries) == 1
    target = folder / ("corpus.txt" if single_txt else "corpus.jsonl")
    if target.is_file():
        return target

    def fill(tmp: Path) -> None:
        out = tmp / target.name
        if single_txt:
            _place(blobs, entries[0].sha256, out)
        else:
            _write_jsonl(blobs, info, entries, out, limits)
            os.chmod(out, blobs.mode)

    _build(root, folder, fill)
    return target


def files_tree(blobs: BlobStore, root: Path, info: VersionInfo, entries: list[model.Entry]) -> Path:
    """``<hash>/files/``: the version's files as a folder tree."""
    folder = root / info.manifest_hash / "files"
    if folder.is_dir():
        return folder
    (root / info.manifest_hash).mkdir(parents=True, exist_ok=True, mode=0o700)

    def fill(tmp: Path) -> None:
        for e in entries:
            out = tmp / e.path
            out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            _place(blobs, e.sha256, out)

    _build(root / info.manifest_hash, folder, fill)
    return folder


def labels_file(blobs: BlobStore, folder: Path, entries: list[model.Entry]) -> Path:
    """``labels.json`` beside ``files/``: ``{"images": {path: manifest label or null}}``."""
    labels = folder / "labels.json"
    if not labels.is_file():
        images = {e.path: e.label for e in entries if model.is_image(e.path)}
        tmp = folder / f".labels-{uuid.uuid4().hex}.json"
        tmp.write_text(json.dumps({"images": images}, ensure_ascii=False), encoding="utf-8")
        os.chmod(tmp, blobs.mode)
        os.replace(tmp, labels)
    return labels


def _write_jsonl(
    blobs: BlobStore, info: VersionInfo, entries: list[model.Entry], out: Path, limits: Limits
) -> None:
    fmt = info.meta["format"]
    field = info.meta.get("text_field")
    if fmt in ("csv", "parquet", "jsonl") and not field:
        raise DatasetError(
            f"dataset '{info.dataset}' version {info.number} has no 'text' column or field to train on"
        )
    n = 0
    with open(out, "w", encoding="utf-8") as fh:
        for e in entries:
            if fmt == "text":  # a whole file is one document: written as it is read
                n += _write_document(fh, blobs.path(e.sha256))
                continue
            for _, text in quality.rows(blobs, fmt, e, field, limits):
                if text.strip():
                    fh.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
                    n += 1
    if not n:
        raise DatasetError(f"dataset '{info.dataset}' version {info.number} has no text to train on")


def _chunks(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8", errors="replace") as src:  # universal newlines, as read_text
        while chunk := src.read(CHUNK):
            yield chunk


def _write_document(fh: IO[str], path: Path) -> int:
    """``{"text": <the file>}`` and a newline, escaped a chunk at a time (JSON escapes each
    character on its own, so chunks escape as the whole would); 0 for a blank file."""
    if all(chunk.isspace() for chunk in _chunks(path)):
        return 0
    fh.write('{"text": "')
    for chunk in _chunks(path):
        fh.write(json.dumps(chunk, ensure_ascii=False)[1:-1])
    fh.write('"}\n')
    return 1
