"""Pure geometry of shapes (no Qt): areas, clipping, hit tests with a tolerance in image pixels,
rect handles, moves and resizes clamped to the image, polygon vertex edits; and the shapes'
JSON and validation, and the class map."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainer_runtime.labeling import geometry as g
from trainer_runtime.labeling.classmap import ClassMap, relabel
from trainer_runtime.labeling.shapes import (
    ImageAnnotation,
    LabelError,
    Shape,
    decode,
    encode,
    problem,
    to_label,
)

W, H = 100, 80
TRI = Shape.polygon("road", [(10, 10), (50, 10), (10, 40)])
BOX = Shape.rect("car", 60, 20, 20, 50)  # given corners in any order


def test_rects_are_normalised_and_measured() -> None:
    assert BOX.points == ((20.0, 20.0), (60.0, 50.0))
    assert g.area(BOX) == 1200 and g.area(TRI) == 600 and g.area(Shape.point("eye", 1, 1)) == 0
    assert g.bbox(TRI.points) == (10, 10, 50, 40)


def test_point_in_polygon_with_a_concave_polygon() -> None:
    u = [(0, 0), (30, 0), (30, 30), (20, 30), (20, 10), (10, 10), (10, 30), (0, 30)]  # a U
    assert g.point_in_polygon((5, 20), u) and g.point_in_polygon((25, 20), u)
    assert not g.point_in_polygon((15, 20), u)  # the notch
    assert not g.point_in_polygon((35, 5), u)


def test_hit_test_handles_vertices_edges_and_inside_with_tolerance() -> None:
    shapes = [BOX, TRI]
    assert g.hit_test(shapes, (59.2, 50.5), tol=1) == g.Hit(0, "handle", handle="se")
    assert g.hit_test(shapes, (40, 50.6), tol=1) == g.Hit(0, "handle", handle="s")
    assert g.hit_test(shapes, (40, 50.6), tol=0.5) is None  # outside the tolerance
    assert g.hit_test(shapes, (60.5, 35), tol=1) == g.Hit(0, "handle", handle="e")
    assert g.hit_test(shapes, (59.5, 28), tol=1) == g.Hit(0, "edge", vertex=2)
    assert g.hit_test(shapes, (49.6, 10.3), tol=1) == g.Hit(1, "vertex", vertex=1)
    assert g.hit_test(shapes, (30, 9.5), tol=1) == g.Hit(1, "edge", vertex=1)  # insert at index 1
    # the triangle lies on top of the box where they overlap: it wins the inside hit
    assert g.hit_test(shapes, (22, 24), tol=1) == g.Hit(1, "inside")
    assert g.hit_test(shapes, (45, 45), tol=1) == g.Hit(0, "inside")
    assert g.hit_test(shapes, (90, 70), tol=3) is None
    # hidden shapes are not hit; locked shapes only as a whole
    assert g.hit_test([BOX, Shape.polygon("road", TRI.points, hidden=True)], (22, 24), 1) == g.Hit(
        0, "inside"
    )
    locked = Shape.rect("car", 20, 20, 60, 50, locked=True)
    assert g.hit_test([locked], (20.2, 20.2), 1) == g.Hit(0, "edge", vertex=1)
    # the selected shape's handle wins over a shape drawn above it
    assert g.hit_test(shapes, (20.3, 20.2), 1) == g.Hit(1, "inside")
    assert g.hit_test(shapes, (20.3, 20.2), 1, selected=0) == g.Hit(0, "handle", handle="nw")
    assert g.hit_test([Shape.point("eye", 5, 5)], (5.5, 5.5), 1) == g.Hit(0, "vertex", vertex=0)


def test_hit_test_is_fast_on_5000_boxes() -> None:
    boxes = [Shape.rect("c", (i % 100) * 80, (i // 100) * 80, (i % 100) * 80 + 50, (i // 100) * 80 + 50)
             for i in range(5000)]  # fmt: skip
    t0 = time.perf_counter()
    for k in range(20):
        g.hit_test(boxes, (k * 37.0, k * 11.0), 2)
    per_call = (time.perf_counter() - t0) / 20
    assert per_call < 0.05, f"{per_call * 1000:.1f} ms per hit test"


def test_move_and_resize_are_clamped_to_the_image() -> None:
    moved = g.move(BOX, 100, -100, W, H)  # as far as the image allows, size kept
    assert moved.points == ((60.0, 0.0), (100.0, 30.0))
    assert g.move(TRI, -3, 2, W, H).points == ((7, 12), (47, 12), (7, 42))
    assert g.resize_rect(BOX, "se", (150, 70), W, H).points == ((20, 20), (100, 70))
    assert g.resize_rect(BOX, "n", (999, -5), W, H).points == ((20, 0), (60, 50))
    flipped = g.resize_rect(BOX, "w", (80, 0), W, H)  # dragged past the other side
    assert flipped.points == ((60, 20), (80, 50))
    with pytest.raises(ValueError):
        g.resize_rect(BOX, "middle", (1, 1), W, H)


def test_polygon_vertex_insert_remove_and_move() -> None:
    hit = g.hit_test([TRI], (30, 10.4), 1)
    assert hit is not None and hit.part == "edge"
    quad = g.insert_vertex(TRI, hit.vertex, (30, 5), W, H)
    assert quad.points == ((10, 10), (30, 5), (50, 10), (10, 40))
    assert g.remove_vertex(quad, 1) == TRI
    assert g.remove_vertex(TRI, 0) is None  # a polygon keeps at least 3 points
    assert g.move_vertex(TRI, 2, (-4, 90), W, H).points[2] == (0, 80)


def test_clip_reports_what_was_clipped() -> None:
    inside, clipped = g.clip(BOX, W, H)
    assert inside is BOX and not clipped
    part, clipped = g.clip(Shape.rect("c", -10, 70, 20, 90), W, H)
    assert clipped and part is not None and part.points == ((0, 70), (20, 80))
    gone, clipped = g.clip(Shape.rect("c", 200, 200, 220, 220), W, H)
    assert gone is None and clipped
    tri, clipped = g.clip(Shape.polygon("r", [(50, 40), (150, 40), (50, 140)]), W, H)
    assert (
        clipped and tri is not None and g.area(tri) == pytest.approx(50 * 40)
    )  # the cut-off corner is outside
    # a hair outside (rounding noise) is not a clip and keeps its coordinates
    near = Shape.rect("c", -1e-5, 0, 10, 10)
    assert g.clip(near, W, H) == (near, False)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-50, 150), st.floats(-50, 130)), min_size=3, max_size=8),
)
def test_clipped_polygons_stay_inside_and_never_grow(points) -> None:
    shape = Shape.polygon("p", points)
    out, _ = g.clip(shape, W, H)
    if out is not None:
        assert g.inside_image(out.points, W, H)
        assert len(out.points) >= 3


@settings(max_examples=200, deadline=None)
@given(st.floats(0, W), st.floats(0, H), st.floats(-300, 300), st.floats(-300, 300))
def test_moves_never_leave_the_image(x, y, dx, dy) -> None:
    box = Shape.rect("c", x, y, min(x + 10, W), min(y + 10, H))
    out = g.move(box, dx, dy, W, H)
    assert g.inside_image(out.points, W, H)
    assert g.area(out) == pytest.approx(g.area(box))


def test_annotation_json_round_trip_and_validation() -> None:
    ann = ImageAnnotation(
        640, 480, "in_progress", ("cat",), (BOX, TRI, Shape.point("eye", 3, 4, hidden=True))
    )
    label = encode(ann)
    assert " " not in label and label.startswith('{"h":480,')
    assert decode(label) == ann
    assert decode("dog", 5, 6) == ImageAnnotation(5, 6, "done", ("dog",))
    assert decode(None, 5, 6) == ImageAnnotation(5, 6)
    assert (
        to_label(ImageAnnotation(5, 6)) is None and to_label(ImageAnnotation(5, 6, "done", ("dog",))) == "dog"
    )
    assert problem(Shape.polygon("p", [(0, 0), (1, 1)])) and problem(Shape.rect("r", 1, 1, 1, 5))
    assert problem(Shape.rect("r", 0, 0, float("nan"), 1))
    with pytest.raises(LabelError, match="shape 2"):
        ImageAnnotation(9, 9, "done", (), (BOX, Shape.polygon("p", [(0, 0), (1, 1), (2, 2)]))).validate()
    with pytest.raises(LabelError, match="status"):
        ImageAnnotation.from_json({"w": 1, "h": 1, "status": "finished"})


def test_class_map_keeps_ids_and_merge_relabels() -> None:
    m = ClassMap().ensure(["cat", "dog", "cow"])
    m = m.rename(1, "puppy").recolor(0, "#ABCDEF").merge(2, 0).add("bird")
    assert [(c.id, c.name) for c in m.classes] == [(0, "cat"), (1, "puppy"), (3, "bird")]
    assert m.by_id(0).color == "#abcdef" and m.retired == (2,)
    assert ClassMap.from_bytes(m.to_bytes()) == m
    anns = {"a": ImageAnnotation(9, 9, "done", ("cow", "cat"), (Shape.rect("cow", 1, 1, 3, 3),))}
    out = relabel(anns, {"cow": "cat"})["a"]
    assert out.tags == ("cat",) and out.shapes[0].label == "cat"
    with pytest.raises(LabelError, match="already"):
        m.rename(3, "cat")
    with pytest.raises(LabelError):
        m.merge(1, 1)
    with pytest.raises(LabelError):
        ClassMap.from_json({"classes": [{"id": 0, "name": "a"}], "retired": [0]})
