"""Pure geometry over shapes: area, bbox, clipping, point-in-polygon, hit tests with a tolerance
in image pixels, rect handles, move and resize clamped to the image, polygon vertex edits.

No Qt: the canvas converts a screen tolerance to image pixels (``tol_px / zoom``) and calls these."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

from trainer_runtime.labeling.shapes import Point, Shape

EPS = 1e-6  # px: coordinates this close outside the image count as on its border
HANDLES = ("nw", "n", "ne", "e", "se", "s", "sw", "w")
BBox = tuple[float, float, float, float]
K = TypeVar("K")


# ---------------------------------------------------------------- measures
def polygon_area(points: tuple[Point, ...] | list[Point]) -> float:
    """Unsigned area (shoelace)."""
    n = len(points)
    if n < 3:
        return 0.0
    s = 0.0
    for i in range(n):
        x0, y0 = points[i]
        x1, y1 = points[(i + 1) % n]
        s += x0 * y1 - x1 * y0
    return abs(s) / 2.0


def area(shape: Shape) -> float:
    if shape.kind == "rect":
        (x0, y0), (x1, y1) = shape.points
        return abs(x1 - x0) * abs(y1 - y0)
    if shape.kind == "polygon":
        return polygon_area(shape.points)
    return 0.0


def bbox(points: tuple[Point, ...] | list[Point]) -> BBox:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def clamp_point(p: Point, w: float, h: float) -> Point:
    return min(max(p[0], 0.0), float(w)), min(max(p[1], 0.0), float(h))


def tolerance(w: float, h: float) -> float:
    """How far outside the image a coordinate may be and still count as on it: the rounding of a
    6-decimal normalised coordinate (YOLO), at least ``EPS``."""
    return max(EPS, 1e-6 * max(w, h))


def inside_image(points: tuple[Point, ...] | list[Point], w: float, h: float) -> bool:
    x0, y0, x1, y1 = bbox(points)
    t = tolerance(w, h)
    return x0 >= -t and y0 >= -t and x1 <= w + t and y1 <= h + t


# ---------------------------------------------------------------- clipping
def clip_polygon(points: tuple[Point, ...] | list[Point], w: float, h: float) -> list[Point]:
    """The part of a polygon inside ``[0, w] × [0, h]`` (Sutherland-Hodgman); may be empty."""
    pts = list(points)
    edges = (
        (lambda p: p[0] >= 0.0, lambda a, b: _cross_x(a, b, 0.0)),
        (lambda p: p[0] <= w, lambda a, b: _cross_x(a, b, float(w))),
        (lambda p: p[1] >= 0.0, lambda a, b: _cross_y(a, b, 0.0)),
        (lambda p: p[1] <= h, lambda a, b: _cross_y(a, b, float(h))),
    )
    for keep, cross in edges:
        if not pts:
            break
        out: list[Point] = []
        prev = pts[-1]
        for cur in pts:
            if keep(cur):
                if not keep(prev):
                    out.append(cross(prev, cur))
                out.append(cur)
            elif keep(prev):
                out.append(cross(prev, cur))
            prev = cur
        pts = out
    dedup: list[Point] = []
    for p in pts:
        if not dedup or (abs(p[0] - dedup[-1][0]) > 1e-12 or abs(p[1] - dedup[-1][1]) > 1e-12):
            dedup.append(p)
    if len(dedup) > 1 and dedup[0] == dedup[-1]:
        dedup.pop()
    return dedup


def _cross_x(a: Point, b: Point, x: float) -> Point:
    t = (x - a[0]) / (b[0] - a[0])
    return x, a[1] + t * (b[1] - a[1])


def _cross_y(a: Point, b: Point, y: float) -> Point:
    t = (y - a[1]) / (b[1] - a[1])
    return a[0] + t * (b[0] - a[0]), y


def clip(shape: Shape, w: float, h: float) -> tuple[Shape | None, bool]:
    """``shape`` clipped to the image: (the clipped shape or None when nothing of it is inside
    or what is left has no area, whether it was clipped). A shape within ``tolerance`` of the
    image is returned as it is (rounding noise, not a clip: re-exports stay byte-identical)."""
    if inside_image(shape.points, w, h):
        return shape, False
    if shape.kind == "point":
        return None, True
    if shape.kind == "rect":
        (x0, y0), (x1, y1) = shape.points
        cx0, cy0 = clamp_point((x0, y0), w, h)
        cx1, cy1 = clamp_point((x1, y1), w, h)
        if cx1 - cx0 <= 0 or cy1 - cy0 <= 0:
            return None, True
        return shape.with_points(((cx0, cy0), (cx1, cy1))), True
    pts = clip_polygon(shape.points, w, h)
    if len(pts) < 3 or polygon_area(pts) <= 0:
        return None, True
    return shape.with_points(pts), True


# ---------------------------------------------------------------- hit tests
def point_in_polygon(p: Point, points: tuple[Point, ...] | list[Point]) -> bool:
    """Even-odd rule (ray casting)."""
    x, y = p
    inside = False
    n = len(points)
    j = n - 1
    for i in range(n):
        xi, yi = points[i]
        xj, yj = points[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def segment_distance(p: Point, a: Point, b: Point) -> float:
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    n2 = dx * dx + dy * dy
    t = 0.0 if n2 == 0 else max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / n2))
    return math.hypot(p[0] - (ax + t * dx), p[1] - (ay + t * dy))


def outline(shape: Shape) -> list[Point]:
    """The closed outline's corners: 4 for a rect, the vertices for a polygon."""
    if shape.kind == "rect":
        (x0, y0), (x1, y1) = shape.points
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    return list(shape.points)


def rect_handles(shape: Shape) -> dict[str, Point]:
    """The 8 resize handles of a rect: corners and edge midpoints, named by compass."""
    (x0, y0), (x1, y1) = shape.points
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    return {"nw": (x0, y0), "n": (mx, y0), "ne": (x1, y0), "e": (x1, my),
            "se": (x1, y1), "s": (mx, y1), "sw": (x0, y1), "w": (x0, my)}  # fmt: skip


@dataclass(frozen=True)
class Hit:
    index: int  # into the shapes list
    part: str  # handle (rect) | vertex (polygon, point) | edge | inside
    handle: str | None = None  # the rect handle's name
    vertex: int | None = None  # the vertex index; for an edge, the index a new vertex gets


def hit_shape(shape: Shape, p: Point, tol: float, index: int = 0) -> Hit | None:
    """What of ``shape`` is under ``p`` within ``tol`` image pixels: a handle or vertex first,
    then an edge, then the inside. A locked shape is only hit as a whole (edge or inside)."""
    pts = shape.points
    if shape.kind == "rect":  # the common case, without building lists
        (x0, y0), (x1, y1) = pts
    else:
        x0, y0, x1, y1 = bbox(pts)
    if p[0] < x0 - tol or p[0] > x1 + tol or p[1] < y0 - tol or p[1] > y1 + tol:
        return None
    if shape.kind == "point":
        vx, vy = shape.points[0]
        return Hit(index, "vertex", vertex=0) if math.hypot(p[0] - vx, p[1] - vy) <= tol else None
    if not shape.locked:
        if shape.kind == "rect":
            best = _nearest(list(rect_handles(shape).items()), p, tol)
            if best is not None:
                return Hit(index, "handle", handle=best)
        else:
            best_i = _nearest(list(enumerate(shape.points)), p, tol)
            if best_i is not None:
                return Hit(index, "vertex", vertex=best_i)
    corners = outline(shape)
    n = len(corners)
    for i in range(n):
        if segment_distance(p, corners[i], corners[(i + 1) % n]) <= tol:
            return Hit(index, "edge", vertex=i + 1)
    if shape.kind == "rect" or point_in_polygon(p, corners):
        return Hit(index, "inside")
    return None


def _nearest(items: list[tuple[K, Point]], p: Point, tol: float) -> K | None:
    best, best_d = None, tol
    for key, (vx, vy) in items:
        d = math.hypot(p[0] - vx, p[1] - vy)
        if d <= best_d:
            best, best_d = key, d
    return best


def hit_test(shapes: list[Shape] | tuple[Shape, ...], p: Point, tol: float,
             selected: int | None = None) -> Hit | None:  # fmt: skip
    """The topmost (last drawn) visible shape under ``p``. The selected shape's handles and
    vertices win over any other shape, so a handle on top of another shape stays grabbable."""
    if selected is not None and 0 <= selected < len(shapes) and not shapes[selected].hidden:
        hit = hit_shape(shapes[selected], p, tol, selected)
        if hit is not None and hit.part in ("handle", "vertex"):
            return hit
    for i in range(len(shapes) - 1, -1, -1):
        s = shapes[i]
        if s.hidden:
            continue
        hit = hit_shape(s, p, tol, i)
        if hit is not None:
            return hit
    return None


# ---------------------------------------------------------------- edits
def move(shape: Shape, dx: float, dy: float, w: float, h: float) -> Shape:
    """``shape`` moved by (dx, dy), the move shortened so the whole shape stays in the image."""
    x0, y0, x1, y1 = bbox(shape.points)
    dx = min(max(dx, -x0), w - x1) if x1 - x0 <= w else 0.0
    dy = min(max(dy, -y0), h - y1) if y1 - y0 <= h else 0.0
    return shape.with_points([(x + dx, y + dy) for x, y in shape.points])


def resize_rect(shape: Shape, handle: str, p: Point, w: float, h: float) -> Shape:
    """The rect with handle ``handle`` dragged to ``p`` (clamped to the image). Dragging past
    the opposite side flips the rect (it stays normalised)."""
    if handle not in HANDLES:
        raise ValueError(f"unknown handle {handle!r}; one of {', '.join(HANDLES)}")
    (x0, y0), (x1, y1) = shape.points
    px, py = clamp_point(p, w, h)
    if "w" in handle:
        x0 = px
    if "e" in handle:
        x1 = px
    if "n" in handle:
        y0 = py
    if "s" in handle:
        y1 = py
    return shape.with_points(((x0, y0), (x1, y1)))


def move_vertex(shape: Shape, i: int, p: Point, w: float, h: float) -> Shape:
    pts = list(shape.points)
    pts[i] = clamp_point(p, w, h)
    return shape.with_points(pts)


def insert_vertex(shape: Shape, i: int, p: Point, w: float, h: float) -> Shape:
    """A polygon with a new vertex at index ``i`` (``Hit.vertex`` of an edge hit)."""
    if shape.kind != "polygon":
        raise ValueError("only a polygon has vertices to add")
    pts = list(shape.points)
    pts.insert(i, clamp_point(p, w, h))
    return shape.with_points(pts)


def remove_vertex(shape: Shape, i: int) -> Shape | None:
    """A polygon without vertex ``i``; None when it would have fewer than 3 points."""
    if shape.kind != "polygon":
        raise ValueError("only a polygon has vertices to remove")
    if len(shape.points) <= 3:
        return None
    pts = list(shape.points)
    del pts[i]
    return shape.with_points(pts)
