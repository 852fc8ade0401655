"""COCO labels: one JSON of ``images``, ``annotations`` (``bbox`` and polygon ``segmentation``)
and ``categories``.

Export writes ``out/annotations.json`` and ``out/images/...``; coordinates are rounded to 2
decimals (our canonical form), a box's ``segmentation`` is ``[]``, ``area`` is the box's or the
polygon's area, images get ids 1..N in path order and annotations 1..M in image then shape order.
Category ids come from the class map (``ClassMap.coco_id``). RLE masks are not read: they are
reported as skipped and their ``bbox`` is kept as a box."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from trainer_runtime.datasets.scan_images import coco_json_files, read_coco_json
from trainer_runtime.labeling.classmap import ClassInfo, ClassMap, default_color
from trainer_runtime.labeling.geometry import clip, polygon_area
from trainer_runtime.labeling.report import LabelSet, Report, SizeFn, match_images, under_images
from trainer_runtime.labeling.shapes import ImageAnnotation, LabelError, Shape, problem
from trainer_runtime.labeling.yolo import export_shape, place

PLACES = 2
ANNOTATIONS_FILE = "annotations.json"


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _load(rel: str, path: Path) -> dict[str, Any]:
    data = read_coco_json(rel, path, LabelError)
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "categories")):
        raise LabelError(
            f"COCO file '{rel}' must be an object with the lists images, annotations, categories"
        )
    return data


def read_coco(files: Mapping[str, Path], images: list[str], size_of: SizeFn) -> LabelSet:
    """The annotations of the dataset ``images`` that the COCO JSON file(s) in ``files`` list."""
    jsons = coco_json_files(sorted(files.items()))
    if not jsons:
        raise LabelError("no COCO annotation file (.json) at the top of the folder or in annotations/")
    find = match_images(images)
    report = Report()
    names: dict[int, str] = {}
    anns: dict[str, ImageAnnotation] = {}
    for rel, path in jsons:
        data = _load(rel, path)
        for i, cat in enumerate(data["categories"]):
            if (
                not isinstance(cat, dict)
                or not isinstance(cat.get("id"), int)
                or not isinstance(cat.get("name"), str)
            ):
                raise LabelError(f"COCO file '{rel}': categories[{i}] needs an integer 'id' and a 'name'")
            if names.get(cat["id"], cat["name"]) != cat["name"]:
                raise LabelError(f"COCO file '{rel}': category id {cat['id']} is '{cat['name']}' here and "
                                 f"'{names[cat['id']]}' in another file")  # fmt: skip
            names[cat["id"]] = cat["name"]
        shapes = _read_file(rel, path, data, names, find, size_of, report, anns)
        for image, found in shapes.items():
            ann = anns[image]
            anns[image] = ImageAnnotation(ann.w, ann.h, "done", ann.tags, (*ann.shapes, *found))
    classes = ClassMap.from_json(
        {
            "classes": [ClassInfo(i, n, default_color(i)).to_json() for i, n in sorted(names.items())],
            "retired": [],
            "origin": "coco",
        }  # fmt: skip
    )
    return LabelSet(classes, anns, report)


def _read_file(
    rel: str, path: Path, data: dict[str, Any], names: dict[int, str], find: Callable[[str], str | None],
    size_of: SizeFn, report: Report, anns: dict[str, ImageAnnotation],
) -> dict[str, list[Shape]]:  # fmt: skip
    json_dir = PurePosixPath(rel).parent
    by_id: dict[Any, str] = {}
    for i, img in enumerate(data["images"]):
        if not isinstance(img, dict) or "id" not in img or not isinstance(img.get("file_name"), str):
            report.skipped(f"images[{i}] needs an 'id' and a 'file_name'", file=rel)
            continue
        name = img["file_name"]
        image = find(name) or find((json_dir / name).as_posix())
        if image is None:
            report.skipped(f"images[{i}] '{name}' is not in the dataset", file=rel)
            continue
        w, h = img.get("width"), img.get("height")
        if not (isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0):
            size = size_of(image)
            if isinstance(size, str):
                report.skipped(f"the image cannot be decoded ({size})", image=image, file=rel)
                continue
            w, h = size
        by_id[img["id"]] = image
        anns.setdefault(image, ImageAnnotation(w, h, "done"))
    out: dict[str, list[Shape]] = {image: [] for image in by_id.values()}
    for i, a in enumerate(data.get("annotations") or []):
        where = f"annotations[{i}]" + (f" (id {a['id']})" if isinstance(a, dict) and "id" in a else "")
        if not isinstance(a, dict) or a.get("image_id") not in by_id:
            report.skipped(f"{where}: its image_id is not one of the images", file=rel)
            continue
        image = by_id[a["image_id"]]
        label = names.get(a.get("category_id"))  # type: ignore[arg-type]
        if label is None:
            report.skipped(
                f"{where}: category_id {a.get('category_id')!r} is not a category", image=image, file=rel
            )
            continue
        for shape in _shapes(a, label, where, image, rel, report):
            ann = anns[image]
            clipped, was_clipped = clip(shape, ann.w, ann.h)
            why = "it lies outside the image" if clipped is None else problem(clipped)
            if clipped is None or why:
                report.skipped(f"{where}: {why}", image=image, label=label, file=rel)
                continue
            if was_clipped:
                report.clipped(f"{where}: reached outside the image and was clipped", image=image, label=label,
                               file=rel)  # fmt: skip
            out[image].append(clipped)
    return out


def _shapes(a: dict[str, Any], label: str, where: str, image: str, rel: str, report: Report) -> list[Shape]:
    seg = a.get("segmentation")
    if isinstance(seg, list) and seg:
        shapes = []
        for poly in seg:
            if not (
                isinstance(poly, list) and len(poly) >= 6 and len(poly) % 2 == 0 and all(map(_num, poly))
            ):
                report.skipped(f"{where}: a segmentation polygon needs an even number (6 or more) of numbers",
                               image=image, label=label, file=rel)  # fmt: skip
                continue
            shapes.append(Shape.polygon(label, [(poly[j], poly[j + 1]) for j in range(0, len(poly), 2)]))
        return shapes
    if isinstance(seg, dict):
        report.skipped(f"{where}: an RLE mask is not read; its bbox was kept as a box", image=image, label=label,
                       file=rel)  # fmt: skip
    box = a.get("bbox")
    if not (isinstance(box, list) and len(box) == 4 and all(map(_num, box))):
        report.skipped(f"{where}: needs a 'bbox' of 4 numbers or a polygon 'segmentation'", image=image,
                       label=label, file=rel)  # fmt: skip
        return []
    x, y, bw, bh = box
    if bw <= 0 or bh <= 0:
        report.skipped(f"{where}: the bbox has no area ({bw} x {bh})", image=image, label=label, file=rel)
        return []
    return [Shape.rect(label, x, y, x + bw, y + bh)]


def _r(v: float) -> float:
    out = round(v, PLACES)
    return 0.0 if out == 0 else out  # never -0.0


def coco_annotation(shape: Shape) -> dict[str, Any]:
    """``bbox``, ``area`` and ``segmentation`` of a shape, in the canonical rounding."""
    if shape.kind == "rect":
        (x0, y0), (x1, y1) = shape.points
        bw, bh = _r(x1 - x0), _r(y1 - y0)
        return {"bbox": [_r(x0), _r(y0), bw, bh], "area": _r(bw * bh), "segmentation": []}
    pts = [(_r(x), _r(y)) for x, y in shape.points]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    bbox = [min(xs), min(ys), _r(max(xs) - min(xs)), _r(max(ys) - min(ys))]
    return {"bbox": bbox, "area": _r(polygon_area(pts)), "segmentation": [[v for p in pts for v in p]]}


def write_coco(
    classes: ClassMap, annotations: Mapping[str, ImageAnnotation], out: Path,
    image_file: Callable[[str], Path] | None = None, errors: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], Report]:  # fmt: skip
    """Write ``out/annotations.json`` (and ``out/images/...`` when ``image_file`` gives each
    image's file). Every shape that is skipped or clipped is in the report."""
    report = Report()
    errors = errors or {}
    images: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for image in sorted(set(annotations) | set(errors)):
        if image in errors:
            report.skipped(f"the image cannot be decoded ({errors[image]})", image=image)
            continue
        ann = annotations[image]
        if image_file is not None:
            place(image_file(image), out / "images" / under_images(image))
        image_id = len(images) + 1
        images.append({"id": image_id, "file_name": under_images(image), "width": ann.w, "height": ann.h})
        for tag in ann.tags:
            report.skipped("COCO keeps no whole-image tags", image=image, label=tag)
        for i, s in enumerate(ann.shapes, 1):
            shape = export_shape(classes, s, ann.w, ann.h, report, image, i, "COCO")
            if shape is not None:
                rows.append({"id": len(rows) + 1, "image_id": image_id,
                             "category_id": classes.coco_id(classes.id_of(shape.label)), "iscrowd": 0,
                             **coco_annotation(shape)})  # fmt: skip
    categories = [{"id": classes.coco_id(c.id), "name": c.name} for c in classes.classes]
    out.mkdir(parents=True, exist_ok=True)
    doc = {"images": images, "annotations": rows, "categories": categories}
    (out / ANNOTATIONS_FILE).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    written = {"format": "coco", "out": str(out), "images": len(images), "annotations": len(rows),
               "file": str(out / ANNOTATIONS_FILE)}  # fmt: skip
    return written, report
