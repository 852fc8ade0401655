"""Mouse modes of the labeling canvas, one object each. An interaction follows a press
(or, for the polygon tool, a series of clicks), previews on the scene items, and on
release asks the editor for one undoable edit. Hit tests are the runtime's pure
``geometry`` functions with a tolerance of a few screen pixels."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsRectItem

from sparktrainer_gui.panels.labeling.document import DocShape
from sparktrainer_gui.panels.labeling.items import ShapeItem, draft_path
from trainer_runtime.labeling import geometry as geo
from trainer_runtime.labeling.shapes import Shape

if TYPE_CHECKING:
    from sparktrainer_gui.panels.labeling.scene import LabelScene

CLOSE_PX = 8.0  # a click this close to the first point closes a polygon


def pt(p: QPointF) -> tuple[float, float]:
    return p.x(), p.y()


class Interaction:
    """Base: handlers get scene positions. ``done`` tells the scene to drop it."""

    def __init__(self, scene: LabelScene) -> None:
        self.scene = scene
        self.editor = scene.editor
        self.done = False

    def press(self, at: QPointF, modifiers: Qt.KeyboardModifier) -> None: ...

    def move(self, at: QPointF) -> None: ...

    def release(self, at: QPointF) -> None:
        self.done = True

    def double_click(self, at: QPointF) -> None: ...

    def cancel(self) -> None:
        self.done = True

    def clamp(self, at: QPointF) -> tuple[float, float]:
        w, h = self.editor.size()
        return geo.clamp_point(pt(at), w, h)


class _Preview(Interaction):
    """Drags that change existing shapes: preview on the items, one edit on release."""

    def __init__(self, scene: LabelScene, shapes: list[DocShape], text: str) -> None:
        super().__init__(scene)
        self.start_shapes = {s.id: s for s in shapes}
        self.current = dict(self.start_shapes)
        self.text = text

    def show(self, shapes: list[DocShape]) -> None:
        for s in shapes:
            self.current[s.id] = s
            item = self.scene.items_by_id.get(s.id)
            if item is not None:
                item.set_shape(s)

    def release(self, at: QPointF) -> None:
        self.done = True
        changed = [s for i, s in self.current.items() if s != self.start_shapes[i]]
        if changed:
            self.editor.replace_shapes(changed, self.text)

    def cancel(self) -> None:
        self.show(list(self.start_shapes.values()))
        self.done = True


class MoveInteraction(_Preview):
    def __init__(self, scene: LabelScene, shapes: list[DocShape], at: QPointF) -> None:
        n = len(shapes)
        super().__init__(scene, [s for s in shapes if not s.locked], f"Move {n} shape{'s' * (n != 1)}")
        self.origin = pt(at)

    def move(self, at: QPointF) -> None:
        w, h = self.editor.size()
        dx, dy = at.x() - self.origin[0], at.y() - self.origin[1]
        self.show([DocShape(s.id, geo.move(s.shape, dx, dy, w, h)) for s in self.start_shapes.values()])


class ResizeInteraction(_Preview):
    def __init__(self, scene: LabelScene, shape: DocShape, handle: str) -> None:
        super().__init__(scene, [shape], "Resize rectangle")
        self.shape, self.handle = shape, handle

    def move(self, at: QPointF) -> None:
        w, h = self.editor.size()
        self.show([DocShape(self.shape.id, geo.resize_rect(self.shape.shape, self.handle, pt(at), w, h))])


class VertexInteraction(_Preview):
    def __init__(self, scene: LabelScene, shape: DocShape, vertex: int) -> None:
        super().__init__(scene, [shape], "Move vertex" if shape.kind == "polygon" else "Move point")
        self.shape, self.vertex = shape, vertex

    def move(self, at: QPointF) -> None:
        w, h = self.editor.size()
        self.show([DocShape(self.shape.id, geo.move_vertex(self.shape.shape, self.vertex, pt(at), w, h))])


def _pen(color: str) -> QPen:
    pen = QPen(QColor(color), 2)
    pen.setCosmetic(True)
    return pen


class RectInteraction(Interaction):
    """Press at one corner, drag, release at the other."""

    def __init__(self, scene: LabelScene, label: str) -> None:
        super().__init__(scene)
        self.label = label
        self.start: tuple[float, float] = (0.0, 0.0)
        self.rubber = QGraphicsRectItem()
        self.rubber.setPen(_pen(self.editor.color(label)))
        self.rubber.setZValue(20)

    def press(self, at: QPointF, modifiers: Qt.KeyboardModifier) -> None:
        self.start = self.clamp(at)
        self.rubber.setRect(QRectF(QPointF(*self.start), QPointF(*self.start)))
        self.scene.addItem(self.rubber)

    def move(self, at: QPointF) -> None:
        self.rubber.setRect(QRectF(QPointF(*self.start), QPointF(*self.clamp(at))).normalized())

    def release(self, at: QPointF) -> None:
        self.done = True
        self.scene.removeItem(self.rubber)
        (x0, y0), (x1, y1) = self.start, self.clamp(at)
        if abs(x1 - x0) / ShapeItem.px < 2 or abs(y1 - y0) / ShapeItem.px < 2:
            self.editor.message_posted.emit("Drag to draw a rectangle (a click alone has no area).")
            return
        self.editor.add_shape(Shape.rect(self.label, x0, y0, x1, y1))

    def cancel(self) -> None:
        if self.rubber.scene() is not None:
            self.scene.removeItem(self.rubber)
        self.done = True


class PolygonInteraction(Interaction):
    """Click to add points; a click on the first point, a double-click or Enter closes the
    polygon; Backspace drops the last point; Escape cancels."""

    def __init__(self, scene: LabelScene, label: str) -> None:
        super().__init__(scene)
        self.label = label
        self.points: list[tuple[float, float]] = []
        self.cursor: tuple[float, float] | None = None
        self.outline = QGraphicsPathItem()
        self.outline.setPen(_pen(self.editor.color(label)))
        self.outline.setZValue(20)
        scene.addItem(self.outline)

    def press(self, at: QPointF, modifiers: Qt.KeyboardModifier) -> None:
        p = self.clamp(at)
        if len(self.points) >= 3:
            fx, fy = self.points[0]
            if ((p[0] - fx) ** 2 + (p[1] - fy) ** 2) ** 0.5 <= CLOSE_PX * ShapeItem.px:
                self.close()
                return
        if not self.points or p != self.points[-1]:
            self.points.append(p)
        self._redraw()

    def move(self, at: QPointF) -> None:
        self.cursor = self.clamp(at)
        self._redraw()

    def release(self, at: QPointF) -> None:
        pass  # the polygon stays open until closed

    def double_click(self, at: QPointF) -> None:
        self.close()

    def back(self) -> None:
        if self.points:
            self.points.pop()
            self._redraw()

    def close(self) -> None:
        pts = list(self.points)
        self.cancel()
        if len(pts) < 3:
            self.editor.message_posted.emit(f"A polygon needs at least 3 points (it had {len(pts)}).")
            return
        if geo.polygon_area(pts) <= 0:
            self.editor.message_posted.emit("The polygon has zero area (its points are on one line).")
            return
        self.editor.add_shape(Shape.polygon(self.label, pts))

    def cancel(self) -> None:
        if self.outline.scene() is not None:
            self.scene.removeItem(self.outline)
        self.done = True

    def _redraw(self) -> None:
        self.outline.setPath(draft_path(self.points, self.cursor))


class PointInteraction(Interaction):
    def __init__(self, scene: LabelScene, label: str) -> None:
        super().__init__(scene)
        self.label = label

    def press(self, at: QPointF, modifiers: Qt.KeyboardModifier) -> None:
        x, y = self.clamp(at)
        self.editor.add_shape(Shape.point(self.label, x, y))
        self.done = True
