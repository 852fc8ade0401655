"""Random valid chains: exported source, graph-built module and inferred shapes all agree."""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trainer_runtime.architecture.build import build_module
from trainer_runtime.architecture.codegen import export_source, identifiers
from trainer_runtime.architecture.graph import Graph
from trainer_runtime.architecture.infer import infer

small = st.integers(1, 6)


def candidates(draw: Any, shape: tuple[int, ...]) -> tuple[str, dict[str, Any]]:
    """A layer (type, params) that accepts a sample of ``shape``; may still fail on sizes."""
    rank = len(shape)
    options: list[str] = [
        "Linear",
        "LayerNorm",
        "ReLU",
        "GELU",
        "SiLU",
        "Tanh",
        "Sigmoid",
        "Softmax",
        "Dropout",
        "Flatten",
    ]
    if rank == 1:
        options += ["BatchNorm1d", "Reshape"]
    if rank == 2:
        options += ["Conv1d", "BatchNorm1d", "LSTM", "GRU", "MultiheadAttention", "TransformerEncoderLayer"]
    if rank == 3:
        options += ["Conv2d", "ConvTranspose2d", "BatchNorm2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]
    t = draw(st.sampled_from(options))
    params: dict[str, Any] = {}
    if t == "Linear":
        params = {"out_features": draw(small), "bias": draw(st.booleans())}
    elif t in ("Conv1d", "Conv2d"):
        params = {
            "out_channels": draw(small),
            "kernel_size": draw(st.integers(1, 3)),
            "stride": draw(st.integers(1, 2)),
            "padding": draw(st.integers(0, 1)),
        }
    elif t == "ConvTranspose2d":
        params = {
            "out_channels": draw(small),
            "kernel_size": draw(st.integers(1, 3)),
            "stride": draw(st.integers(1, 2)),
        }
    elif t in ("MaxPool2d", "AvgPool2d"):
        params = {"kernel_size": draw(st.integers(1, 2)), "stride": draw(st.integers(1, 2))}
    elif t == "AdaptiveAvgPool2d":
        params = {"output_size": draw(st.integers(1, 3))}
    elif t == "Softmax":
        params = {"dim": draw(st.integers(-rank, rank - 1))}
    elif t == "Reshape":
        params = {"shape": (1, -1)}
    elif t in ("LSTM", "GRU"):
        params = {
            "hidden_size": draw(small),
            "bidirectional": draw(st.booleans()),
            "num_layers": draw(st.integers(1, 2)),
        }
    elif t == "MultiheadAttention":
        params = {"num_heads": draw(st.sampled_from([h for h in (1, 2, 3) if shape[-1] % h == 0]))}
    elif t == "TransformerEncoderLayer":
        params = {
            "nhead": draw(st.sampled_from([h for h in (1, 2) if shape[-1] % h == 0])),
            "dim_feedforward": 8,
        }
    return t, params


@st.composite
def chains(draw: Any) -> Graph:
    rank = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(2, 7)) for _ in range(rank))
    g = Graph()
    prev = g.add_node("Input", {"shape": shape}).id
    for _ in range(draw(st.integers(1, 6))):
        t, params = candidates(draw, shape)
        node = g.add_node(t, params)
        g.connect(prev, "out", node.id, "in")
        res = infer(g)
        if node.id in res.errors or max(res.shapes.get((node.id, "out"), (0,))) > 64:
            g.remove_node(node.id)  # sizes that do not fit: try the next layer
            continue
        prev, shape = node.id, res.shapes[(node.id, "out")]
    out = g.add_node("Output", {"loss": "mse"})
    g.connect(prev, "out", out.id, "in")
    return g


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(g=chains(), seed=st.integers(0, 2**16))
def test_exported_code_equals_built_module_and_inferred_shapes(g: Graph, seed: int) -> None:
    res = infer(g)
    assert res.ok, [e.message for e in res.all_errors()]
    namespace: dict[str, Any] = {}
    exec(compile(export_source(g), "<exported>", "exec"), namespace)
    torch.manual_seed(seed)
    exported = namespace["Net"]().eval()
    built = build_module(g).eval()
    assert list(built.state_dict()) == list(exported.state_dict())
    built.load_state_dict(exported.state_dict())
    assert sum(p.numel() for p in built.parameters()) == res.total_params

    order = g.topological_order()
    names = identifiers(g, order)
    seen: dict[str, tuple[int, ...]] = {}
    for nid in order:
        mod = getattr(built, names[nid], None)
        if isinstance(mod, torch.nn.Module):
            mod.register_forward_hook(
                lambda _m, _i, out, nid=nid: seen.__setitem__(
                    nid, tuple((out[0] if isinstance(out, tuple) else out).shape)
                )
            )
    input_shape = g.nodes[order[0]].params["shape"]
    x = torch.randn(3, *input_shape)
    with torch.no_grad():
        y_exported, y_built = exported(x), built(x)
    torch.testing.assert_close(y_built, y_exported, rtol=0, atol=0)
    last = next(e.src for e in g.edges if g.nodes[e.dst].type == "Output")
    assert tuple(y_built.shape) == (3, *res.shapes[(last, "out")])
    for nid, shape in seen.items():
        assert shape == (3, *res.shapes[(nid, "out")]), g.nodes[nid].label
