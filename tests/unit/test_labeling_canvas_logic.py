"""Pure logic of the labeling canvas (no QApplication): the document's states and edits,
class renames and merges over images, validation sentences, image-list stepping and the
decode size for big images."""

from __future__ import annotations

import pytest

from sparktrainer_gui.panels.labeling import document as d
from sparktrainer_gui.panels.labeling.document import DocShape, ImageState, LabelDocument
from sparktrainer_gui.panels.labeling.image_list import neighbour
from sparktrainer_gui.panels.labeling.images import scaled_size
from tests.labels_views import draft_view, labels_view
from trainer_runtime.api.schema.labels import LabelsView
from trainer_runtime.labeling.shapes import Shape


def labels(*annotations) -> LabelsView:
    return labels_view({
        "version": 3,
        "classes": {"classes": [{"id": 0, "name": "cat", "color": "#e6194b"}], "retired": [5]},
        "images": [{"path": f"i{k}.png", "blob": f"/b/{k}", "size": 1, "annotation": a}
                   for k, a in enumerate(annotations)],
    })  # fmt: skip


RECT = {"kind": "rect", "label": "cat", "points": [[1.0, 2.0], [10.0, 20.0]]}
POLY = {"kind": "polygon", "label": "road", "points": [[0.0, 0.0], [5.0, 0.0], [5.0, 5.0]], "hidden": True}


def test_load_decodes_annotations_tags_and_adds_missing_classes():
    doc = LabelDocument()
    doc.load(
        "ds", labels({"w": 40, "h": 30, "status": "done", "tags": [], "shapes": [RECT, POLY]}, "dog", None)
    )
    a, b, c = (doc.state(p) for p in doc.paths)
    assert (a.w, a.h, a.status) == (40, 30, "done") and [s.kind for s in a.shapes] == ["rect", "polygon"]
    assert a.shapes[1].hidden and a.shapes[0].id != a.shapes[1].id
    assert (b.status, b.tags) == ("done", ("dog",))  # an image-folder class name is a whole-image tag
    assert c == ImageState()
    assert doc.classes.names() == ["cat", "dog", "road"]
    assert doc.classes.next_id() == 8  # ids never shift: after the retired 5 and the new 6, 7
    assert doc.annotations() == {}  # nothing edited yet: a save sends nothing
    assert doc.annotations(only_edited=False)["i0.png"] == {
        "w": 40,
        "h": 30,
        "status": "done",
        "tags": [],
        "shapes": [RECT, POLY],
    }


def test_a_draft_replaces_the_versions_annotations():
    doc = LabelDocument()
    draft = {
        "base_version": 3,
        "classes": {"classes": [{"id": 0, "name": "cat", "color": "#000000"}]},
        "annotations": {"i0.png": {"w": 8, "h": 8, "status": "in_progress", "tags": ["cat"], "shapes": []}},
    }
    doc.load("ds", labels(None, None), draft_view(draft))
    assert doc.state("i0.png").tags == ("cat",) and doc.state("i1.png") == ImageState()
    assert doc.classes.by_name("cat").color == "#000000"


def test_edits_are_pure_and_put_an_unlabeled_image_in_progress():
    s0 = ImageState(w=20, h=20)
    rect = DocShape(1, Shape.rect("cat", 1, 1, 5, 5))
    s1 = d.with_shape(s0, rect)
    assert s0.shapes == () and s1.status == "in_progress" and s1.shapes == (rect,)
    moved = rect.but(points=[(2, 2), (6, 6)])
    s2 = d.with_shape(s1, moved)
    assert s2.shapes == (moved,) and s2.shape(1).points == ((2.0, 2.0), (6.0, 6.0))
    assert d.without_shapes(s2, [1]).shapes == ()
    tagged = d.with_tag(ImageState(status="done"), "cat", True)
    assert tagged.tags == ("cat",) and tagged.status == "done"
    assert d.with_tag(tagged, "cat", False).tags == ()


def test_relabel_for_rename_and_merge_keeps_tags_unique():
    s = ImageState(tags=("cat", "kitten"), shapes=(DocShape(1, Shape.point("kitten", 1, 1)),))
    merged = d.relabeled(s, "kitten", "cat")
    assert merged.tags == ("cat",) and merged.shapes[0].label == "cat" and merged.shapes[0].id == 1


def test_problems_name_the_image_and_shape_that_cannot_be_saved():
    doc = LabelDocument()
    doc.load("ds", labels(None))
    flat = DocShape(9, Shape.polygon("cat", [(0, 0), (1, 1), (2, 2)]))
    two = DocShape(10, Shape("polygon", "cat", ((0.0, 0.0), (1.0, 1.0))))
    doc.set_state("i0.png", d.with_shapes(doc.state("i0.png"), [flat, two]))
    problems = doc.problems()
    assert len(problems) == 2
    assert problems[0].startswith("i0.png, shape 1 (polygon 'cat')") and "zero area" in problems[0]
    assert "at least 3 points" in problems[1]


def test_document_events_carry_old_and_new_states():
    doc = LabelDocument()
    doc.load("ds", labels(None))
    seen = []
    unsubscribe = doc.subscribe(lambda event, payload: seen.append((event, payload)))
    new = ImageState(w=1, h=1, status="done")
    doc.set_state("i0.png", new)
    doc.set_state("i0.png", new)  # no change, no event
    unsubscribe()
    doc.set_state("i0.png", ImageState())
    assert [(e, p["new"]) for e, p in seen] == [("image_changed", new)]
    assert set(doc.annotations()) == {"i0.png"}  # edited since the version: what a save sends
    assert doc.counts() == {"unlabeled": 1, "in_progress": 0, "done": 0, "needs_review": 0}


@pytest.mark.parametrize(
    ("current", "step", "unlabeled", "expected"),
    [("a", 1, False, "b"), ("c", 1, False, None), ("a", -1, False, None), (None, 1, False, "a"),
     ("a", 1, True, "c"), ("c", 1, True, "a"), ("c", -1, True, "a")],
)  # fmt: skip
def test_neighbour_steps_through_the_list_or_the_unlabeled(current, step, unlabeled, expected):
    doc = LabelDocument()
    doc.load("ds", labels_view({"version": 1, "images": [{"path": p, "annotation": None} for p in "abc"]}))
    doc.states["b"] = ImageState(status="done")
    assert neighbour(doc.paths, doc, current, step, unlabeled) == expected


def test_big_images_decode_at_most_the_overview_side():
    assert scaled_size(8000, 8000, 2048) == (2048, 2048)
    assert scaled_size(8000, 2000, 2048) == (2048, 512)
    assert scaled_size(640, 480, 2048) == (640, 480)  # never grown
    assert scaled_size(0, 0, 2048) == (0, 0)
