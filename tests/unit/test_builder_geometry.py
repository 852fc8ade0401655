"""The builder canvas's geometry and hit-testing, checked without a QApplication."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparktrainer_gui.panels.builder import geometry as g


def test_the_geometry_module_needs_no_qt():
    source = Path(g.__file__).read_text(encoding="utf-8")
    assert "PySide6" not in source and "torch" not in source
    assert not any(getattr(v, "__module__", "").startswith("PySide6") for v in vars(g).values())


def test_ports_sit_on_the_box_edges_one_row_each():
    box = g.node_box(n_inputs=2, n_outputs=1)
    assert [p[0] for p in box.inputs] == [0.0, 0.0]
    assert box.outputs[0][0] == box.width
    assert box.inputs[1][1] - box.inputs[0][1] == g.PORT_ROW_H
    assert all(g.HEADER_H < y < box.height for _x, y in box.inputs + box.outputs)
    assert box.input_anchor((100, 50), 1) == (100 + box.inputs[1][0], 50 + box.inputs[1][1])
    taller = g.node_box(n_inputs=4, n_outputs=1)
    assert taller.height == box.height + 2 * g.PORT_ROW_H
    assert g.text_top(taller) > taller.inputs[-1][1]


def test_edges_leave_and_enter_horizontally_and_label_at_the_middle():
    start, end = (0.0, 0.0), (200.0, 100.0)
    c1, c2 = g.edge_controls(start, end)
    assert c1[1] == start[1] and c2[1] == end[1] and c1[0] > start[0] and c2[0] < end[0]
    assert g.bezier_point(start, c1, c2, end, 0) == start
    assert g.bezier_point(start, c1, c2, end, 1) == end
    mid = g.edge_label_point(start, end)
    assert mid == pytest.approx((100.0, 50.0))
    # a backward edge loops round: its controls point away from the straight line
    b1, b2 = g.edge_controls((200.0, 0.0), (0.0, 0.0))
    assert b1[0] > 200 and b2[0] < 0


def test_a_skip_connection_arcs_above_the_row_it_skips():
    start, end = (0.0, 100.0), (4 * g.NODE_WIDTH, 100.0)
    top = g.edge_label_point(start, end)
    assert top[1] <= 100 - 0.7 * g.SKIP_LIFT  # clear of the layers' bodies in between
    near = g.edge_label_point((0.0, 100.0), (g.NODE_WIDTH, 100.0))
    assert near[1] == pytest.approx(100.0)  # neighbours: a straight line


def test_distance_to_an_edge_is_small_on_it_and_large_off_it():
    start, end = (0.0, 0.0), (300.0, 0.0)
    assert g.distance_to_edge((150.0, 0.0), start, end) < 1
    assert g.distance_to_edge((150.0, 40.0), start, end) == pytest.approx(40, abs=1)


def test_hit_port_picks_the_nearest_anchor_within_the_radius():
    anchors = {("a", "out"): (10.0, 10.0), ("b", "in"): (30.0, 10.0)}
    assert g.hit_port((12.0, 11.0), anchors) == ("a", "out")
    assert g.hit_port((27.0, 10.0), anchors) == ("b", "in")
    assert g.hit_port((20.0, 60.0), anchors) is None
    assert g.hit_port((20.0, 10.0), {}) is None


def test_rects_and_bounds():
    assert g.rect_contains((0, 0, 10, 10), (5, 5)) and not g.rect_contains((0, 0, 10, 10), (11, 5))
    assert g.bounding_rect([]) is None
    assert g.bounding_rect([(0, 0, 10, 10), (20, 5, 10, 10)], margin=2) == (-2, -2, 34, 19)


def test_can_connect_refuses_self_taken_and_cycles_with_a_sentence():
    assert g.can_connect("a", "b", dst_taken=False, dst_multi=False) is None
    assert "itself" in g.can_connect("a", "a", False, False)
    assert "already connected" in g.can_connect("a", "b", dst_taken=True, dst_multi=False)
    assert g.can_connect("a", "b", dst_taken=True, dst_multi=True) is None
    edges = [("b", "c"), ("c", "a")]
    assert "cycle" in g.can_connect("a", "b", False, False, g.downstream("b", edges))
    assert g.downstream("b", edges) == {"b", "c", "a"}


def test_layered_layout_puts_each_depth_in_its_own_column():
    nodes = ["in", "l1", "l2", "add", "out"]
    edges = [("in", "l1"), ("l1", "l2"), ("in", "add"), ("l2", "add"), ("add", "out")]
    depth = g.layer_depths(nodes, edges)
    assert depth == {"in": 0, "l1": 1, "l2": 2, "add": 3, "out": 4}
    pos = g.layered_layout(nodes, edges, {n: (100.0, 50.0) for n in nodes})
    xs = [pos[n][0] for n in nodes]
    assert xs == sorted(xs) and len(set(xs)) == 5
    assert pos["l1"][0] - pos["in"][0] == 100 + g.LAYER_GAP_X


def test_layered_layout_separates_siblings_and_orders_by_parents():
    nodes = ["a", "b", "a2", "b2"]
    edges = [("a", "a2"), ("b", "b2")]
    pos = g.layered_layout(nodes, edges, {n: (100.0, 40.0) for n in nodes})
    assert pos["a"][0] == pos["b"][0] and pos["a2"][0] == pos["b2"][0]
    assert abs(pos["a"][1] - pos["b"][1]) >= 40 + g.NODE_GAP_Y
    assert (pos["a2"][1] < pos["b2"][1]) == (pos["a"][1] < pos["b"][1])  # no crossing


def test_layout_of_a_long_chain_is_fast_and_complete():
    nodes = [f"n{i}" for i in range(500)]
    edges = list(zip(nodes, nodes[1:], strict=False))
    pos = g.layered_layout(nodes, edges)
    assert len(pos) == 500 and pos["n499"][0] > pos["n0"][0]


def test_a_deep_graph_wraps_into_balanced_bands():
    nodes = [f"n{i}" for i in range(7)]
    edges = list(zip(nodes, nodes[1:], strict=False))
    pos = g.layered_layout(nodes, edges, {n: (100.0, 50.0) for n in nodes}, wrap=6)
    first, second = nodes[:4], nodes[4:]  # 7 columns → bands of 4 and 3, not 6 and 1
    assert {pos[n][1] for n in first} == {0.0} and len({pos[n][1] for n in second}) == 1
    assert pos["n4"][1] >= 50 + g.BAND_GAP_Y and pos["n4"][0] == pos["n0"][0]
    assert [pos[n][0] for n in first] == sorted(pos[n][0] for n in first)
    assert g.layered_layout(nodes, edges, wrap=10) == g.layered_layout(nodes, edges)


def test_zoom_is_clamped():
    assert g.clamp_zoom(1.0, 1.25) == pytest.approx(1.25)
    assert g.clamp_zoom(g.ZOOM_MAX, 2.0) == pytest.approx(1.0)
    assert g.clamp_zoom(0.2, 0.1) * 0.2 == pytest.approx(g.ZOOM_MIN)


def test_texts():
    assert g.format_shape((3, 32, 32)) == "3×32×32"
    assert g.format_shape(None) == "?"
    assert g.parse_shape("3, 32, 32") == (3, 32, 32)
    assert g.parse_shape("(64,)") == (64,)
    assert g.parse_shape("3x32x32") == (3, 32, 32)
    with pytest.raises(ValueError, match="whole numbers"):
        g.parse_shape("3, a")
    with pytest.raises(ValueError, match="Enter a shape"):
        g.parse_shape("  ")
    assert (
        g.format_count(1234) == "1.2k" and g.format_count(3_400_000) == "3.4M" and g.format_count(12) == "12"
    )
    assert g.param_summary({"in_features": 64, "bias": True}, ["in_features"]) == "in_features=64"
    long = g.param_summary({"a": 123456789, "b": 987654321, "c": 5}, ["a", "b", "c"], limit=20)
    assert len(long) == 20 and long.endswith("…")
