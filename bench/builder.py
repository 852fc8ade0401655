"""Architecture builder: shape inference on a 500-node graph.

    .venv/bin/python bench/builder.py [--nodes 500] [--repeats 50] [--json]

Measures, as medians over ``--repeats``:
- full inference of a 500-node chain and of a 500-node branching graph (residual conv blocks);
- one incremental edit through ``Inferencer`` (target <= 20 ms): a parameter change at the first
  layer (every node downstream is recomputed: the worst case), one at the last layer, and a
  structural edit (insert a node into the chain and remove it again: six edits, per edit);
- the canvas frame time while dragging a node (target <= 16 ms), via ``bench_canvas_drag``
  (``bench/builder_canvas.py``, offscreen Qt; ``--no-canvas`` skips it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer_runtime.architecture.graph import Graph
from trainer_runtime.architecture.infer import Inferencer, infer

EDIT_TARGET_MS = 20.0
FRAME_TARGET_MS = 16.0


def chain_graph(n: int) -> Graph:
    """Input, then Linear/ReLU/LayerNorm repeated, then Output: ``n`` nodes in all."""
    g = Graph()
    prev = g.add_node("Input", {"shape": (64,)}, pos=(0, 0)).id
    kinds = [("Linear", {"out_features": 64}), ("ReLU", {}), ("LayerNorm", {})]
    for i in range(n - 2):
        t, p = kinds[i % 3]
        node = g.add_node(t, p, pos=((i + 1) * 180.0, 0))
        g.connect(prev, "out", node.id, "in")
        prev = node.id
    out = g.add_node("Output", {"loss": "mse"}, pos=((n - 1) * 180.0, 0))
    g.connect(prev, "out", out.id, "in")
    return g


def residual_graph(n: int) -> Graph:
    """Conv residual blocks (Conv, BN, ReLU, Conv, BN, Add, ReLU) up to about ``n`` nodes."""
    g = Graph()
    prev = g.add_node("Input", {"shape": (16, 32, 32)}).id
    x = 1.0
    while len(g.nodes) + 7 + 4 <= n:
        ids = []
        for t, p in [("Conv2d", {"out_channels": 16}), ("BatchNorm2d", {}), ("ReLU", {}),
                     ("Conv2d", {"out_channels": 16}), ("BatchNorm2d", {})]:  # fmt: skip
            node = g.add_node(t, p, pos=(x * 180.0, 0))
            g.connect(ids[-1] if ids else prev, "out", node.id, "in")
            ids.append(node.id)
            x += 1
        add = g.add_node("Add", pos=(x * 180.0, 120))
        g.connect(ids[-1], "out", add.id, "a")
        g.connect(prev, "out", add.id, "b")
        relu = g.add_node("ReLU", pos=((x + 1) * 180.0, 120))
        g.connect(add.id, "out", relu.id, "in")
        prev, x = relu.id, x + 2
    for t, p in [
        ("AdaptiveAvgPool2d", {}),
        ("Flatten", {}),
        ("Linear", {"out_features": 10}),
        ("Output", {}),
    ]:
        node = g.add_node(t, p, pos=(x * 180.0, 0))
        g.connect(prev, "out", node.id, "in")
        prev, x = node.id, x + 1
    return g


def median_ms(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def bench_inference(g: Graph, repeats: int) -> dict[str, float]:
    assert infer(g).ok, [e.message for e in infer(g).all_errors()]
    order = g.topological_order()
    first = next(nid for nid in order if g.nodes[nid].type in ("Linear", "Conv2d"))
    last = next(nid for nid in reversed(order) if g.nodes[nid].type in ("Linear", "Conv2d"))
    inc = Inferencer(g)

    def edit(nid: str) -> None:
        # toggling the bias changes the parameter count; the node and everything after it is recomputed
        g.set_param(nid, "bias", not g.nodes[nid].params["bias"])
        inc.result.total_params  # noqa: B018 - what an editor reads after an edit

    def insert_remove() -> None:
        edges = g.out_edges(first)
        e = edges[0]
        g.disconnect(e)
        node = g.add_node("Dropout", {"p": 0.1})
        g.connect(first, "out", node.id, "in")
        g.connect(node.id, "out", e.dst, e.dst_port)
        g.remove_node(node.id)
        g.connect(e.src, e.src_port, e.dst, e.dst_port)

    out = {
        "nodes": len(g.nodes),
        "full_inference_ms": median_ms(lambda: infer(g), repeats),
        "edit_first_layer_ms": median_ms(lambda: edit(first), repeats),
        "edit_last_layer_ms": median_ms(lambda: edit(last), repeats),
        # six edits (disconnect, add, connect x2, remove, reconnect): per edit
        "structural_edit_ms": median_ms(insert_remove, repeats) / 6,
    }
    assert inc.result.shapes == infer(g).shapes  # the incremental result is the full one
    inc.close()
    return out


def bench_canvas_drag(g: Graph, repeats: int) -> dict[str, float] | None:
    """Frame time while dragging one node of ``g`` on the real builder canvas (target <= 16 ms).

    Measured by ``bench/builder_canvas.py`` (offscreen Qt); None when Qt cannot start here.
    """
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        import builder_canvas  # type: ignore[import-not-found]
    except ImportError as err:
        print(f"canvas drag not measured: {err}", file=sys.stderr)
        return None
    result: dict[str, float] = builder_canvas.canvas_drag(g, frames=max(repeats, 40))
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-canvas", action="store_true", help="skip the canvas drag (it starts Qt offscreen)")
    args = ap.parse_args()
    results: dict[str, Any] = {
        "chain": bench_inference(chain_graph(args.nodes), args.repeats),
        "residual": bench_inference(residual_graph(args.nodes), args.repeats),
        "canvas": None if args.no_canvas else bench_canvas_drag(residual_graph(args.nodes), args.repeats),
    }
    worst_edit = max(
        v
        for r in ("chain", "residual")
        for k, v in results[r].items()
        if k.startswith(("edit", "structural"))
    )
    results["edit_target_met"] = worst_edit <= EDIT_TARGET_MS
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for name in ("chain", "residual"):
        r = results[name]
        print(f"{name} graph, {r['nodes']} nodes (medians of {args.repeats}):")
        for k, v in r.items():
            if k != "nodes":
                print(f"  {k:<28} {v:8.3f} ms")
    print(f"worst incremental edit: {worst_edit:.3f} ms (target <= {EDIT_TARGET_MS:.0f} ms): "
          + ("met" if results["edit_target_met"] else "NOT met"))  # fmt: skip
    canvas = results["canvas"]
    if canvas:
        print(
            f"canvas drag frame: 1:1 median {canvas['drag_frame_ms']:.2f} ms, p95 {canvas['drag_frame_p95_ms']:.2f} ms;"
            f" fit median {canvas['drag_frame_fit_ms']:.2f} ms, p95 {canvas['drag_frame_fit_p95_ms']:.2f} ms"
            f" (target <= {FRAME_TARGET_MS:.0f} ms)"
        )
    else:
        print("canvas drag frame: not measured")
    return 0


if __name__ == "__main__":
    sys.exit(main())
