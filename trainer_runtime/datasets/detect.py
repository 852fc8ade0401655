"""Format detection and preview: quick, read-only, before an import is confirmed."""

from __future__ import annotations

import re
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from trainer_runtime.datasets import scan_images as img
from trainer_runtime.datasets import scan_text as txt
from trainer_runtime.datasets import textio
from trainer_runtime.datasets.archives import DEFAULT_LIMITS, Limits, extract, is_archive
from trainer_runtime.datasets.errors import DatasetError
from trainer_runtime.datasets.formats import (
    CHAT_SUFFIXES,
    DATA_SUFFIXES,
    FORMATS,
    IMPORTABLE,
    MODALITIES,
    is_image,
)
from trainer_runtime.datasets.model import Scan
from trainer_runtime.datasets.walk import list_files

SCANNERS: dict[str, Callable[[Path, list[tuple[str, Path]], Limits], Scan]] = {
    "image-folder": img.scan_image_folder,
    "image-flat": img.scan_image_flat,
    "coco": img.scan_coco,
    "yolo": img.scan_yolo,
    "csv": txt.scan_csv,
    "jsonl": txt.scan_jsonl,
    "parquet": txt.scan_parquet,
    "text": txt.scan_text,
    "chat": txt.scan_chat,
}
BY_SUFFIX = DATA_SUFFIXES
PEEK_BYTES = 1 << 20  # what is read of a .json file to tell a COCO file from a chat dataset
PEEK_ROWS = 20  # the rows of a .jsonl file whose shape says whether it holds chat examples
COCO_KEY = re.compile(rb'(?<!\\)"(images|annotations|categories)"\s*:')


def json_kind(path: Path) -> str:
    """``coco`` or ``chat`` for a .json file, from its first MiB: an array is a list of
    examples; an object is a COCO file when it has COCO's keys (``images``, ``annotations``,
    ``categories``), else an object holding examples. A chat file was taken for a broken COCO
    file before (every .json was read as COCO)."""
    with open(path, "rb") as fh:
        head = fh.read(PEEK_BYTES)
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"[":
        return "chat"
    return "coco" if COCO_KEY.search(head) else "chat"


def jsonl_kind(path: Path, rel: str = "") -> str:
    """``chat`` for a .jsonl file whose first rows have an unambiguous chat or instruction
    shape (``sft.formats.detect_format``), else ``jsonl`` (text or other rows, as before)."""
    from trainer_runtime.sft.formats import FormatError
    from trainer_runtime.sft.formats import detect_format as row_format

    rows: list[Any] = []
    try:
        for _, line in textio.lines(rel or path.name, path):
            if not textio.is_blank(line):
                rows.append(textio.json_value(line, rel or path.name))
                if len(rows) >= PEEK_ROWS:
                    break
    except DatasetError:
        return "jsonl"  # the JSONL scanner names the line
    if not rows or not all(isinstance(r, dict) for r in rows):
        return "jsonl"
    try:
        return "jsonl" if row_format(rows, rel or path.name) == "text" else "chat"
    except FormatError:
        return "jsonl"


def _data_file_format(path: Path, rel: str = "") -> str:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return json_kind(path)
    if suffix in CHAT_SUFFIXES:
        return jsonl_kind(path, rel)
    return BY_SUFFIX[suffix]


def detect_format(root: Path, files: list[tuple[str, Path]]) -> str:
    """The format of the folder (or single file) ``root`` whose files are ``files``."""
    if root.is_file():
        suffix = root.suffix.lower()
        if suffix in BY_SUFFIX:
            return _data_file_format(root)
        if is_image(root.name):
            return "image-flat"
        raise DatasetError(f"cannot tell the format of {root.name}: import {IMPORTABLE}")
    if not files:
        raise DatasetError(f"{root} holds no files to import")
    rels = [r for r, _ in files]
    if any(r in img.YAML_NAMES for r in rels) and any(r.startswith("images/") for r in rels):
        return "yolo"
    images = [r for r in rels if is_image(r)]
    if images and img.coco_json_files(files):
        return "coco"
    if images and len(images) == len(rels):
        depths = {len(PurePosixPath(r).parts) for r in images}
        return "image-folder" if min(depths) >= 2 else "image-flat"
    suffixes = Counter(PurePosixPath(r).suffix.lower() or "(none)" for r in rels)
    if not images and set(suffixes) <= set(CHAT_SUFFIXES):
        kinds_found = {_data_file_format(full, rel) for rel, full in files}
        if kinds_found == {"chat"}:
            return "chat"
        if "chat" in kinds_found and kinds_found != {"chat"}:
            raise DatasetError(
                f"{root} holds chat/instruction files and other JSON files; import the chat files on "
                "their own (or choose a format with --format)"
            )
    if len(suffixes) == 1:
        only = next(iter(suffixes))
        if only in BY_SUFFIX and BY_SUFFIX[only] != "coco":
            return BY_SUFFIX[only]
    kinds = ", ".join(f"{n} {s}" for s, n in suffixes.most_common(6))
    raise DatasetError(
        f"cannot tell the format of {root}: it holds {kinds} files; choose one with --format "
        f"({', '.join(FORMATS)})"
    )


def scan(
    root: Path, fmt: str | None = None, modality: str | None = None, limits: Limits = DEFAULT_LIMITS
) -> Scan:
    """Read and check a dataset folder (or file) in format ``fmt`` (detected when None)."""
    if fmt is not None and fmt not in FORMATS:
        raise DatasetError(f"unknown format '{fmt}'; choose one of {', '.join(FORMATS)}")
    if modality is not None and modality not in MODALITIES:
        raise DatasetError(f"unknown modality '{modality}'; choose one of {', '.join(MODALITIES)}")
    files = list_files(root)
    fmt = fmt or detect_format(root, files)
    result = SCANNERS[fmt](root.resolve(), files, limits)
    if modality:
        result.modality = modality
    return result


@contextmanager
def opened(source: Path, tmp_root: Path, limits: Limits = DEFAULT_LIMITS,
           cancelled: Callable[[], bool] = lambda: False) -> Iterator[Path]:  # fmt: skip
    """The dataset's root: ``source`` itself, or an archive extracted into a temporary folder
    under ``tmp_root`` (inside the data dir) that is removed afterwards, whatever happens."""
    source = Path(source).expanduser()
    if not source.exists():
        raise DatasetError(f"nothing to import at {source}: no such file or folder")
    if not is_archive(source):
        yield source.resolve()
        return
    tmp = tmp_root / f"extract-{uuid.uuid4().hex}"
    try:
        yield extract(source, tmp, limits, cancelled)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def preview(source: Path, tmp_root: Path, fmt: str | None = None, modality: str | None = None,
            limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:  # fmt: skip
    """Format, modality, counts, classes and a few samples of what an import would store."""
    with opened(source, tmp_root, limits) as root:
        result = scan(root, fmt, modality, limits).preview()
    result["source"] = result["root"] = str(source)
    result["archive"] = is_archive(Path(source))
    return result
