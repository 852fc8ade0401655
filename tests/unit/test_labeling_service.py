"""LabelService over a real datasets store: load a version's labels, save edited labels as a new
version (diff shows them), bad shapes refused, drafts, import/export, undecodable images."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import dataset_fixtures as fx
from tests.label_fixtures import make_coco, make_yolo
from trainer_runtime.datasets.service import DatasetService
from trainer_runtime.datasets.walk import list_files
from trainer_runtime.labeling.classmap import CLASSES_PATH
from trainer_runtime.labeling.service import DraftNotFound, LabelService
from trainer_runtime.labeling.shapes import LabelError
from trainer_runtime.store.store import Store


@pytest.fixture
def svc(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    store = Store(f"sqlite:///{home / 'sparktrainer.db'}")
    yield LabelService(DatasetService(home / "datasets", store.engine))
    store.close()


def test_save_a_version_with_labels_and_diff_shows_them(svc: LabelService, tmp_path: Path) -> None:
    texts = make_yolo(tmp_path / "src", n_classes=5)
    svc.ds.import_(tmp_path / "src", "boxes", fmt="yolo")
    v1 = svc.load("boxes")
    assert v1.info.number == 1 and v1.classes.names() == [f"class_{i:02d}" for i in range(5)]
    first = next(r for r in v1.images if r.annotation.shapes)
    assert Path(first.blob).is_file() and first.annotation.status == "done"
    assert next(r for r in v1.images if r.path == "images/img_11.png").annotation.status == "unlabeled"

    edited = first.annotation.to_json()
    edited["shapes"].append({"kind": "polygon", "label": "road", "points": [[1, 1], [9, 1], [5, 8]]})
    edited["status"] = "needs_review"
    v2 = svc.save("boxes", 1, None, {first.path: edited}, "a road")
    assert v2.number == 2 and v2.message == "a road"
    again = svc.load("boxes", 2)
    by_path = {r.path: r.annotation for r in again.images}
    assert by_path[first.path].to_json() == edited
    assert again.classes.id_of("road") == 5  # a new class gets the next id; old ids unchanged
    assert {r.path: r.annotation for r in v1.images if r.path != first.path}.items() <= by_path.items()

    diff = svc.ds.diff("boxes", 1, 2)
    assert CLASSES_PATH in diff["added"]
    change = next(d for d in diff["labels"] if d["path"] == first.path)
    assert '"label":"road"' in change["to"] and '"status":"needs_review"' in change["to"]
    # unchanged labels: no new version
    assert svc.save("boxes", 2, None, {first.path: edited}).number == 2
    # the labelled version still exports the untouched label files byte for byte
    out = svc.export("boxes", 2, "yolo", tmp_path / "out")
    for rel, text in texts.items():
        if rel.replace("labels/", "images/").rsplit(".", 1)[0] != first.path.rsplit(".", 1)[0]:
            assert (tmp_path / "out" / rel).read_text() == text
    assert out["report"] == [] and (tmp_path / "out" / first.path).is_file()


@pytest.mark.parametrize(
    "shape, why",
    [
        ({"kind": "polygon", "label": "a", "points": [[1, 1], [5, 5]]}, "at least 3 points"),
        ({"kind": "polygon", "label": "a", "points": [[1, 1], [2, 2], [3, 3]]}, "zero area"),
        ({"kind": "rect", "label": "a", "points": [[1, 1], [1, 9]]}, "zero area"),
        ({"kind": "rect", "label": "", "points": [[1, 1], [4, 9]]}, "class name"),
        ({"kind": "circle", "label": "a", "points": [[1, 1]]}, "kind must be"),
    ],
)
def test_bad_shapes_are_refused_naming_image_and_shape(svc: LabelService, tmp_path: Path, shape, why) -> None:
    fx.image_flat(tmp_path / "flat", 2)
    svc.ds.import_(tmp_path / "flat", "flat")
    ok = {"kind": "rect", "label": "a", "points": [[1, 1], [4, 4]]}
    ann = {"w": 16, "h": 16, "status": "done", "tags": [], "shapes": [ok, shape]}
    with pytest.raises(LabelError) as err:
        svc.save("flat", 1, None, {"img1.png": ann})
    assert "img1.png" in str(err.value) and "shape 2" in str(err.value) and why in str(err.value)
    assert [v.number for v in svc.ds.versions("flat")] == [1]  # nothing saved


def test_drafts_are_written_atomically_and_dropped_on_save(svc: LabelService, tmp_path: Path) -> None:
    fx.image_folder(tmp_path / "pets", {"cat": 2, "dog": 1})
    svc.ds.import_(tmp_path / "pets", "pets")
    with pytest.raises(DraftNotFound):
        svc.load_draft("pets")
    labels = svc.load("pets")
    assert labels.classes.names() == ["cat", "dog"]
    assert {r.annotation.tags for r in labels.images} == {("cat",), ("dog",)}
    ann = {"w": 16, "h": 16, "status": "done", "tags": ["dog"], "shapes": []}
    draft = {"base_version": 1, "classes": labels.classes.to_json(), "annotations": {"cat/cat0.png": ann}}
    svc.save_draft("pets", draft)
    svc.save_draft("pets", draft)
    assert svc.load_draft("pets") == draft
    assert [p.name for p in svc.drafts.iterdir()] == ["pets.json"]  # no temp files left
    v2 = svc.save("pets", 1, draft["classes"], draft["annotations"])
    with pytest.raises(DraftNotFound):
        svc.load_draft("pets")
    # a single done tag stays a plain class name in the manifest (as image folders have)
    _, entries = svc.ds.entries("pets", v2.number)
    assert {e.path: e.label for e in entries}["cat/cat0.png"] == "dog"


def test_import_coco_labels_onto_a_dataset_and_export_them_back(svc: LabelService, tmp_path: Path) -> None:
    doc = make_coco(tmp_path / "src", n_classes=4)
    info, report = svc.import_labels("things", tmp_path / "src", "coco")  # no such dataset: made first
    assert report == [] and info.number == 2
    labels = svc.load("things")
    assert labels.classes.origin == "coco" and [c.id for c in labels.classes.classes] == [1, 3, 5, 7]
    svc.export("things", "latest", "coco", tmp_path / "out")
    assert json.loads((tmp_path / "out" / "annotations.json").read_text()) == doc
    # import the export onto the same dataset: same labels, so no new version
    again, report = svc.import_labels("things", tmp_path / "out", "coco")
    assert report == [] and again.number == 2


def test_undecodable_images_are_marked_and_skipped(svc: LabelService, tmp_path: Path) -> None:
    fx.image_flat(tmp_path / "flat", 2)
    (tmp_path / "flat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    svc.ds.import_(tmp_path / "flat", "flat", keep_corrupt=True)
    labels = svc.load("flat")
    broken = next(r for r in labels.images if r.path == "broken.png")
    assert broken.error and broken.annotation.w == 0
    out = svc.export("flat", "latest", "yolo", tmp_path / "out")
    assert [(r["image"], r["action"]) for r in out["report"]] == [("broken.png", "skipped")]
    assert "cannot be decoded" in out["report"][0]["reason"]
    assert sorted(r for r, _ in list_files(tmp_path / "out")) == [
        "data.yaml",
        "images/img0.png",
        "images/img1.png",
    ]


def test_an_export_imported_as_a_new_dataset_keeps_ids_and_colours(svc: LabelService, tmp_path: Path) -> None:
    make_yolo(tmp_path / "src", n_classes=6)
    svc.ds.import_(tmp_path / "src", "boxes", fmt="yolo")
    labels = svc.load("boxes")
    cmap = labels.classes.merge(2, 1).recolor(0, "#123456").add("extra")
    anns = {p: a.to_json() for p, a in labels.annotations().items()}
    for a in anns.values():
        for s in a["shapes"]:
            s["label"] = "class_01" if s["label"] == "class_02" else s["label"]
    svc.save("boxes", 1, cmap.to_json(), anns)
    svc.export("boxes", "latest", "yolo", tmp_path / "out")
    info, report = svc.import_labels("copy", tmp_path / "out", "yolo")
    assert report == []
    copy = svc.load("copy")
    assert copy.classes == svc.load("boxes").classes and copy.classes.retired == (2,)
    assert copy.classes.by_id(0).color == "#123456" and copy.classes.id_of("extra") == 6
    assert copy.annotations() == svc.load("boxes").annotations()


def test_labels_import_marks_undecodable_images_and_refuses_text(svc: LabelService, tmp_path: Path) -> None:
    make_yolo(tmp_path / "src", n_classes=3)
    (tmp_path / "src" / "images" / "img_01.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    info, report = svc.import_labels("boxes", tmp_path / "src", "yolo")
    assert info.number == 2
    assert [(r["image"], r["action"]) for r in report] == [("images/img_01.png", "skipped")]
    assert "cannot be decoded" in report[0]["reason"]
    broken = next(r for r in svc.load("boxes").images if r.path == "images/img_01.png")
    assert broken.error and not broken.annotation.shapes
    svc.ds.import_(fx.text_corpus(tmp_path / "corpus"), "corpus")
    with pytest.raises(LabelError, match="text data"):
        svc.load("corpus")
