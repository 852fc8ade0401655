"""Plain data of the datasets package: scanned items, previews, manifests and their diff."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trainer_runtime.datasets.formats import FORMATS, IMAGE_SUFFIXES, MODALITIES, is_image

__all__ = [
    "FORMATS",
    "IMAGE_SUFFIXES",
    "MODALITIES",
    "Entry",
    "Item",
    "Scan",
    "diff",
    "is_image",
    "manifest_hash",
]


@dataclass(frozen=True)
class Item:
    """One file to store: its path inside the dataset, where it is now, and its label."""

    path: str  # posix, relative
    source: Path
    label: str | None = None


@dataclass
class Scan:
    """What a format reader found: the files to store and what they mean."""

    format: str
    modality: str
    root: Path
    items: list[Item]
    item_count: int
    classes: dict[str, int] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def preview(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "modality": self.modality,
            "root": str(self.root),
            "files": len(self.items),
            "items": self.item_count,
            "classes": self.classes,
            "samples": self.samples,
            "meta": self.meta,
            "total_bytes": sum(i.source.stat().st_size for i in self.items),
        }


@dataclass(frozen=True)
class Entry:
    """One line of a manifest."""

    path: str
    sha256: str
    size: int
    label: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def manifest_hash(entries: list[Entry]) -> str:
    """sha256 over the sorted ``path, sha256, size, label`` lines: equal manifests, equal hash."""
    h = hashlib.sha256()
    for e in sorted(entries, key=lambda e: e.path):
        h.update(f"{e.path}\t{e.sha256}\t{e.size}\t{e.label if e.label is not None else ''}\n".encode())
    return h.hexdigest()


def diff(a: list[Entry], b: list[Entry]) -> dict[str, Any]:
    """What changed from manifest ``a`` to manifest ``b``."""
    old = {e.path: e for e in a}
    new = {e.path: e for e in b}
    added = sorted(p for p in new if p not in old)
    removed = sorted(p for p in old if p not in new)
    changed, relabelled = [], []
    for p in sorted(old.keys() & new.keys()):
        if old[p].sha256 != new[p].sha256:
            changed.append(p)
        if old[p].label != new[p].label:
            relabelled.append({"path": p, "from": old[p].label, "to": new[p].label})
    return {"added": added, "removed": removed, "changed": changed, "labels": relabelled}
