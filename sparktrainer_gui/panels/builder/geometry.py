"""Canvas geometry as pure functions (no Qt): node boxes, port anchors, edge curves,
hit-testing, layered auto-layout, zoom clamping and the texts drawn on items.

Points are ``(x, y)`` tuples in scene coordinates; a node's position is its top-left
corner. The scene items call these functions, and the unit tests check them without a
QApplication."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

Point = tuple[float, float]

NODE_WIDTH = 168.0
HEADER_H = 24.0
PORT_ROW_H = 18.0
LINE_H = 16.0
PAD = 6.0
PORT_RADIUS = 5.0
PORT_HIT_RADIUS = 11.0
LAYER_GAP_X = 60.0
NODE_GAP_Y = 36.0
BAND_GAP_Y = 90.0
WRAP_COLUMNS = 6  # auto-layout starts a new band after this many columns
SKIP_MIN_DX = 2.2 * NODE_WIDTH
SKIP_LIFT = 110.0  # the arc's top is 3/4 of this above the ports
ZOOM_MIN, ZOOM_MAX = 0.1, 4.0


@dataclass(frozen=True)
class NodeBox:
    """The box of one node: its size and where its ports sit, relative to its corner."""

    width: float
    height: float
    inputs: tuple[Point, ...]
    outputs: tuple[Point, ...]

    def input_anchor(self, pos: Point, index: int) -> Point:
        return _add(pos, self.inputs[index])

    def output_anchor(self, pos: Point, index: int) -> Point:
        return _add(pos, self.outputs[index])


def node_box(n_inputs: int, n_outputs: int, n_text_lines: int = 2, width: float = NODE_WIDTH) -> NodeBox:
    """Title bar, then one row per port (inputs left, outputs right), then the text lines
    (parameter summary, output shape)."""
    rows = max(n_inputs, n_outputs, 1)
    ports_h = rows * PORT_ROW_H
    height = HEADER_H + ports_h + n_text_lines * LINE_H + 2 * PAD
    inputs = tuple((0.0, HEADER_H + PAD / 2 + (i + 0.5) * PORT_ROW_H) for i in range(n_inputs))
    outputs = tuple((width, HEADER_H + PAD / 2 + (i + 0.5) * PORT_ROW_H) for i in range(n_outputs))
    return NodeBox(width, height, inputs, outputs)


def text_top(box: NodeBox) -> float:
    """Where the text lines start inside a node box."""
    rows = max(len(box.inputs), len(box.outputs), 1)
    return HEADER_H + PAD + rows * PORT_ROW_H


def _add(a: Point, b: Point) -> Point:
    return (a[0] + b[0], a[1] + b[1])


# ------------------------------------------------------------------ edges
def edge_controls(start: Point, end: Point) -> tuple[Point, Point]:
    """Control points of the cubic curve from an output anchor to an input anchor: both
    tangents horizontal, pulled further when the edge runs backwards so it loops round; a
    long level edge (a skip connection past other layers) arcs above the row instead of
    running through it."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    pull = max(40.0, abs(dx) / 2) if dx >= 0 else max(80.0, min(abs(dx), 240.0))
    lift = 0.0
    if dx > SKIP_MIN_DX and abs(dy) < PORT_ROW_H * 2:  # a skip over the layers between: arc above them
        lift = SKIP_LIFT
    return (start[0] + pull, start[1] - lift), (end[0] - pull, end[1] - lift)


def bezier_point(p0: Point, c1: Point, c2: Point, p3: Point, t: float) -> Point:
    u = 1 - t
    a, b, c, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
    return (
        a * p0[0] + b * c1[0] + c * c2[0] + d * p3[0],
        a * p0[1] + b * c1[1] + c * c2[1] + d * p3[1],
    )


def edge_label_point(start: Point, end: Point) -> Point:
    """Where an edge's shape label goes: the curve's midpoint."""
    c1, c2 = edge_controls(start, end)
    return bezier_point(start, c1, c2, end, 0.5)


def distance_to_edge(point: Point, start: Point, end: Point, samples: int = 24) -> float:
    """Approximate distance from ``point`` to the edge curve (sampled polyline)."""
    c1, c2 = edge_controls(start, end)
    pts = [bezier_point(start, c1, c2, end, i / samples) for i in range(samples + 1)]
    return min(_segment_distance(point, a, b) for a, b in zip(pts, pts[1:], strict=False))


def _segment_distance(p: Point, a: Point, b: Point) -> float:
    vx, vy = b[0] - a[0], b[1] - a[1]
    length2 = vx * vx + vy * vy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * vx + (p[1] - a[1]) * vy) / length2))
    return math.hypot(p[0] - (a[0] + t * vx), p[1] - (a[1] + t * vy))


# ----------------------------------------------------------- hit-testing
def hit_port(point: Point, anchors: Mapping[object, Point], radius: float = PORT_HIT_RADIUS) -> object | None:
    """The key of the anchor nearest to ``point`` within ``radius``, else None."""
    best, best_d = None, radius
    for key, anchor in anchors.items():
        d = math.hypot(point[0] - anchor[0], point[1] - anchor[1])
        if d <= best_d:
            best, best_d = key, d
    return best


def rect_contains(rect: tuple[float, float, float, float], point: Point) -> bool:
    x, y, w, h = rect
    return x <= point[0] <= x + w and y <= point[1] <= y + h


def bounding_rect(rects: Iterable[tuple[float, float, float, float]], margin: float = 0.0):
    """The union of ``(x, y, w, h)`` rects grown by ``margin``; None when there are none."""
    rects = list(rects)
    if not rects:
        return None
    x0 = min(r[0] for r in rects) - margin
    y0 = min(r[1] for r in rects) - margin
    x1 = max(r[0] + r[2] for r in rects) + margin
    y1 = max(r[1] + r[3] for r in rects) + margin
    return (x0, y0, x1 - x0, y1 - y0)


def can_connect(
    src: str, dst: str, dst_taken: bool, dst_multi: bool, reachable_from_dst: set[str] | None = None
) -> str | None:
    """Why an output of ``src`` may not feed an input of ``dst`` (a sentence), or None.
    The model checks again when the edge is made; this drives the rubber band's feedback."""
    if src == dst:
        return "A layer cannot feed itself."
    if dst_taken and not dst_multi:
        return "That input is already connected; remove its edge first."
    if reachable_from_dst is not None and src in reachable_from_dst:
        return "That connection would close a cycle."
    return None


def downstream(start: str, edges: Iterable[tuple[str, str]]) -> set[str]:
    """Every node reachable from ``start`` along ``(src, dst)`` edges, ``start`` included."""
    succ: dict[str, list[str]] = {}
    for s, d in edges:
        succ.setdefault(s, []).append(d)
    seen, stack = {start}, [start]
    while stack:
        for nxt in succ.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


# ---------------------------------------------------------------- layout
def layer_depths(nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Longest-path depth of every node from the sources (nodes on a cycle, which the model
    forbids, keep the depth they had when the cycle was met)."""
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for s, d in edges:
        if s in preds and d in preds:
            preds[d].append(s)
            succ[s].append(d)
    indeg = {n: len(preds[n]) for n in nodes}
    depth = dict.fromkeys(nodes, 0)
    queue = [n for n in nodes if indeg[n] == 0]
    while queue:
        n = queue.pop(0)
        for m in succ[n]:
            depth[m] = max(depth[m], depth[n] + 1)
            indeg[m] -= 1
            if indeg[m] == 0:
                queue.append(m)
    return depth


def layered_layout(
    nodes: Sequence[str],
    edges: Iterable[tuple[str, str]],
    sizes: Mapping[str, tuple[float, float]] | None = None,
    origin: Point = (0.0, 0.0),
    wrap: int | None = None,
) -> dict[str, Point]:
    """Top-left positions: one column per topological depth, left to right; inside a
    column nodes are ordered by the mean row of their predecessors (barycentre) and
    centred on the tallest column. With ``wrap``, a graph deeper than ``wrap`` columns
    continues in bands below, of balanced widths (a long chain reads like lines of text)."""
    edges = list(edges)
    depth = layer_depths(nodes, edges)
    sizes = sizes or {}
    columns: dict[int, list[str]] = {}
    for n in nodes:
        columns.setdefault(depth[n], []).append(n)
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    for s, d in edges:
        if s in preds and d in preds:
            preds[d].append(s)
    row_of: dict[str, float] = {}
    for col in sorted(columns):
        members = columns[col]
        if col > 0:
            members.sort(key=lambda n: _barycentre(n, preds, row_of, members))
        for i, n in enumerate(members):
            row_of[n] = i

    def size(n: str) -> tuple[float, float]:
        return sizes.get(n, (NODE_WIDTH, 80.0))

    col_heights = {c: sum(size(n)[1] for n in m) + NODE_GAP_Y * (len(m) - 1) for c, m in columns.items()}
    order = sorted(columns)
    per_band = len(order) or 1
    if wrap and len(order) > wrap:
        per_band = math.ceil(len(order) / math.ceil(len(order) / wrap))
    positions: dict[str, Point] = {}
    top = origin[1]
    for start in range(0, len(order), per_band):
        band = order[start : start + per_band]
        tallest = max(col_heights[c] for c in band)
        x = origin[0]
        for col in band:
            members = columns[col]
            y = top + (tallest - col_heights[col]) / 2
            for n in members:
                positions[n] = (x, y)
                y += size(n)[1] + NODE_GAP_Y
            x += max(size(n)[0] for n in members) + LAYER_GAP_X
        top += tallest + BAND_GAP_Y
    return positions


def _barycentre(n: str, preds: Mapping[str, list[str]], row_of: Mapping[str, float], members) -> float:
    rows = [row_of[p] for p in preds[n] if p in row_of]
    return sum(rows) / len(rows) if rows else float(members.index(n))


# ------------------------------------------------------------ view maths
def clamp_zoom(current: float, factor: float, lo: float = ZOOM_MIN, hi: float = ZOOM_MAX) -> float:
    """The factor to apply so that ``current * factor`` stays within [lo, hi]."""
    target = min(hi, max(lo, current * factor))
    return target / current if current else 1.0


# ----------------------------------------------------------------- texts
def format_shape(shape: Sequence[int] | None) -> str:
    """``(3, 32, 32)`` → ``3×32×32`` (the batch dimension is never shown); None → ``?``."""
    if shape is None:
        return "?"
    return "×".join(str(d) for d in shape) if len(shape) else "scalar"


def parse_shape(text: str) -> tuple[int, ...]:
    """``"3, 32, 32"``, ``"3x32x32"`` or ``"(3, 32, 32)"`` → ``(3, 32, 32)``; ValueError otherwise."""
    cleaned = text.strip().strip("()[]").replace("×", ",").replace("x", ",").replace(" ", ",")
    parts = [p for p in cleaned.split(",") if p]
    if not parts:
        raise ValueError("Enter a shape such as 3, 32, 32 (without the batch dimension).")
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"{text!r} is not a shape; use whole numbers such as 3, 32, 32.") from None


def format_count(n: int | float) -> str:
    """1234 → ``1.2k``, 3_400_000 → ``3.4M``."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return str(int(n))


def param_summary(params: Mapping[str, object], names: Sequence[str], limit: int = 28) -> str:
    """``in_features=64, out_features=10`` shortened to fit a node: names first given, in order."""
    parts = []
    for name in names:
        value = params.get(name)
        if isinstance(value, tuple | list):
            value = format_shape(value)
        elif isinstance(value, float):
            value = f"{value:g}"
        parts.append(f"{name}={value}")
    text = ", ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"
