"""Mouse modes of the canvas, one object each (orange-canvas-core's ``interactions.py``
idea): the scene hands a press to an interaction, which follows the drag and, on release,
reports what the user asked for through the scene's ``*_requested`` signals. Interactions
never change the graph themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QGraphicsSceneMouseEvent

from sparktrainer_gui.panels.builder import geometry as geo
from sparktrainer_gui.panels.builder.items import NodeItem, RubberEdgeItem

if TYPE_CHECKING:
    from sparktrainer_gui.panels.builder.scene import GraphScene


class Interaction:
    """Base: each handler returns True when it consumed the event."""

    def __init__(self, scene: GraphScene) -> None:
        self.scene = scene

    def mouse_press(self, event: QGraphicsSceneMouseEvent) -> bool:
        return False

    def mouse_move(self, event: QGraphicsSceneMouseEvent) -> bool:
        return False

    def mouse_release(self, event: QGraphicsSceneMouseEvent) -> bool:
        return False

    def finish(self, event: QGraphicsSceneMouseEvent) -> None:
        """Called after the release, handled or not: clean up."""


class ConnectInteraction(Interaction):
    """Drag from an output port: a rubber-band edge follows the cursor; over an input that
    accepts it the input lights up, over one that refuses it the band turns red. Released
    on an accepting input (or a node body with a free input), ``connect_requested`` fires;
    released on a refusing one, ``connect_refused`` says why."""

    def __init__(self, scene: GraphScene, src: NodeItem, src_port: str) -> None:
        super().__init__(scene)
        self.src, self.src_port = src, src_port
        self.rubber = RubberEdgeItem(src.output_anchor(src_port))
        self._lit: NodeItem | None = None

    def mouse_press(self, event: QGraphicsSceneMouseEvent) -> bool:
        self.scene.addItem(self.rubber)
        return True

    def target(self, event: QGraphicsSceneMouseEvent) -> tuple[NodeItem | None, str | None, str | None]:
        """(node item, input port, refusal sentence or None) under the cursor."""
        pos = event.scenePos()
        hit = self.scene.port_at(pos)
        if hit is not None and hit[1] == "in":
            item, port = hit[0], hit[2]
        else:
            item = self.scene.node_at(pos)
            if item is None or not item.inputs:
                return None, None, None
            taken = {e.dst_port for e in self.scene.graph.in_edges(item.node_id)}
            port = next((p for p in item.inputs if p not in taken or p in item.multi), item.inputs[0])
        return item, port, self.refusal(item, port)

    def refusal(self, item: NodeItem, port: str) -> str | None:
        graph = self.scene.graph
        taken = any(e.dst == item.node_id and e.dst_port == port for e in graph.edges)
        reach = geo.downstream(item.node_id, ((e.src, e.dst) for e in graph.edges))
        return geo.can_connect(self.src.node_id, item.node_id, taken, port in item.multi, reach)

    def mouse_move(self, event: QGraphicsSceneMouseEvent) -> bool:
        item, port, reason = self.target(event)
        self._light(item if reason is None else None, port)
        if item is not None and port is not None and reason is None:
            self.rubber.set_end(item.input_anchor(port), refused=False)
        else:
            self.rubber.set_end(event.scenePos(), refused=item is not None)
        return True

    def mouse_release(self, event: QGraphicsSceneMouseEvent) -> bool:
        item, port, reason = self.target(event)
        if item is not None and port is not None:
            if reason is None:
                self.scene.connect_requested.emit(self.src.node_id, self.src_port, item.node_id, port)
            else:
                self.scene.connect_refused.emit(reason)
        return True

    def finish(self, event: QGraphicsSceneMouseEvent) -> None:
        self._light(None, None)
        if self.rubber.scene() is not None:
            self.scene.removeItem(self.rubber)

    def _light(self, item: NodeItem | None, port: str | None) -> None:
        if self._lit is not None and self._lit is not item:
            self._lit.set_highlight_port(None)
        self._lit = item
        if item is not None:
            item.set_highlight_port(port)


class MoveInteraction(Interaction):
    """Qt moves the selected nodes; this records where they started and, on release,
    asks for one undoable move of all of them."""

    def __init__(self, scene: GraphScene) -> None:
        super().__init__(scene)
        self.start: dict[str, tuple[float, float]] | None = None

    def mouse_move(self, event: QGraphicsSceneMouseEvent) -> bool:
        if self.start is None:  # the press has selected the node by now, and nothing has moved yet
            self.start = {
                i.node_id: (i.pos().x(), i.pos().y())
                for i in self.scene.selectedItems()
                if isinstance(i, NodeItem)
            }
        return False

    def finish(self, event: QGraphicsSceneMouseEvent) -> None:
        if not self.start:
            return
        items = self.scene.node_items
        end = {nid: (items[nid].pos().x(), items[nid].pos().y()) for nid in self.start if nid in items}
        old = {nid: pos for nid, pos in self.start.items() if nid in end and end[nid] != pos}
        if old:
            self.scene.move_requested.emit(old, {nid: end[nid] for nid in old})
