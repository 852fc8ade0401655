"""The class map of a dataset: stable ids that never shift.

Stored as the manifest entry ``.sparktrainer/classes.json``:
``{"classes":[{"id":0,"name":"cat","color":"#e6194b"}, ...],"retired":[3]}`` (plus
``"origin":"coco"`` when the ids are a COCO file's category ids). Rename keeps the id, merge
retires the merged id, a new class gets max(id ever used) + 1. A ``ClassMap`` is immutable:
every edit returns a new map (easy to undo)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from trainer_runtime.labeling.shapes import ImageAnnotation, LabelError

CLASSES_PATH = ".sparktrainer/classes.json"
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
PALETTE = (
    "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6",
    "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8", "#800000", "#aaffc3",
    "#808000", "#ffd8b1", "#000075", "#808080",
)  # fmt: skip


def default_color(class_id: int) -> str:
    return PALETTE[class_id % len(PALETTE)]


@dataclass(frozen=True)
class ClassInfo:
    id: int
    name: str
    color: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "color": self.color}


@dataclass(frozen=True)
class ClassMap:
    classes: tuple[ClassInfo, ...] = ()
    retired: tuple[int, ...] = ()
    origin: str | None = None  # "coco": ids are the source file's category ids

    # ------------------------------------------------------------- lookups
    def by_name(self, name: str) -> ClassInfo | None:
        return next((c for c in self.classes if c.name == name), None)

    def by_id(self, class_id: int) -> ClassInfo | None:
        return next((c for c in self.classes if c.id == class_id), None)

    def id_of(self, name: str) -> int:
        c = self.by_name(name)
        if c is None:
            raise LabelError(f"no class named '{name}' in the class map; add it first")
        return c.id

    def names(self) -> list[str]:
        return [c.name for c in self.classes]

    def next_id(self) -> int:
        used = [c.id for c in self.classes] + list(self.retired)
        return max(used) + 1 if used else (1 if self.origin == "coco" else 0)

    def coco_id(self, class_id: int) -> int:
        """The COCO category_id of class ``class_id``."""
        return class_id if self.origin == "coco" else class_id + 1

    # --------------------------------------------------------------- edits
    def add(self, name: str, color: str | None = None, class_id: int | None = None) -> ClassMap:
        """A map with the new class ``name`` (id: ``class_id`` when given and free, else the next id)."""
        name = _check_name(name)
        if self.by_name(name) is not None:
            raise LabelError(f"there is already a class named '{name}'")
        cid = self.next_id() if class_id is None else int(class_id)
        if class_id is not None and (self.by_id(cid) is not None or cid in self.retired or cid < 0):
            raise LabelError(f"class id {cid} is taken or retired; ids never shift or come back")
        info = ClassInfo(cid, name, _check_color(color) if color else default_color(cid))
        return replace(self, classes=tuple(sorted((*self.classes, info), key=lambda c: c.id)))

    def ensure(self, names: Iterable[str]) -> ClassMap:
        """A map that has every class in ``names`` (new ones added in the order given)."""
        out = self
        for n in names:
            if out.by_name(n) is None:
                out = out.add(n)
        return out

    def rename(self, class_id: int, name: str) -> ClassMap:
        """Same id, new name (relabel the shapes with ``relabel(anns, {old: new})``)."""
        name = _check_name(name)
        old = self._get(class_id)
        other = self.by_name(name)
        if other is not None and other.id != class_id:
            raise LabelError(f"there is already a class named '{name}'; merge the classes instead")
        return self._put(replace(old, name=name))

    def recolor(self, class_id: int, color: str) -> ClassMap:
        return self._put(replace(self._get(class_id), color=_check_color(color)))

    def merge(self, source_id: int, target_id: int) -> ClassMap:
        """``source_id`` folds into ``target_id``; the source id is retired for good."""
        if source_id == target_id:
            raise LabelError("cannot merge a class into itself")
        self._get(source_id), self._get(target_id)
        return replace(
            self,
            classes=tuple(c for c in self.classes if c.id != source_id),
            retired=tuple(sorted({*self.retired, source_id})),
        )

    def _get(self, class_id: int) -> ClassInfo:
        c = self.by_id(class_id)
        if c is None:
            raise LabelError(f"no class with id {class_id} in the class map")
        return c

    def _put(self, info: ClassInfo) -> ClassMap:
        return replace(self, classes=tuple(info if c.id == info.id else c for c in self.classes))

    # ---------------------------------------------------------------- JSON
    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"classes": [c.to_json() for c in self.classes], "retired": list(self.retired)}
        if self.origin:
            out["origin"] = self.origin
        return out

    def to_bytes(self) -> bytes:
        """The blob stored in the manifest: equal maps, equal bytes (so an equal sha256)."""
        return (json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")) + "\n").encode()

    @staticmethod
    def from_json(data: Any) -> ClassMap:
        if data is None:
            return ClassMap()
        if not isinstance(data, dict) or not isinstance(data.get("classes", []), list):
            raise LabelError(
                'the class map must be {"classes": [{"id", "name", "color"}, ...], "retired": [...]}'
            )
        seen_ids: set[int] = set()
        seen_names: set[str] = set()
        classes = []
        for i, c in enumerate(data.get("classes", [])):
            if (
                not isinstance(c, dict)
                or not isinstance(c.get("id"), int)
                or not isinstance(c.get("name"), str)
            ):
                raise LabelError(f"class map entry {i + 1} needs an integer 'id' and a 'name'")
            cid, name = c["id"], _check_name(c["name"])
            if cid in seen_ids or name in seen_names:
                raise LabelError(f"class map entry {i + 1} repeats the id {cid} or the name '{name}'")
            seen_ids.add(cid)
            seen_names.add(name)
            classes.append(ClassInfo(cid, name, _check_color(c.get("color") or default_color(cid))))
        retired = data.get("retired", [])
        if not isinstance(retired, list) or not all(isinstance(r, int) for r in retired):
            raise LabelError("the class map's 'retired' must be a list of integer ids")
        if seen_ids & set(retired):
            raise LabelError(f"class ids {sorted(seen_ids & set(retired))} are both in use and retired")
        origin = data.get("origin")
        if origin not in (None, "coco"):
            raise LabelError(f"the class map's 'origin' must be 'coco' or absent, not {origin!r}")
        return ClassMap(tuple(sorted(classes, key=lambda c: c.id)), tuple(sorted(set(retired))), origin)

    @staticmethod
    def from_bytes(data: bytes) -> ClassMap:
        try:
            return ClassMap.from_json(json.loads(data))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise LabelError(f"the stored class map ({CLASSES_PATH}) is not valid JSON: {err}") from None


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise LabelError("a class needs a non-empty name")
    if name != name.strip() or "\n" in name or "," in name:
        raise LabelError(f"class name {name!r} may not have commas, line breaks or outer spaces")
    return name


def _check_color(color: Any) -> str:
    if not isinstance(color, str) or not COLOR_RE.match(color):
        raise LabelError(f"colour {color!r} must be '#rrggbb'")
    return color.lower()


def relabel(
    annotations: Mapping[str, ImageAnnotation], mapping: Mapping[str, str]
) -> dict[str, ImageAnnotation]:
    """Every shape and tag named ``old`` becomes ``mapping[old]`` (after a rename or merge);
    a tag that becomes a duplicate is dropped."""
    out = {}
    for path, ann in annotations.items():
        if not (ann.labels() & mapping.keys()):
            out[path] = ann
            continue
        tags: list[str] = []
        for t in ann.tags:
            t = mapping.get(t, t)
            if t not in tags:
                tags.append(t)
        shapes = tuple(replace(s, label=mapping.get(s.label, s.label)) for s in ann.shapes)
        out[path] = replace(ann, tags=tuple(tags), shapes=shapes)
    return out
