"""The graph model: typed errors at the right node, listeners, and the versioned JSON format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer_runtime.architecture.codegen import export_source
from trainer_runtime.architecture.errors import (
    CycleError,
    GraphError,
    GraphFormatError,
    ParamError,
    ShapeError,
    UnconnectedPortError,
)
from trainer_runtime.architecture.graph import Graph
from trainer_runtime.architecture.infer import infer
from trainer_runtime.architecture.templates import TEMPLATES, chain


def cnn() -> Graph:
    return chain(
        [
            ("Input", {"shape": (3, 8, 8)}),
            ("Conv2d", {"out_channels": 4}),
            ("ReLU", {}),
            ("Flatten", {}),
            ("Linear", {"out_features": 3}),
            ("Output", {}),
        ]
    )


def test_connecting_back_raises_cycle_error_and_leaves_graph_unchanged() -> None:
    g = cnn()
    edges = list(g.edges)
    with pytest.raises(CycleError, match="cycle") as info:
        g.connect("n4", "out", "n2", "in")
    assert info.value.node_id == "n2"
    with pytest.raises(CycleError):
        g.connect("n3", "out", "n3", "in")
    assert g.edges == edges


def test_taken_input_port_and_unknown_ports_are_refused() -> None:
    g = cnn()
    with pytest.raises(GraphError, match="already connected"):
        g.connect("n1", "out", "n3", "in")
    with pytest.raises(GraphError, match="no input port 'x'"):
        g.connect("n1", "out", "n3", "x")
    with pytest.raises(GraphError, match="Unknown layer type 'Conv3d'"):
        g.add_node("Conv3d")


def test_unconnected_required_port_is_reported_at_its_node() -> None:
    g = cnn()
    g.disconnect(g.in_edges("n4")[0])
    res = infer(g)
    assert not res.ok
    (err,) = res.errors["n4"]
    assert isinstance(err, UnconnectedPortError) and err.node_id == "n4" and err.port == "in"
    # downstream nodes get no shape and no error of their own
    assert ("n5", "out") not in res.shapes and "n5" not in res.errors
    add = Graph()
    a = add.add_node("Add")
    assert isinstance(infer(add).errors[a.id][0], UnconnectedPortError)


def test_mismatched_shapes_name_both_shapes_at_the_node() -> None:
    g = Graph()
    x = g.add_node("Input", {"shape": (4, 5)})
    y = g.add_node("Input", {"shape": (4, 6)})
    add = g.add_node("Add")
    g.connect(x.id, "out", add.id, "a")
    g.connect(y.id, "out", add.id, "b")
    (err,) = infer(g).errors[add.id]
    assert isinstance(err, ShapeError)
    assert "(4, 5)" in err.message and "(4, 6)" in err.message
    g2 = cnn()
    g2.set_param("n1", "shape", [3, 8])  # Conv2d needs 3-D samples
    (err2,) = infer(g2).errors["n2"]
    assert isinstance(err2, ShapeError) and "(3, 8)" in err2.message and "3-D" in err2.message


@pytest.mark.parametrize(
    ("node", "name", "value", "fragment"),
    [
        ("n2", "out_channels", 0, "at least 1"),
        ("n2", "out_channels", -3, "at least 1"),
        ("n2", "kernel_size", 2.5, "whole number"),
        ("n2", "bias", "yes", "true or false"),
        ("n1", "shape", [3, 0, 8], "at least 1"),
        ("n1", "shape", [3, -1, 8], "at least 1"),
        ("n1", "dtype", "int8", "one of float, long"),
        ("n5", "out_features", True, "whole number"),
        ("n5", "nope", 1, "no parameter"),
    ],
)
def test_invalid_params_raise_param_error_and_keep_old_value(
    node: str, name: str, value: object, fragment: str
) -> None:
    g = cnn()
    before = dict(g.nodes[node].params)
    with pytest.raises(ParamError, match=fragment) as info:
        g.set_param(node, name, value)
    assert info.value.node_id == node
    assert g.nodes[node].params == before


def test_params_that_only_fail_together_are_reported_by_inference() -> None:
    g = chain(
        [("Input", {"shape": (6, 10)}), ("MultiheadAttention", {"num_heads": 4}), ("Output", {"loss": "mse"})]
    )
    (err,) = infer(g).errors["n2"]
    assert isinstance(err, ParamError) and err.param == "num_heads" and "10" in err.message
    with pytest.raises(ParamError):
        export_source(g)


def test_listeners_hear_every_mutation_in_order() -> None:
    g = cnn()
    heard: list[tuple[str, dict]] = []
    unsubscribe = g.subscribe(lambda event, payload: heard.append((event, payload)))
    node, edges = g.remove_node("n3")
    g.restore_node(node, edges)
    assert g.set_param("n2", "out_channels", 6) == 4
    g.move_node("n2", (5, 6))
    g.rename_node("n2", "stem")
    events = [e for e, _ in heard]
    assert events == [
        "edge_removed", "edge_removed", "node_removed", "node_added", "edge_added", "edge_added",
        "param_changed", "node_moved", "node_renamed",
    ]  # fmt: skip
    assert heard[6][1] == {"node_id": "n2", "name": "out_channels", "old": 4, "new": 6}
    unsubscribe()
    g.move_node("n2", (0, 0))
    assert len(heard) == 9


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_json_round_trip_keeps_everything(name: str, tmp_path: Path) -> None:
    g = TEMPLATES[name]()
    g.rename_node(next(iter(g.nodes)), "pixels")
    g.meta["groups"] = [{"name": "stem", "nodes": list(g.nodes)[:2], "collapsed": True}]
    path = tmp_path / "g.json"
    g.save(path)
    back = Graph.load(path)
    assert back.to_dict() == g.to_dict()
    assert back.nodes == g.nodes and back.edges == g.edges and back.meta == g.meta
    assert infer(back).shapes == infer(g).shapes


def test_future_version_is_refused_with_a_clear_sentence(tmp_path: Path) -> None:
    d = cnn().to_dict()
    d["version"] = 7
    path = tmp_path / "future.json"
    path.write_text(json.dumps(d))
    with pytest.raises(GraphFormatError, match="newer SparkTrainer .*version 7.*Update SparkTrainer"):
        Graph.load(path)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ('{"format": "other", "version": 1}', 'lacks "format"'),
        ('{"format": "sparktrainer-graph", "version": "1", "nodes": [], "edges": []}', "whole number"),
        ('{"format": "sparktrainer-graph", "version": 1, "nodes": {}, "edges": []}', "must be lists"),
        ('{"format": "sparktrainer-graph", "version": 1, "nodes": [{"type": "ReLU"}], "edges": []}', "'id'"),
        ('{"format": "sparktrainer-graph", "version": 1, "nodes": [], "edges": [["a", "b"]]}', "edge #1"),
    ],
)
def test_malformed_files_raise_graph_format_error(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(GraphFormatError, match=fragment) as info:
        Graph.load(path)
    assert str(path) in info.value.message
    with pytest.raises(GraphFormatError, match="Cannot read"):
        Graph.load(tmp_path / "missing.json")


def test_file_with_zero_size_or_cycle_names_the_node(tmp_path: Path) -> None:
    d = cnn().to_dict()
    d["nodes"][1]["params"]["out_channels"] = 0
    with pytest.raises(ParamError, match="out_channels") as info:
        Graph.from_dict(d)
    assert info.value.node_id == "n2"
    d = cnn().to_dict()
    d["edges"].append(["n4", "out", "n2", "in"])
    with pytest.raises(GraphError):
        Graph.from_dict(d)


def test_export_of_invalid_graph_is_refused_not_silently_wrong() -> None:
    g = cnn()
    g.disconnect(g.in_edges("n6")[0])
    with pytest.raises(UnconnectedPortError, match="cannot be exported") as info:
        export_source(g)
    assert info.value.node_id == "n6"
    with pytest.raises(GraphError, match="no Output"):
        export_source(chain([("Input", {"shape": (3,)}), ("ReLU", {})]))
