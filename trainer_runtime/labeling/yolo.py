"""YOLO labels: ``data.yaml`` names, ``labels/<image>.txt`` with one shape a line.

Boxes are ``cls cx cy w h`` and segments ``cls x1 y1 x2 y2 ...``, normalised to 0..1 and written
with 6 decimals (our canonical form: reading and writing a file in that form gives it back byte
for byte). Class ids are the class map's ids; an id with no class (retired or never used) keeps
its place in ``names`` as ``__retired_<id>__``."""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from trainer_runtime.datasets.errors import DatasetError
from trainer_runtime.datasets.limits import DEFAULT_LIMITS
from trainer_runtime.datasets.scan_images import YAML_NAMES
from trainer_runtime.datasets.textio import lines, read_small
from trainer_runtime.labeling.classmap import ClassInfo, ClassMap, default_color
from trainer_runtime.labeling.geometry import clip
from trainer_runtime.labeling.report import LabelSet, Report, SizeFn, fmt_float, under_images
from trainer_runtime.labeling.shapes import ImageAnnotation, LabelError, Shape, problem

PLACES = 6
RETIRED_RE = re.compile(r"^__retired_(\d+)__$")


def label_path(image: str) -> str:
    """``images/a/b.jpg`` (or ``a/b.jpg``) → ``labels/a/b.txt``."""
    return "labels/" + str(PurePosixPath(under_images(image)).with_suffix(".txt"))


def read_names(files: Mapping[str, Path]) -> ClassMap:
    """The class map of ``data.yaml``'s ``names`` (a list, or a dict of id → name)."""
    rel = next((r for r in YAML_NAMES if r in files), None)
    if rel is None:
        raise LabelError("no data.yaml at the top of the YOLO folder; it needs one with the class names")
    try:
        text = read_small(rel, files[rel], DEFAULT_LIMITS.max_small_file_bytes, "YOLO file")
        data = yaml.safe_load(text)
    except DatasetError as err:
        raise LabelError(str(err)) from None
    except (yaml.YAMLError, RecursionError) as err:
        raise LabelError(f"YOLO file '{rel}' is not valid YAML: {err}") from None
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, list):
        names = dict(enumerate(names))
    if not isinstance(names, dict) or not names or not all(isinstance(k, int) for k in names):
        raise LabelError(f"YOLO file '{rel}' needs 'names': a list of class names (or a dict id: name)")
    classes, retired = [], []
    for cid, name in sorted(names.items()):
        m = RETIRED_RE.match(str(name))
        if m:
            retired.append(cid)
        else:
            classes.append(ClassInfo(cid, str(name), default_color(cid)))
    return ClassMap.from_json({"classes": [c.to_json() for c in classes], "retired": retired})


def read_yolo(files: Mapping[str, Path], images: list[str], size_of: SizeFn) -> LabelSet:
    """The annotations of those ``images`` (dataset paths) that have a label file in ``files``
    (relative path → file). A bad line is reported with its file and line and skipped."""
    classes = read_names(files)
    report = Report()
    anns: dict[str, ImageAnnotation] = {}
    used: set[str] = set()
    for image in images:
        rel = label_path(image)
        if rel not in files:
            continue  # not labelled in these files
        used.add(rel)
        size = size_of(image)
        if isinstance(size, str):
            report.skipped(f"the image cannot be decoded ({size})", image=image, file=rel)
            continue
        w, h = size
        shapes = _read_file(rel, files[rel], image, w, h, classes, report)
        anns[image] = ImageAnnotation(w, h, "done", (), tuple(shapes))
    for rel in sorted(files):
        if rel.startswith("labels/") and rel.endswith(".txt") and rel not in used:
            report.skipped("no image of the dataset matches this label file", file=rel)
    return LabelSet(classes, anns, report)


def _read_file(rel: str, path: Path, image: str, w: int, h: int, classes: ClassMap,
               report: Report) -> list[Shape]:  # fmt: skip
    """The shapes of one label file, read a line at a time (a line over the record limit, a
    byte that is not UTF-8 or a NUL skips the whole file, with the sentence why)."""
    try:
        return _read_lines(rel, path, image, w, h, classes, report)
    except DatasetError as err:
        report.skipped(str(err), image=image, file=rel)
        return []


def _read_lines(rel: str, path: Path, image: str, w: int, h: int, classes: ClassMap,
                report: Report) -> list[Shape]:  # fmt: skip
    out = []
    for lineno, line in lines(rel, path, DEFAULT_LIMITS):
        cols = line.split()
        if not cols:
            continue

        def bad(why: str, lineno: int = lineno) -> None:
            report.skipped(why, image=image, file=rel, line=lineno)

        if len(cols) != 5 and (len(cols) < 7 or len(cols) % 2 == 0):
            bad(
                f"{len(cols)} columns; expected 5 (class cx cy w h) or a polygon (class x1 y1 x2 y2 x3 y3 ...)"
            )
            continue
        try:
            cid = int(cols[0])
            vals = [float(c) for c in cols[1:]]
        except ValueError:
            bad(f"expected an integer class id and numbers, got '{line.strip()[:80]}'")
            continue
        info = classes.by_id(cid)
        if info is None:
            bad(f"class id {cid} has no name in data.yaml")
            continue
        if not all(math.isfinite(v) for v in vals):
            bad("a coordinate is not a finite number")
            continue
        if len(vals) == 4:
            cx, cy, bw, bh = vals
            if bw <= 0 or bh <= 0:
                bad(f"a box needs a positive width and height, got {cols[3]} x {cols[4]}")
                continue
            shape = Shape.rect(
                info.name, (cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h
            )
        else:
            shape = Shape.polygon(info.name, [(vals[i] * w, vals[i + 1] * h) for i in range(0, len(vals), 2)])
        clipped, was_clipped = clip(shape, w, h)
        if clipped is None:
            bad("the shape lies outside the image (coordinates beyond 0..1)")
            continue
        why = problem(clipped)
        if why:
            bad(why)
            continue
        if was_clipped:
            report.clipped("coordinates beyond 0..1 were clipped to the image", image=image, label=info.name,
                           file=rel, line=lineno)  # fmt: skip
        out.append(clipped)
    return out


def shape_line(class_id: int, shape: Shape, w: int, h: int) -> str:
    f = fmt_float
    if shape.kind == "rect":
        (x0, y0), (x1, y1) = shape.points
        vals = [(x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h]
    else:
        vals = [v for x, y in shape.points for v in (x / w, y / h)]
    return " ".join([str(class_id), *(f(v, PLACES) for v in vals)])


def names_list(classes: ClassMap) -> list[str]:
    top = max([c.id for c in classes.classes] + list(classes.retired), default=-1)
    return [c.name if (c := classes.by_id(i)) else f"__retired_{i}__" for i in range(top + 1)]


def write_yolo(
    classes: ClassMap, annotations: Mapping[str, ImageAnnotation], out: Path,
    image_file: Callable[[str], Path] | None = None, errors: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], Report]:  # fmt: skip
    """Write ``out/data.yaml``, ``out/labels/...`` (and ``out/images/...`` when ``image_file``
    gives each image's file). Every shape that is skipped or clipped is in the report."""
    report = Report()
    errors = errors or {}
    n_images = n_files = n_shapes = 0
    for image in sorted(set(annotations) | set(errors)):
        if image in errors:
            report.skipped(f"the image cannot be decoded ({errors[image]})", image=image)
            continue
        ann = annotations[image]
        if image_file is not None:
            place(image_file(image), out / "images" / under_images(image))
            n_images += 1
        for tag in ann.tags:
            report.skipped("YOLO keeps no whole-image tags", image=image, label=tag)
        if ann.status == "unlabeled" and not ann.shapes:
            continue
        lines = []
        for i, s in enumerate(ann.shapes, 1):
            line = export_shape(classes, s, ann.w, ann.h, report, image, i, "YOLO")
            if line is not None:
                lines.append(shape_line(classes.id_of(line.label), line, ann.w, ann.h))
        target = out / label_path(image)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(f"{ln}\n" for ln in lines), encoding="utf-8")
        n_files += 1
        n_shapes += len(lines)
    names = names_list(classes)
    out.mkdir(parents=True, exist_ok=True)
    data = {"path": str(out.resolve()), "train": "images", "val": "images", "nc": len(names), "names": names}
    (out / "data.yaml").write_text(
        yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return {
        "format": "yolo",
        "out": str(out),
        "images": n_images,
        "label_files": n_files,
        "shapes": n_shapes,
    }, report


def export_shape(classes: ClassMap, s: Shape, w: int, h: int, report: Report, image: str, i: int,
                 fmt: str) -> Shape | None:  # fmt: skip
    """``s`` as it can be exported (clipped to the image), or None (reported) when it cannot."""
    if s.kind == "point":
        report.skipped(
            f"{fmt} export keeps boxes and polygons, not points", image=image, shape=i, label=s.label
        )
        return None
    if classes.by_name(s.label) is None:
        report.skipped(f"class '{s.label}' is not in the class map", image=image, shape=i, label=s.label)
        return None
    clipped, was_clipped = clip(s, w, h)
    if clipped is None:
        report.skipped("the shape lies outside the image", image=image, shape=i, label=s.label)
        return None
    if was_clipped:
        report.clipped("the shape reached outside the image and was clipped to it", image=image, shape=i,
                       label=s.label)  # fmt: skip
    return clipped


def place(src: Path, dst: Path) -> None:
    """``dst`` becomes a copy of ``src`` (a copy, never a link: the export may be edited, the
    stored blob must not change)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        dst.unlink()
    shutil.copyfile(src, dst)
