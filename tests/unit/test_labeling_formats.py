"""YOLO and COCO import/export: exact round trips on generated fixtures, stable class ids,
reports of skipped and clipped shapes, bad coordinates reported with file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from PIL import Image

from tests.label_fixtures import make_coco, make_yolo
from trainer_runtime.datasets.model import is_image
from trainer_runtime.datasets.walk import list_files
from trainer_runtime.labeling import coco, yolo
from trainer_runtime.labeling.classmap import ClassMap, relabel
from trainer_runtime.labeling.shapes import ImageAnnotation, LabelError, Shape


def _read(fmt: str, root: Path, images_root: Path | None = None):
    files = dict(list_files(root))
    img_files = dict(list_files(images_root or root))
    images = [r for r in img_files if is_image(r)]

    def size_of(path: str):
        with Image.open(img_files[path]) as im:
            return im.size

    return (yolo.read_yolo if fmt == "yolo" else coco.read_coco)(files, images, size_of)


def _label_files(root: Path) -> dict[str, bytes]:
    return {r: p.read_bytes() for r, p in list_files(root) if r.startswith("labels/")}


def test_yolo_round_trip_is_byte_identical(tmp_path: Path) -> None:
    texts = make_yolo(tmp_path / "src")
    found = _read("yolo", tmp_path / "src")
    assert found.report.rows == []
    assert len(found.classes.classes) == 30
    kinds = {s.kind for a in found.annotations.values() for s in a.shapes}
    assert kinds == {"rect", "polygon"}
    assert "images/img_11.png" not in found.annotations  # no label file: not labelled
    assert found.annotations["images/img_10.png"].status == "done"  # empty label file: done, no objects

    written, report = yolo.write_yolo(found.classes, found.annotations, tmp_path / "out")
    assert report.rows == []
    out_files = _label_files(tmp_path / "out")
    assert out_files == {k: v.encode() for k, v in texts.items()}
    data = yaml.safe_load((tmp_path / "out" / "data.yaml").read_text())
    assert data["names"] == [f"class_{i:02d}" for i in range(30)] and data["nc"] == 30
    assert written["label_files"] == len(texts)


def test_coco_round_trip_is_equal_json(tmp_path: Path) -> None:
    doc = make_coco(tmp_path / "src")
    found = _read("coco", tmp_path / "src")
    assert found.report.rows == []
    assert found.classes.origin == "coco" and [c.id for c in found.classes.classes][:3] == [1, 3, 5]
    coco.write_coco(found.classes, found.annotations, tmp_path / "out")
    out = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert out == doc
    assert any(a["segmentation"] for a in doc["annotations"]) and any(
        not a["segmentation"] for a in doc["annotations"]
    )


def _same_shapes(a: dict[str, ImageAnnotation], b: dict[str, ImageAnnotation], tol: float) -> None:
    assert a.keys() == b.keys()
    for path in a:
        sa, sb = a[path].shapes, b[path].shapes
        assert [(s.kind, s.label, len(s.points)) for s in sa] == [
            (s.kind, s.label, len(s.points)) for s in sb
        ], path
        for x, y in zip(sa, sb, strict=True):
            for (x0, y0), (x1, y1) in zip(x.points, y.points, strict=True):
                assert abs(x0 - x1) <= tol and abs(y0 - y1) <= tol, (path, x, y)


def test_export_then_import_gives_the_same_shapes_to_the_pixel(tmp_path: Path) -> None:
    """YOLO → COCO → YOLO: every coordinate within a hundredth of a pixel (COCO's 2 decimals)."""
    make_yolo(tmp_path / "src")
    first = _read("yolo", tmp_path / "src")
    anns = {("images/" + p if not p.startswith("images/") else p): a for p, a in first.annotations.items()}
    coco.write_coco(first.classes, anns, tmp_path / "coco", image_file=lambda p: tmp_path / "src" / p)
    back = _read("coco", tmp_path / "coco")
    assert back.report.rows == []
    back_anns = back.annotations
    _same_shapes(
        {p: a for p, a in anns.items() if a.shapes}, {p: a for p, a in back_anns.items() if a.shapes}, 0.005
    )


def test_class_ids_stay_stable_across_rename_merge_add_and_reexport(tmp_path: Path) -> None:
    make_yolo(tmp_path / "src", n_classes=30)
    found = _read("yolo", tmp_path / "src")
    cmap = found.classes
    anns = found.annotations
    cmap = cmap.rename(3, "renamed")
    anns = relabel(anns, {"class_03": "renamed"})
    cmap = cmap.merge(5, 4)  # class_05 folds into class_04; id 5 is retired
    anns = relabel(anns, {"class_05": "class_04"})
    cmap = cmap.add("newcomer")
    assert cmap.id_of("newcomer") == 30 and cmap.id_of("renamed") == 3 and cmap.by_id(5) is None
    assert cmap.retired == (5,)
    with pytest.raises(LabelError):
        cmap.add("again", class_id=5)  # a retired id never comes back

    yolo.write_yolo(cmap, anns, tmp_path / "out")
    data = yaml.safe_load((tmp_path / "out" / "data.yaml").read_text())
    assert (
        data["names"][3] == "renamed"
        and data["names"][5] == "__retired_5__"
        and data["names"][30] == "newcomer"
    )
    again = _read("yolo", tmp_path / "out", tmp_path / "src")
    assert again.classes.retired == (5,)
    assert {c.id: c.name for c in again.classes.classes} == {c.id: c.name for c in cmap.classes}
    # every line keeps its class id, except class 5, which now reads 4
    src = _label_files(tmp_path / "src")
    out = _label_files(tmp_path / "out")
    for rel, text in src.items():
        want = [
            (("4" if ln.split()[0] == "5" else ln.split()[0]), ln.split()[1:])
            for ln in text.decode().splitlines()
        ]
        got = [(ln.split()[0], ln.split()[1:]) for ln in out[rel].decode().splitlines()]
        assert got == want
    # a second export of the same map writes the same bytes
    yolo.write_yolo(cmap, anns, tmp_path / "out2")
    assert _label_files(tmp_path / "out2") == out


def test_export_reports_clipped_and_skipped_shapes(tmp_path: Path) -> None:
    cmap = ClassMap().ensure(["car", "eye"])
    ann = ImageAnnotation(40, 30, "done", ("scene",), (
        Shape.rect("car", -5, 2, 10, 12),  # reaches left of the image: clipped
        Shape.rect("car", 50, 40, 60, 50),  # wholly outside: skipped
        Shape.point("eye", 3, 3),  # YOLO has no points: skipped
        Shape.polygon("car", [(30, 20), (50, 20), (30, 40)]),  # clipped to the image
        Shape.rect("truck", 1, 1, 5, 5),  # not in the class map: skipped
    ))  # fmt: skip
    written, report = yolo.write_yolo(cmap, {"a.png": ann}, tmp_path / "out")
    rows = [(r["action"], r.get("shape"), r["reason"]) for r in report.rows]
    assert [(a, s) for a, s, _ in rows] == [
        ("skipped", None), ("clipped", 1), ("skipped", 2), ("skipped", 3), ("clipped", 4), ("skipped", 5)
    ]  # fmt: skip
    assert all(r["image"] == "a.png" for r in report.rows)
    lines = (tmp_path / "out" / "labels" / "a.txt").read_text().splitlines()
    assert lines[0] == "0 0.125000 0.233333 0.250000 0.333333"  # x 0..10, y 2..12 of 40 x 30
    vals = lines[1].split()[1:]
    corners = {(vals[i], vals[i + 1]) for i in range(0, len(vals), 2)}  # x 30..40, y 20..30 of 40 x 30
    assert corners == {("0.750000", "0.666667"), ("1.000000", "0.666667"), ("1.000000", "1.000000"),
                       ("0.750000", "1.000000")}  # fmt: skip
    _, creport = coco.write_coco(cmap, {"a.png": ann}, tmp_path / "coco")
    assert [r["action"] for r in creport.rows] == [r["action"] for r in report.rows]


def test_bad_yolo_lines_are_reported_with_file_and_line(tmp_path: Path) -> None:
    make_yolo(tmp_path / "src", n_classes=3)
    bad = tmp_path / "src" / "labels" / "img_01.txt"
    bad.write_text(
        "0 0.5 0.5 0.2 0.2\n"
        "1 0.5 abc 0.2 0.2\n"  # not a number
        "7 0.5 0.5 0.2 0.2\n"  # no such class
        "0 0.5 0.5\n"  # too few columns
        "0 0.5 0.5 -0.2 0.2\n"  # negative width
        "0 0.95 0.5 0.2 0.2\n"  # reaches past the right edge: clipped
        "2 0.1 0.1 0.2 0.2 0.3 0.3\n",  # a polygon on one line: zero area
        encoding="utf-8",
    )
    (tmp_path / "src" / "labels" / "orphan.txt").write_text("0 0.5 0.5 0.1 0.1\n", encoding="utf-8")
    found = _read("yolo", tmp_path / "src")
    rows = [r for r in found.report.rows if r.get("file") == "labels/img_01.txt"]
    assert [(r["action"], r["line"]) for r in rows] == [
        ("skipped", 2), ("skipped", 3), ("skipped", 4), ("skipped", 5), ("clipped", 6), ("skipped", 7)
    ]  # fmt: skip
    assert "abc" in rows[0]["reason"] and "class id 7" in rows[1]["reason"]
    assert len(found.annotations["images/img_01.png"].shapes) == 2
    assert any(r.get("file") == "labels/orphan.txt" for r in found.report.rows)


def test_coco_rle_masks_and_bad_annotations_are_reported(tmp_path: Path) -> None:
    make_coco(tmp_path / "src", n_classes=2)
    path = tmp_path / "src" / "annotations.json"
    doc = json.loads(path.read_text())
    doc["annotations"] = [
        {
            "id": 1,
            "image_id": 1,
            "category_id": 1,
            "bbox": [1, 2, 3, 4],
            "segmentation": {"counts": "x", "size": [1, 1]},
        },
        {"id": 2, "image_id": 99, "category_id": 1, "bbox": [1, 2, 3, 4]},
        {"id": 3, "image_id": 1, "category_id": 42, "bbox": [1, 2, 3, 4]},
        {"id": 4, "image_id": 1, "category_id": 1, "bbox": [1, 2, "x", 4]},
        {"id": 5, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 2, 2]]},
    ]
    path.write_text(json.dumps(doc), encoding="utf-8")
    found = _read("coco", tmp_path / "src")
    reasons = [r["reason"] for r in found.report.rows]
    assert len(reasons) == 5 and "RLE" in reasons[0] and "annotations[1] (id 2)" in reasons[1]
    assert all(r["file"] == "annotations.json" for r in found.report.rows)
    assert found.annotations["images/pic_00.png"].shapes == (Shape.rect("thing 0", 1, 2, 4, 6),)
