"""Starter graphs for the editor and the CLI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .graph import Graph

Spec = tuple[str, dict[str, Any]]


def chain(layers: list[Spec], x0: float = 0.0, dx: float = 180.0, y: float = 0.0) -> Graph:
    """A graph whose nodes are connected one after the other, laid out left to right."""
    g = Graph()
    prev: str | None = None
    for i, (type_, params) in enumerate(layers):
        node = g.add_node(type_, params, pos=(x0 + i * dx, y))
        if prev is not None:
            g.connect(prev, "out", node.id, "in")
        prev = node.id
    return g


def mlp() -> Graph:
    return chain(
        [
            ("Input", {"shape": (16,)}),
            ("Linear", {"out_features": 64}),
            ("ReLU", {}),
            ("Linear", {"out_features": 64}),
            ("ReLU", {}),
            ("Linear", {"out_features": 2}),
            ("Output", {"loss": "cross_entropy"}),
        ]
    )


def small_cnn() -> Graph:
    return chain(
        [
            ("Input", {"shape": (3, 32, 32)}),
            ("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}),
            ("BatchNorm2d", {}),
            ("ReLU", {}),
            ("MaxPool2d", {"kernel_size": 2, "stride": 2}),
            ("Conv2d", {"out_channels": 32, "kernel_size": 3, "padding": 1}),
            ("ReLU", {}),
            ("AdaptiveAvgPool2d", {"output_size": 1}),
            ("Flatten", {}),
            ("Linear", {"out_features": 10}),
            ("Output", {"loss": "cross_entropy"}),
        ]
    )


def tiny_transformer() -> Graph:
    return chain(
        [
            ("Input", {"shape": (32,), "dtype": "long"}),
            ("Embedding", {"num_embeddings": 1000, "embedding_dim": 64}),
            ("TransformerEncoderLayer", {"nhead": 4, "dim_feedforward": 128}),
            ("TransformerEncoderLayer", {"nhead": 4, "dim_feedforward": 128}),
            ("LayerNorm", {}),
            ("Flatten", {}),
            ("Linear", {"out_features": 2}),
            ("Output", {"loss": "cross_entropy"}),
        ]
    )


def residual_block() -> Graph:
    g = Graph()
    inp = g.add_node("Input", {"shape": (16, 32, 32)}, pos=(0, 0))
    c1 = g.add_node("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}, pos=(180, 0))
    b1 = g.add_node("BatchNorm2d", {}, pos=(360, 0))
    r1 = g.add_node("ReLU", {}, pos=(540, 0))
    c2 = g.add_node("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}, pos=(720, 0))
    b2 = g.add_node("BatchNorm2d", {}, pos=(900, 0))
    add = g.add_node("Add", {}, pos=(1080, 120))
    r2 = g.add_node("ReLU", {}, pos=(1260, 120))
    pool = g.add_node("AdaptiveAvgPool2d", {"output_size": 1}, pos=(1440, 120))
    flat = g.add_node("Flatten", {}, pos=(1620, 120))
    fc = g.add_node("Linear", {"out_features": 10}, pos=(1800, 120))
    out = g.add_node("Output", {"loss": "cross_entropy"}, pos=(1980, 120))
    for a, b in [
        (inp, c1),
        (c1, b1),
        (b1, r1),
        (r1, c2),
        (c2, b2),
        (r2, pool),
        (pool, flat),
        (flat, fc),
        (fc, out),
    ]:
        g.connect(a.id, "out", b.id, "in")
    g.connect(b2.id, "out", add.id, "a")
    g.connect(inp.id, "out", add.id, "b")
    g.connect(add.id, "out", r2.id, "in")
    return g


TEMPLATES: dict[str, Callable[[], Graph]] = {
    "MLP": mlp,
    "Small CNN": small_cnn,
    "Tiny transformer classifier": tiny_transformer,
    "Residual block": residual_block,
}
