"""Shared pieces of model import: a graph builder that records shapes, weights and layout, and the
formatting of traced arguments as Python source for Opaque blocks."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from .codegen import identifiers
from .errors import ModelImportError
from .graph import Graph

MAX_LITERAL = 4096  # constant tensors up to this many elements are written into the code


@dataclass
class ImportResult:
    """The graph, and the state_dict (keys of the exported/built module) holding the model's weights."""

    graph: Graph
    state_dict: dict[str, torch.Tensor]
    method: str  # "torch.fx" or "torch.export"
    notes: list[str] = field(default_factory=list)


def dtype_kind(dtype: torch.dtype) -> str:
    return "float" if dtype.is_floating_point or dtype.is_complex else "long"


def sample_shape(shape: Any) -> tuple[int, ...]:
    """Shape without the batch dim; symbolic sizes become their hint (or 1)."""
    out = []
    for s in tuple(shape)[1:]:
        if isinstance(s, int):
            out.append(s)
        else:
            hint = getattr(getattr(s, "node", None), "hint", None)
            out.append(int(hint) if isinstance(hint, int) else 1)
    return tuple(max(1, v) for v in out)


def fmt_value(v: Any, ref: Callable[[Any], str]) -> str:
    """A traced argument as Python source; graph values go through ``ref`` (-> "{i}")."""
    if isinstance(v, torch.fx.Node):
        return ref(v)
    if isinstance(v, bool) or v is None or isinstance(v, (int, str)):
        return repr(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else f"float('{v}')"
    if isinstance(v, list):
        return "[" + ", ".join(fmt_value(x, ref) for x in v) + "]"
    if isinstance(v, tuple):
        inner = ", ".join(fmt_value(x, ref) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k!r}: {fmt_value(x, ref)}" for k, x in v.items()) + "}"
    if isinstance(v, (torch.dtype, torch.memory_format, torch.layout)):
        return str(v)
    if isinstance(v, torch.device):
        return f"torch.device({str(v)!r})"
    if isinstance(v, slice):
        return f"slice({fmt_value(v.start, ref)}, {fmt_value(v.stop, ref)}, {fmt_value(v.step, ref)})"
    if v is Ellipsis:
        return "..."
    if isinstance(v, torch.Tensor) and v.numel() <= MAX_LITERAL:
        return tensor_literal(v)
    raise ModelImportError(f"an argument of type {type(v).__name__} cannot be written as code: {v!r:.80}")


def tensor_literal(t: torch.Tensor) -> str:
    return f"torch.tensor({t.detach().cpu().tolist()!r}, dtype={t.dtype})"


def call_code(callee: str, args: tuple, kwargs: dict, ref: Callable[[Any], str]) -> str:
    parts = [fmt_value(a, ref) for a in args] + [f"{k}={fmt_value(v, ref)}" for k, v in kwargs.items()]
    return f"{callee}({', '.join(parts)})"


class Builder:
    """Adds nodes for traced values, tracking which fx node each graph node stands for."""

    def __init__(self) -> None:
        self.graph = Graph()
        self.node_of: dict[Any, str] = {}
        self.depth: dict[str, int] = {}
        self.rows: dict[int, int] = {}
        self.weights: dict[str, dict[str, torch.Tensor]] = {}  # node id -> {suffix: tensor}

    def add(
        self,
        type_: str,
        params: dict[str, Any],
        name: str,
        inputs: list[tuple[Any, str]],
        weights: dict[str, torch.Tensor] | None = None,
        stands_for: Any = None,
    ) -> str:
        depth = 1 + max((self.depth[self.node_of[src]] for src, _ in inputs), default=-1)
        row = self.rows.get(depth, 0)
        self.rows[depth] = row + 1
        node = self.graph.add_node(
            type_, params, pos=(depth * 200.0, row * 110.0), name=_unique(self.graph, name)
        )
        self.depth[node.id] = depth
        for src, port in inputs:
            self.graph.connect(self.node_of[src], "out", node.id, port)
        if weights:
            self.weights[node.id] = weights
        if stands_for is not None:
            self.node_of[stands_for] = node.id
        return node.id

    def opaque(
        self,
        fx_node: Any,
        label: str,
        code_of: Callable[[Callable[[Any], str]], str],
        name: str = "",
        **kw: Any,
    ) -> str:
        """An Opaque block whose code refers to its graph inputs as {0}, {1}, ... in first-use order."""
        order: list[Any] = []

        def ref(n: Any) -> str:
            if n not in self.node_of:
                raise ModelImportError(f"'{fx_node.name}' uses '{n.name}', which was not imported.")
            if n not in order:
                order.append(n)
            return "{" + str(order.index(n)) + "}"

        code = code_of(ref)
        params = {"label": label, "code": code, **value_meta(fx_node), **kw.pop("params", {})}
        inputs = [(n, "in") for n in order]
        return self.add("Opaque", params, name or fx_node.name, inputs, stands_for=fx_node, **kw)

    def result(self, method: str, notes: list[str]) -> ImportResult:
        names = identifiers(self.graph, self.graph.topological_order())
        state: dict[str, torch.Tensor] = {}
        for nid, tensors in self.weights.items():
            for suffix, t in tensors.items():
                state[names[nid] + suffix] = t.detach().clone()
        return ImportResult(self.graph, state, method, notes)


def value_meta(fx_node: Any) -> dict[str, Any]:
    """shape/dtype params of an Opaque block from the value recorded on an fx node."""
    val = fx_node.meta.get("val")
    tm = fx_node.meta.get("tensor_meta")
    if isinstance(val, torch.Tensor):
        return {"shape": sample_shape(val.shape), "dtype": dtype_kind(val.dtype)}
    if tm is not None and hasattr(tm, "shape") and hasattr(tm, "dtype"):
        return {"shape": sample_shape(tm.shape), "dtype": dtype_kind(tm.dtype)}
    return {"shape": (), "dtype": "value"}


def _unique(g: Graph, name: str) -> str:
    taken = {n.name for n in g.nodes.values()}
    base, k = name or "node", 2
    out = base
    while out in taken:
        out, k = f"{base}_{k}", k + 1
    return out
