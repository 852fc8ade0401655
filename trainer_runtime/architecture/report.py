"""A plain summary of a graph's inference, shared by the CLI and the daemon API."""

from __future__ import annotations

from typing import Any

from .errors import GraphError
from .graph import Graph
from .infer import infer


def _err(e: GraphError) -> dict[str, Any]:
    return {"node": e.node_id, "type": type(e).__name__, "message": e.message}


def summary(graph: Graph) -> dict[str, Any]:
    res = infer(graph)
    try:
        order = graph.topological_order()
    except GraphError:
        order = list(graph.nodes)
    nodes = []
    for nid in order:
        n = graph.nodes[nid]
        shape = res.shapes.get((nid, "out"))
        if n.type == "Output" and nid in res.input_shapes:
            shape = res.input_shapes[nid]["in"][0]
        nodes.append(
            {
                "id": nid,
                "type": n.type,
                "name": n.name,
                "shape": list(shape) if shape is not None else None,
                "value": res.dtypes.get((nid, "out")) == "value",
                "params": res.params.get(nid),
                "flops": res.flops.get(nid),
                "errors": [_err(e) for e in res.errors.get(nid, [])],
            }
        )
    return {
        "ok": res.ok,
        "nodes": nodes,
        "graph_errors": [_err(e) for e in res.graph_errors],
        "total_params": res.total_params,
        "total_flops": res.total_flops,
    }


def human(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)
