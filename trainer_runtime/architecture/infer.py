"""Shape, parameter and FLOP inference over a graph, in full or incrementally."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import CycleError, GraphError, ParamError, UnconnectedPortError
from .graph import Edge, Graph, Node
from .params import check_value
from .rules import RULES, Inputs, Shape

PortKey = tuple[str, str]


@dataclass
class Inference:
    """Per-sample shapes (no batch dim) of every (node id, output port), parameters and FLOPs."""

    shapes: dict[PortKey, Shape] = field(default_factory=dict)
    dtypes: dict[PortKey, str] = field(default_factory=dict)
    params: dict[str, int] = field(default_factory=dict)
    flops: dict[str, int] = field(default_factory=dict)
    errors: dict[str, list[GraphError]] = field(default_factory=dict)
    graph_errors: list[GraphError] = field(default_factory=list)
    # shape reaching each node's input (Output nodes have no output port; this shows theirs)
    input_shapes: dict[str, dict[str, list[Shape]]] = field(default_factory=dict)

    @property
    def total_params(self) -> int:
        return sum(self.params.values())

    @property
    def total_flops(self) -> int:
        return sum(self.flops.values())

    @property
    def ok(self) -> bool:
        return not self.graph_errors and not any(self.errors.values())

    def all_errors(self) -> list[GraphError]:
        return [*self.graph_errors, *(e for errs in self.errors.values() for e in errs)]


def _index(graph: Graph) -> tuple[dict[str, list[Edge]], dict[str, list[str]]]:
    """In-edges and successors of every node, in edge order."""
    ins: dict[str, list[Edge]] = {}
    succ: dict[str, list[str]] = {}
    for e in graph.edges:
        ins.setdefault(e.dst, []).append(e)
        succ.setdefault(e.src, []).append(e.dst)
    return ins, succ


def _node_result(node: Node, in_edges: list[Edge], res: Inference) -> None:
    """Compute one node from its inputs' shapes already in ``res`` (clears its old result)."""
    nid = node.id
    for port in node.layer.outputs:
        res.shapes.pop((nid, port.name), None)
        res.dtypes.pop((nid, port.name), None)
    res.params.pop(nid, None)
    res.flops.pop(nid, None)
    res.errors.pop(nid, None)
    res.input_shapes.pop(nid, None)
    label = node.label
    errs: list[GraphError] = []
    try:
        for pdef in node.layer.params:
            check_value(pdef, node.params.get(pdef.name), nid, label)
    except ParamError as exc:
        res.errors[nid] = [exc]
        return
    inputs: Inputs = {}
    missing_upstream = False
    for port in node.layer.inputs:
        items = []
        for e in in_edges:
            if e.dst_port != port.name:
                continue
            key = (e.src, e.src_port)
            if key in res.shapes:
                items.append((res.shapes[key], res.dtypes[key]))
            else:
                missing_upstream = True
        if not items and port.required and not missing_upstream:
            errs.append(
                UnconnectedPortError(f"{label}: input '{port.name}' is not connected.", nid, port.name)
            )
        inputs[port.name] = items
    if errs:
        res.errors[nid] = errs
        return
    if missing_upstream:
        return  # an upstream node has an error: no shape here, and no cascade of errors
    res.input_shapes[nid] = {k: [s for s, _ in v] for k, v in inputs.items()}
    try:
        shape, dtype, params, flops = RULES[node.type](node.params, inputs, label)
    except GraphError as exc:
        exc.node_id = nid
        res.errors[nid] = [exc]
        return
    for port in node.layer.outputs:
        res.shapes[(nid, port.name)] = shape
        res.dtypes[(nid, port.name)] = dtype
    res.params[nid] = params
    res.flops[nid] = flops


def _graph_errors(graph: Graph) -> list[GraphError]:
    types = [n.type for n in graph.nodes.values()]
    out: list[GraphError] = []
    if "Input" not in types:
        out.append(GraphError("The graph has no Input node; add one and set its shape."))
    if "Output" not in types:
        out.append(GraphError("The graph has no Output node; add one after the last layer."))
    return out


def infer(graph: Graph) -> Inference:
    """Infer the whole graph from scratch."""
    res = Inference()
    try:
        order = graph.topological_order()
    except CycleError as exc:
        res.graph_errors.append(exc)
        return res
    ins, _ = _index(graph)
    for nid in order:
        _node_result(graph.nodes[nid], ins.get(nid, []), res)
    res.graph_errors.extend(_graph_errors(graph))
    return res


class Inferencer:
    """Keeps an inference up to date, recomputing only the nodes an edit touched and what follows them."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._res = infer(graph)
        self._order: list[str] | None = None
        self._ins: dict[str, list[Edge]] = {}
        self._succ: dict[str, list[str]] = {}
        self._unsubscribe = graph.subscribe(self._on_graph_event)

    def close(self) -> None:
        self._unsubscribe()

    @property
    def result(self) -> Inference:
        return self._res

    def _on_graph_event(self, event: str, payload: dict[str, Any]) -> None:
        if event in ("node_moved", "node_renamed"):
            if event == "node_renamed":
                self._refresh({payload["node_id"]})
            return
        if event == "param_changed":
            self._refresh({payload["node_id"]})
            return
        self._order = None  # the structure changed
        if event == "node_removed":
            node = payload["node"]
            for port in node.layer.outputs:
                self._res.shapes.pop((node.id, port.name), None)
                self._res.dtypes.pop((node.id, port.name), None)
            for d in (self._res.params, self._res.flops, self._res.errors, self._res.input_shapes):
                d.pop(node.id, None)
            self._refresh(set())
        elif event == "node_added":
            self._refresh({payload["node"].id})
        elif event in ("edge_added", "edge_removed"):
            self._refresh({payload["edge"].dst})

    def _refresh(self, touched: set[str]) -> None:
        g = self.graph
        if self._order is None:
            try:
                self._order = g.topological_order()
            except CycleError:
                self._res = infer(g)
                return
            self._ins, self._succ = _index(g)
            if any(isinstance(e, CycleError) for e in self._res.graph_errors):
                self._res = infer(g)
                return
        dirty = {t for t in touched if t in g.nodes}
        if dirty:
            succ = self._succ
            stack = list(dirty)
            while stack:
                for nxt in succ.get(stack.pop(), ()):
                    if nxt not in dirty:
                        dirty.add(nxt)
                        stack.append(nxt)
            for nid in self._order:
                if nid in dirty:
                    _node_result(g.nodes[nid], self._ins.get(nid, []), self._res)
        self._res.graph_errors = _graph_errors(g)
