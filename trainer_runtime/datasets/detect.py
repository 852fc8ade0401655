"""Format detection and preview: quick, read-only, before an import is confirmed."""

from __future__ import annotations

import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from trainer_runtime.datasets import scan_images as img
from trainer_runtime.datasets import scan_text as txt
from trainer_runtime.datasets.archives import DEFAULT_LIMITS, Limits, extract, is_archive
from trainer_runtime.datasets.errors import DatasetError
from trainer_runtime.datasets.formats import DATA_SUFFIXES, FORMATS, IMPORTABLE, MODALITIES, is_image
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
}
BY_SUFFIX = DATA_SUFFIXES


def detect_format(root: Path, files: list[tuple[str, Path]]) -> str:
    """The format of the folder (or single file) ``root`` whose files are ``files``."""
    if root.is_file():
        suffix = root.suffix.lower()
        if suffix in BY_SUFFIX:
            return BY_SUFFIX[suffix]
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
