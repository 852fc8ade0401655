"""What an import or export could not carry over as it was: one row per skipped or clipped shape
(or image, or bad line of a label file), with the image, file, line and reason."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from trainer_runtime.labeling.shapes import ImageAnnotation

# (w, h) of an image, or the sentence saying why it cannot be decoded
SizeFn = Callable[[str], "tuple[int, int] | str"]


@dataclass
class Report:
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, action: str, reason: str, image: str | None = None, shape: int | None = None,
            label: str | None = None, file: str | None = None, line: int | None = None) -> None:  # fmt: skip
        row: dict[str, Any] = {"action": action, "reason": reason}
        for key, value in (
            ("image", image),
            ("shape", shape),
            ("label", label),
            ("file", file),
            ("line", line),
        ):
            if value is not None:
                row[key] = value
        self.rows.append(row)

    def skipped(self, reason: str, **kw: Any) -> None:
        self.add("skipped", reason, **kw)

    def clipped(self, reason: str, **kw: Any) -> None:
        self.add("clipped", reason, **kw)


@dataclass
class LabelSet:
    """Annotations read from a file format: the classes (ids as in the file) and, per image path
    of the dataset, its annotation."""

    classes: Any  # ClassMap (kept loose to avoid an import cycle)
    annotations: dict[str, ImageAnnotation]
    report: Report


def under_images(path: str) -> str:
    """The image's path inside an export's ``images/`` folder."""
    return path[len("images/") :] if path.startswith("images/") else path


def match_images(images: list[str]) -> Callable[[str], str | None]:
    """A lookup from a path named in a label file (relative to the dataset root or to ``images/``)
    to the dataset's own image path."""
    exact = set(images)
    by_inner: dict[str, str] = {}
    by_stem: dict[str, str | None] = {}
    for p in images:
        by_inner.setdefault(under_images(p), p)
        stem = str(PurePosixPath(under_images(p)).with_suffix(""))
        by_stem[stem] = None if stem in by_stem else p  # None: ambiguous

    def find(name: str) -> str | None:
        name = name.replace("\\", "/")
        while name.startswith("./"):
            name = name[2:]
        if name in exact:
            return name
        inner = under_images(name)
        if inner in by_inner:
            return by_inner[inner]
        return by_stem.get(str(PurePosixPath(inner).with_suffix("")))

    return find


def fmt_float(v: float, places: int) -> str:
    """``v`` with ``places`` decimals; never '-0.000…'."""
    s = f"{v:.{places}f}"
    return s[1:] if s.startswith("-") and not s.strip("-0.") else s


def sizes_of(annotations: Mapping[str, ImageAnnotation]) -> dict[str, tuple[int, int]]:
    return {p: (a.w, a.h) for p, a in annotations.items()}
