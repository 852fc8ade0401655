"""The labeling scene: the image item and one item per shape of the image shown, kept in
step with the document (a change of one image updates only the items that changed).
Presses go to the tool's interaction (``interactions.py``); hit tests use the scene's
spatial index for candidates and the runtime's pure ``geometry.hit_test`` to decide."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QGraphicsScene, QGraphicsSceneMouseEvent

from sparktrainer_gui.panels.labeling import interactions as it
from sparktrainer_gui.panels.labeling.document import DocShape, ImageState
from sparktrainer_gui.panels.labeling.editor import LabelEditor
from sparktrainer_gui.panels.labeling.items import ImageItem, ShapeItem, ShapesLayer
from trainer_runtime.labeling import geometry as geo

HIT_PX = 6.0  # hit tolerance in screen pixels


class LabelScene(QGraphicsScene):
    cursor_moved = Signal(float, float)  # image pixel under the mouse

    def __init__(self, editor: LabelEditor) -> None:
        super().__init__(editor)
        self.editor = editor
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self.image_item = ImageItem()
        self.addItem(self.image_item)
        self.layer = ShapesLayer()
        self.addItem(self.layer)
        self.items_by_id: dict[int, ShapeItem] = {}  # the selected shapes, lifted out of the layer
        self.active: it.Interaction | None = None
        self.shown: ImageState | None = None
        self.suggestion_pick: Callable[[float, float], bool] | None = None  # the suggestion layer's
        editor.image_opened.connect(self._on_editor_image_opened)
        editor.selection_changed.connect(self._on_editor_selection_changed)
        editor.tool_changed.connect(self._on_editor_tool_changed)
        editor.doc.subscribe(self._on_doc_event)

    # ------------------------------------------------------------ mirror
    def _on_editor_image_opened(self, path: str) -> None:
        self.cancel_interaction()
        self.shown = None
        self.sync(self.editor.state)
        w, h = self.editor.size()
        side = max(w, h, 1.0)  # room to pan any corner of the image to the middle of the view
        self.setSceneRect(QRectF(-side, -side, w + 2 * side, h + 2 * side))

    def sync(self, state: ImageState) -> None:
        """Show ``state``: all shapes in the batched layer, the selected ones lifted out
        into their own items (with handles)."""
        colors = {s.label: self.editor.color(s.label) for s in state.shapes}
        self.layer.set_shapes(state.shapes, colors, QRectF(0, 0, state.w, state.h))
        self.shown = state
        self._on_editor_selection_changed()

    def _on_doc_event(self, event: str, payload: dict) -> None:
        if event == "image_changed" and payload["path"] == self.editor.path:
            self.sync(payload["new"])
        elif event == "classes_changed" and self.shown is not None:
            self.sync(self.shown)

    def _on_editor_selection_changed(self) -> None:
        state = self.shown or ImageState()
        chosen = {s.id: s for s in state.shapes if s.id in set(self.editor.selected)}
        for sid in list(self.items_by_id):
            if sid not in chosen:
                self.removeItem(self.items_by_id.pop(sid))
        for sid, shape in chosen.items():
            item = self.items_by_id.get(sid)
            if item is None:
                item = ShapeItem(shape, self.editor.color(shape.label))
                item.setZValue(1)
                item.set_selected(True)
                self.items_by_id[sid] = item
                self.addItem(item)
            else:
                item.set_shape(shape)
                item.set_color(self.editor.color(shape.label))
        self.layer.set_lifted(set(chosen))

    def visible_shapes(self) -> list[DocShape]:
        """The shapes drawn now (not hidden), bottom to top."""
        return [s for s in self.layer.shapes if not s.hidden]

    def _on_editor_tool_changed(self, _tool: str) -> None:
        self.cancel_interaction()

    def cancel_interaction(self) -> None:
        if self.active is not None:
            self.active.cancel()
            self.active = None

    def zoom_changed(self) -> None:
        self.layer.prepareGeometryChange()
        for item in self.items_by_id.values():
            item.refresh_margin()

    # ------------------------------------------------------------ hit tests
    def hit(self, at: QPointF) -> tuple[DocShape, geo.Hit] | None:
        """The shape (and its part) under ``at``: candidates from the spatial index,
        decided by ``geometry.hit_test`` (the selected shape's handles first)."""
        tol = HIT_PX * ShapeItem.px
        area = QRectF(at.x() - tol, at.y() - tol, 2 * tol, 2 * tol)
        found = [
            i for i in self.items(area) if isinstance(i, ShapeItem) and i.score is None and i.isVisible()
        ]
        found.sort(key=lambda i: i.zValue())
        shapes = [i.shape_ for i in found]
        selected = next((k for k, s in enumerate(shapes) if s.id in self.editor.selected), None)
        hit = geo.hit_test([s.shape for s in shapes], (at.x(), at.y()), tol, selected)
        return (shapes[hit.index], hit) if hit is not None else None

    # ------------------------------------------------------------ mouse
    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.editor.path is None:
            event.ignore()
            return
        at, mods = event.scenePos(), event.modifiers()
        if self.active is None:
            self.active = self._start(at, mods)
        if self.active is not None:
            self.active.press(at, mods)
            if self.active.done:
                self.active = None
        event.accept()

    def _start(self, at: QPointF, mods: Qt.KeyboardModifier) -> it.Interaction | None:
        tool, e = self.editor.tool, self.editor
        if tool != "select":
            label = e.label_for_new_shape()
            if label is None:
                return None
            cls = {
                "rect": it.RectInteraction,
                "polygon": it.PolygonInteraction,
                "point": it.PointInteraction,
            }[tool]
            return cls(self, label)
        found = self.hit(at)
        e.selected_vertex = None
        if found is None:
            e.select([])
            if self.suggestion_pick is not None:
                self.suggestion_pick(at.x(), at.y())
            return None
        shape, hit = found
        if mods & Qt.KeyboardModifier.ShiftModifier or mods & Qt.KeyboardModifier.ControlModifier:
            ids = (
                [i for i in e.selected if i != shape.id]
                if shape.id in e.selected
                else [*e.selected, shape.id]
            )
            e.select(ids)
            return None
        if shape.id not in e.selected:
            e.select([shape.id])
        if shape.locked:
            return None
        if hit.part == "vertex" and hit.vertex is not None:
            if mods & Qt.KeyboardModifier.AltModifier:
                e.remove_vertex(shape.id, hit.vertex)
                return None
            if shape.kind == "polygon":
                e.selected_vertex = (shape.id, hit.vertex)
            return it.VertexInteraction(self, shape, hit.vertex)
        if hit.part == "handle" and hit.handle is not None:
            return it.ResizeInteraction(self, shape, hit.handle)
        return it.MoveInteraction(self, e.selected_shapes(), at)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        at = event.scenePos()
        self.cursor_moved.emit(at.x(), at.y())
        if self.active is not None:
            self.active.move(at)
        event.accept()

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.active is not None and event.button() == Qt.MouseButton.LeftButton:
            self.active.release(event.scenePos())
            if self.active.done:
                self.active = None
        event.accept()

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        at = event.scenePos()
        if isinstance(self.active, it.PolygonInteraction):
            self.active.double_click(at)
            self.active = None
        elif self.editor.tool == "select":
            found = self.hit(at)
            if found is not None and found[1].part == "edge" and found[0].kind == "polygon":
                self.editor.insert_vertex(found[0].id, int(found[1].vertex or 0), (at.x(), at.y()))
        event.accept()

    def polygon_key(self, key: Qt.Key) -> bool:
        """Enter closes, Backspace steps back, Escape cancels a polygon being drawn."""
        if not isinstance(self.active, it.PolygonInteraction):
            if key == Qt.Key.Key_Escape and self.active is not None:
                self.cancel_interaction()
                return True
            return False
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.active.close()
            self.active = None
        elif key == Qt.Key.Key_Backspace:
            self.active.back()
        elif key == Qt.Key.Key_Escape:
            self.cancel_interaction()
        else:
            return False
        return True
