"""Shape and parameter inference agrees with real torch modules for every layer type."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from trainer_runtime.architecture.build import build_module
from trainer_runtime.architecture.catalogue import LAYERS
from trainer_runtime.architecture.graph import Graph
from trainer_runtime.architecture.infer import Inferencer, infer

# (layer type, params, input shape, input dtype)
CASES: list[tuple[str, dict[str, Any], tuple[int, ...], str]] = [
    ("Linear", {"out_features": 7}, (5,), "float"),
    ("Linear", {"out_features": 3, "bias": False}, (4, 6), "float"),
    ("Conv1d", {"out_channels": 8, "kernel_size": 3, "stride": 2, "padding": 1}, (4, 17), "float"),
    ("Conv1d", {"out_channels": 6, "kernel_size": 5, "dilation": 2, "groups": 2}, (4, 20), "float"),
    ("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}, (3, 16, 12), "float"),
    (
        "Conv2d",
        {"out_channels": 4, "kernel_size": 5, "stride": 3, "padding": 0, "bias": False},
        (2, 19, 23),
        "float",
    ),
    ("Conv2d", {"out_channels": 8, "kernel_size": 3, "groups": 4, "dilation": 2}, (4, 12, 12), "float"),
    ("ConvTranspose2d", {"out_channels": 5, "kernel_size": 2, "stride": 2}, (3, 7, 9), "float"),
    (
        "ConvTranspose2d",
        {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1},
        (2, 5, 5),
        "float",
    ),
    ("BatchNorm1d", {}, (6,), "float"),
    ("BatchNorm1d", {"affine": False}, (6, 10), "float"),
    ("BatchNorm2d", {}, (5, 4, 4), "float"),
    ("LayerNorm", {}, (3, 9), "float"),
    ("LayerNorm", {"elementwise_affine": False}, (9,), "float"),
    ("Dropout", {"p": 0.2}, (3, 4), "float"),
    ("ReLU", {}, (3, 4), "float"),
    ("GELU", {}, (3, 4), "float"),
    ("SiLU", {}, (3, 4), "float"),
    ("Tanh", {}, (3, 4), "float"),
    ("Sigmoid", {}, (3, 4), "float"),
    ("Softmax", {"dim": 0}, (3, 4), "float"),
    ("Softmax", {"dim": -1}, (3, 4), "float"),
    ("MaxPool2d", {"kernel_size": 2, "stride": 2}, (3, 9, 8), "float"),
    ("MaxPool2d", {"kernel_size": 3, "stride": 1, "padding": 1}, (3, 9, 8), "float"),
    ("AvgPool2d", {"kernel_size": 3, "stride": 2}, (2, 11, 10), "float"),
    ("AdaptiveAvgPool2d", {"output_size": 3}, (4, 10, 7), "float"),
    ("Flatten", {}, (3, 4, 5), "float"),
    ("Reshape", {"shape": (4, -1)}, (3, 4, 2), "float"),
    ("Reshape", {"shape": (2, 12)}, (24,), "float"),
    ("Embedding", {"num_embeddings": 50, "embedding_dim": 8}, (11,), "long"),
    ("LSTM", {"hidden_size": 12}, (7, 5), "float"),
    ("LSTM", {"hidden_size": 6, "num_layers": 2, "bidirectional": True, "dropout": 0.1}, (7, 5), "float"),
    ("GRU", {"hidden_size": 10, "bias": False}, (7, 5), "float"),
    ("GRU", {"hidden_size": 4, "num_layers": 3, "bidirectional": True}, (6, 3), "float"),
    ("MultiheadAttention", {"num_heads": 4}, (9, 16), "float"),
    ("MultiheadAttention", {"num_heads": 2, "bias": False}, (9, 8), "float"),
    ("TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 32}, (6, 16), "float"),
    ("TransformerEncoderLayer", {"nhead": 4, "activation": "gelu", "norm_first": True}, (5, 8), "float"),
]


def single_layer_graph(
    type_: str, params: dict[str, Any], shape: tuple[int, ...], dtype: str
) -> tuple[Graph, str]:
    g = Graph()
    x = g.add_node("Input", {"shape": shape, "dtype": dtype})
    layer = g.add_node(type_, params)
    out = g.add_node("Output", {"loss": "mse"})
    g.connect(x.id, "out", layer.id, "in")
    g.connect(layer.id, "out", out.id, "in")
    return g, layer.id


def merge_graph(type_: str, shapes: list[tuple[int, ...]], params: dict[str, Any]) -> tuple[Graph, str]:
    g = Graph()
    merge = g.add_node(type_, params)
    ports = ["a", "b"] if type_ == "Add" else ["in"] * len(shapes)
    for shape, port in zip(shapes, ports, strict=True):
        x = g.add_node("Input", {"shape": shape})
        g.connect(x.id, "out", merge.id, port)
    out = g.add_node("Output", {"loss": "mse"})
    g.connect(merge.id, "out", out.id, "in")
    return g, merge.id


def meta_check(g: Graph, node_id: str) -> None:
    res = infer(g)
    assert res.ok, [e.message for e in res.all_errors()]
    with torch.device("meta"):
        module = build_module(g)
        inputs = [n for n in g.topological_order() if g.nodes[n].type == "Input"]
        args = []
        for nid in inputs:
            p = g.nodes[nid].params
            if p["dtype"] == "long":
                args.append(torch.zeros((2, *p["shape"]), dtype=torch.long))
            else:
                args.append(torch.empty((2, *p["shape"])))
        y = module(*args)
    assert y.device.type == "meta"
    assert tuple(y.shape) == (2, *res.shapes[(node_id, "out")])
    real_params = sum(p.numel() for p in module.parameters())
    assert real_params == res.params[node_id] == res.total_params


@pytest.mark.parametrize(
    ("type_", "params", "shape", "dtype"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_inference_matches_torch_on_meta_device(
    type_: str, params: dict[str, Any], shape: tuple[int, ...], dtype: str
) -> None:
    g, nid = single_layer_graph(type_, params, shape, dtype)
    meta_check(g, nid)


def test_add_and_concat_match_torch() -> None:
    meta_check(*merge_graph("Add", [(4, 5), (4, 5)], {}))
    meta_check(*merge_graph("Concat", [(2, 5, 5), (3, 5, 5), (1, 5, 5)], {"dim": 0}))
    meta_check(*merge_graph("Concat", [(4, 2), (4, 3)], {"dim": -1}))


def test_every_catalogue_type_is_covered() -> None:
    covered = {c[0] for c in CASES} | {"Input", "Output", "Add", "Concat", "Opaque"}
    assert covered == set(LAYERS)


def test_flops_of_linear_and_conv() -> None:
    g, nid = single_layer_graph("Linear", {"out_features": 7}, (5,), "float")
    assert infer(g).flops[nid] == 2 * 5 * 7
    g, nid = single_layer_graph(
        "Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}, (3, 16, 16), "float"
    )
    assert infer(g).flops[nid] == 2 * 3 * 9 * 8 * 16 * 16


def test_embedding_needs_token_ids_and_linear_needs_floats() -> None:
    g, nid = single_layer_graph("Embedding", {}, (8,), "float")
    assert "integer token ids" in infer(g).errors[nid][0].message
    g, nid = single_layer_graph("Linear", {}, (8,), "long")
    assert "Embedding" in infer(g).errors[nid][0].message


def test_incremental_inference_equals_full_inference_after_edits() -> None:
    g, nid = single_layer_graph("Conv2d", {"out_channels": 4}, (3, 16, 16), "float")
    inc = Inferencer(g)
    g.set_param(nid, "out_channels", 9)
    g.set_param(nid, "kernel_size", 5)
    pool = g.add_node("MaxPool2d")
    out_id = next(n for n in g.nodes if g.nodes[n].type == "Output")
    edge = g.in_edges(out_id)[0]
    g.disconnect(edge)
    g.connect(nid, "out", pool.id, "in")
    assert not inc.result.ok  # Output is now unconnected
    g.connect(pool.id, "out", out_id, "in")
    full = infer(g)
    assert inc.result.shapes == full.shapes
    assert inc.result.params == full.params
    assert inc.result.ok and inc.result.shapes[(pool.id, "out")] == (9, 7, 7)
    removed = g.remove_node(pool.id)
    assert inc.result.errors[out_id][0].message.endswith("input 'in' is not connected.")
    g.restore_node(*removed)
    assert inc.result.ok and inc.result.shapes == full.shapes


def test_incremental_edit_on_500_nodes_is_well_under_20_ms() -> None:
    import statistics
    import time

    from bench.builder import chain_graph

    g = chain_graph(500)
    inc = Inferencer(g)
    first = next(n for n in g.topological_order() if g.nodes[n].type == "Linear")
    times = []
    for i in range(15):
        t0 = time.perf_counter()
        g.set_param(first, "out_features", 32 + i % 2)
        assert inc.result.ok
        times.append(time.perf_counter() - t0)
    assert statistics.median(times) < 0.020
    assert inc.result.shapes == infer(g).shapes


def test_branching_graph_with_two_inputs_exports_and_builds_alike() -> None:
    from trainer_runtime.architecture.codegen import export_source

    g = Graph()
    a = g.add_node("Input", {"shape": (2, 4, 4)}, name="image")
    b = g.add_node("Input", {"shape": (32,)}, name="extra")
    conv = g.add_node("Conv2d", {"out_channels": 3, "padding": 1})
    cat = g.add_node("Concat", {"dim": 0})
    flat = g.add_node("Flatten")
    reshape = g.add_node("Reshape", {"shape": (5, -1)})
    lin = g.add_node("Linear", {"out_features": 2})
    add = g.add_node("Add")
    out = g.add_node("Output", {"loss": "mse"})
    g.connect(a.id, "out", conv.id, "in")
    g.connect(conv.id, "out", cat.id, "in")
    g.connect(a.id, "out", cat.id, "in")
    g.connect(cat.id, "out", flat.id, "in")  # (5, 4, 4) -> (80,)
    g.connect(flat.id, "out", reshape.id, "in")  # -> (5, 16)
    g.connect(reshape.id, "out", lin.id, "in")  # -> (5, 2)
    proj = g.add_node("Linear", {"out_features": 10})
    g.connect(b.id, "out", proj.id, "in")
    back = g.add_node("Reshape", {"shape": (5, 2)})
    g.connect(proj.id, "out", back.id, "in")
    g.connect(lin.id, "out", add.id, "a")
    g.connect(back.id, "out", add.id, "b")
    g.connect(add.id, "out", out.id, "in")
    assert infer(g).shapes[(add.id, "out")] == (5, 2)
    ns: dict[str, Any] = {}
    exec(export_source(g), ns)
    exported = ns["Net"]()
    built = build_module(g)
    built.load_state_dict(exported.state_dict())
    x, y = torch.randn(3, 2, 4, 4), torch.randn(3, 32)
    torch.testing.assert_close(built(x, y), exported(image=x, extra=y), rtol=0, atol=0)
    assert exported(x, y).shape == (3, 5, 2)
