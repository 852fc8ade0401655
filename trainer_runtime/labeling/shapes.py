"""Annotations of one image: frozen ``Shape`` and ``ImageAnnotation`` and their compact JSON.

Pixel coordinates (floats, origin top-left). A manifest entry's label is either a plain class
name (a whole-image tag) or the compact JSON (sorted keys, no spaces) made by ``encode``:
``{"h":480,"w":640,"status":"done","tags":["cat"],"shapes":[{"kind":"rect","label":"dog",
"points":[[x0,y0],[x1,y1]]}, ...]}``. Rects are kept normalised (x0 < x1, y0 < y1)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any

from trainer_runtime.datasets.errors import DatasetError

KINDS = ("rect", "polygon", "point")
STATUSES = ("unlabeled", "in_progress", "done", "needs_review")
Point = tuple[float, float]
MIN_AREA = 1e-9  # px²: a rect or polygon with less area than this is degenerate


class LabelError(DatasetError):
    """An annotation that cannot be stored or read; ``str(err)`` names the image and shape."""


@dataclass(frozen=True)
class Shape:
    kind: str  # rect | polygon | point
    label: str
    points: tuple[Point, ...]
    hidden: bool = False
    locked: bool = False

    @staticmethod
    def rect(label: str, x0: float, y0: float, x1: float, y1: float, **kw: Any) -> Shape:
        """A rect from any two corners (normalised)."""
        x0, y0, x1, y1 = float(x0), float(y0), float(x1), float(y1)
        return Shape("rect", label, ((min(x0, x1), min(y0, y1)), (max(x0, x1), max(y0, y1))), **kw)

    @staticmethod
    def polygon(label: str, points: list[Point] | tuple[Point, ...], **kw: Any) -> Shape:
        return Shape("polygon", label, tuple((float(x), float(y)) for x, y in points), **kw)

    @staticmethod
    def point(label: str, x: float, y: float, **kw: Any) -> Shape:
        return Shape("point", label, ((float(x), float(y)),), **kw)

    def with_points(self, points: tuple[Point, ...] | list[Point]) -> Shape:
        pts = tuple((float(x), float(y)) for x, y in points)
        if self.kind == "rect":
            (x0, y0), (x1, y1) = pts
            pts = ((min(x0, x1), min(y0, y1)), (max(x0, x1), max(y0, y1)))
        return replace(self, points=pts)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "label": self.label,
            "points": [[x, y] for x, y in self.points],
        }
        if self.hidden:
            out["hidden"] = True
        if self.locked:
            out["locked"] = True
        return out

    @staticmethod
    def from_json(data: Any, where: str = "shape") -> Shape:
        """A shape from its JSON; any malformed part is a ``LabelError`` naming ``where``."""
        if not isinstance(data, dict):
            raise LabelError(f"{where} must be an object with kind, label and points")
        kind, label, points = data.get("kind"), data.get("label"), data.get("points")
        if kind not in KINDS:
            raise LabelError(f"{where}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if not isinstance(label, str) or not label.strip():
            raise LabelError(f"{where}: needs a class name in 'label'")
        if not isinstance(points, list) or not all(
            isinstance(p, list | tuple) and len(p) == 2 and all(_is_number(v) for v in p) for p in points
        ):
            raise LabelError(f"{where}: 'points' must be a list of [x, y] number pairs")
        pts = tuple((float(x), float(y)) for x, y in points)
        shape = Shape(kind, label, pts, bool(data.get("hidden", False)), bool(data.get("locked", False)))
        if kind == "rect" and len(pts) == 2:
            shape = shape.with_points(pts)
        return shape


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def problem(shape: Shape) -> str | None:
    """Why ``shape`` cannot be saved, or None when it is fine."""
    from trainer_runtime.labeling.geometry import polygon_area

    pts = shape.points
    if not all(math.isfinite(v) for p in pts for v in p):
        return "has a coordinate that is not a finite number"
    if shape.kind == "point":
        return None if len(pts) == 1 else f"a point needs exactly 1 point, not {len(pts)}"
    if shape.kind == "rect":
        if len(pts) != 2:
            return f"a rect needs 2 corner points, not {len(pts)}"
        (x0, y0), (x1, y1) = pts
        if abs(x1 - x0) * abs(y1 - y0) < MIN_AREA:
            return "a rect with zero area (draw it wider and taller)"
        return None
    if len(pts) < 3:
        return f"a polygon needs at least 3 points, not {len(pts)}"
    if polygon_area(pts) < MIN_AREA:
        return "a polygon with zero area (its points are on one line)"
    return None


@dataclass(frozen=True)
class ImageAnnotation:
    w: int
    h: int
    status: str = "unlabeled"
    tags: tuple[str, ...] = ()
    shapes: tuple[Shape, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "h": self.h,
            "w": self.w,
            "status": self.status,
            "tags": list(self.tags),
            "shapes": [s.to_json() for s in self.shapes],
        }

    @staticmethod
    def from_json(data: Any, where: str = "image") -> ImageAnnotation:
        if not isinstance(data, dict):
            raise LabelError(f"{where}: the annotation must be an object with w, h, status, tags, shapes")
        w, h = data.get("w", 0), data.get("h", 0)
        if not (isinstance(w, int) and isinstance(h, int)) or w < 0 or h < 0:
            raise LabelError(f"{where}: 'w' and 'h' must be the image size in whole pixels")
        status = data.get("status", "unlabeled")
        if status not in STATUSES:
            raise LabelError(f"{where}: status must be one of {', '.join(STATUSES)}, not {status!r}")
        tags = data.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
            raise LabelError(f"{where}: 'tags' must be a list of class names")
        raw = data.get("shapes", [])
        if not isinstance(raw, list):
            raise LabelError(f"{where}: 'shapes' must be a list")
        shapes = tuple(Shape.from_json(s, f"{where}, shape {i + 1}") for i, s in enumerate(raw))
        return ImageAnnotation(w, h, status, tuple(tags), shapes)

    def validate(self, where: str = "image") -> ImageAnnotation:
        """Raise ``LabelError`` naming the image and shape when a shape cannot be saved."""
        for i, s in enumerate(self.shapes):
            why = problem(s)
            if why:
                raise LabelError(f"{where}, shape {i + 1} ({s.kind} '{s.label}'): {why}")
        return self

    def labels(self) -> set[str]:
        return set(self.tags) | {s.label for s in self.shapes}


def encode(ann: ImageAnnotation) -> str:
    """The compact manifest label: sorted keys, no spaces."""
    return json.dumps(ann.to_json(), sort_keys=True, separators=(",", ":"))


def is_annotation_label(label: str | None) -> bool:
    return bool(label) and label.startswith("{")  # type: ignore[union-attr]


def decode(label: str | None, w: int = 0, h: int = 0, where: str = "image") -> ImageAnnotation:
    """The annotation of a manifest label: JSON, a plain class name (a tag, done), or none."""
    if not label:
        return ImageAnnotation(w, h)
    if is_annotation_label(label):
        try:
            data = json.loads(label)
        except json.JSONDecodeError as err:
            raise LabelError(f"{where}: the stored label is not valid JSON ({err.msg})") from None
        return ImageAnnotation.from_json(data, where)
    return ImageAnnotation(w, h, "done", (label,))


def to_label(ann: ImageAnnotation) -> str | None:
    """What goes into ``Entry.label``: None when nothing is known, a plain class name for a
    done image with one tag and no shapes (as image-folder datasets have), otherwise JSON."""
    if ann.status == "unlabeled" and not ann.tags and not ann.shapes:
        return None
    if ann.status == "done" and len(ann.tags) == 1 and not ann.shapes and "," not in ann.tags[0]:
        return ann.tags[0]
    return encode(ann)
