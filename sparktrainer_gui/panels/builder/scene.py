"""The canvas scene: mirrors a ``Graph`` (and its ``GroupSet``) as items, through their
events, and shows the live inference (shapes on edges and nodes, errors in red).

The scene never changes the graph. Mouse work goes to the current interaction
(``interactions.py``), which reports what the user asked for as ``*_requested`` signals;
the editor turns those into undo commands."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsScene, QGraphicsSceneMouseEvent

from sparktrainer_gui import theme
from sparktrainer_gui.panels.builder import geometry as geo
from sparktrainer_gui.panels.builder.group_item import GroupItem
from sparktrainer_gui.panels.builder.groups import GroupSet
from sparktrainer_gui.panels.builder.interactions import ConnectInteraction, Interaction, MoveInteraction
from sparktrainer_gui.panels.builder.items import EdgeItem, NodeItem
from trainer_runtime.architecture.errors import UnconnectedPortError
from trainer_runtime.architecture.graph import Edge, Graph
from trainer_runtime.architecture.infer import Inference, Inferencer

SUMMARY_PARAMS = 2  # how many parameters a node shows under its ports


class GraphScene(QGraphicsScene):
    connect_requested = Signal(str, str, str, str)  # src, src_port, dst, dst_port
    move_requested = Signal(dict, dict)  # {node_id: (x, y)} before, after
    connect_refused = Signal(str)  # a sentence: why the rubber-band edge was refused
    inference_updated = Signal(object)  # the Inference after an edit
    group_toggle_requested = Signal(str)  # a group id

    def __init__(self, graph: Graph, groups: GroupSet | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self.graph = graph
        self.groups = groups or GroupSet()
        self.node_items: dict[str, NodeItem] = {}
        self.edge_items: dict[Edge, EdgeItem] = {}
        self.group_items: dict[str, GroupItem] = {}
        self.inferencer = Inferencer(graph)
        self.interaction: Interaction | None = None
        self._unsubscribe = [
            graph.subscribe(self._on_graph_event),
            self.groups.subscribe(self._on_groups_event),
        ]
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.refresh)
        for node in graph.nodes.values():
            self._add_node(node)
        for edge in graph.edges:
            self._add_edge(edge)
        for group in self.groups.groups.values():
            self._add_group(group)
        self.apply_theme()
        self.refresh()

    def apply_theme(self) -> None:
        """A dotted background in the theme's colours (a tiled brush: drawn natively, fast)."""
        c = theme.colors()
        tile = QPixmap(24, 24)
        tile.fill(QColor(c["window"]))
        painter = QPainter(tile)
        painter.setPen(QColor(c["border"]))
        painter.drawRect(0, 0, 1, 1)
        painter.end()
        self.setBackgroundBrush(QBrush(tile))
        for item in self.items():
            item.update()  # nodes keep a cached pixmap: redraw it in the new colours

    def close(self) -> None:
        """Stop listening to the graph (the scene is being replaced)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self.inferencer.close()
        self._refresh_timer.stop()

    @property
    def inference(self) -> Inference:
        return self.inferencer.result

    # ------------------------------------------------------------- mirror
    def _on_graph_event(self, event: str, payload: dict[str, Any]) -> None:
        if event == "node_added":
            self._add_node(payload["node"])
        elif event == "node_removed":
            item = self.node_items.pop(payload["node"].id)
            self.removeItem(item)
        elif event == "edge_added":
            self._add_edge(payload["edge"])
        elif event == "edge_removed":
            edge_item = self.edge_items.pop(payload["edge"])
            edge_item.detach()
            self.removeItem(edge_item)
        elif event == "node_moved":
            item = self.node_items[payload["node_id"]]
            if (item.pos().x(), item.pos().y()) != payload["pos"]:
                item.setPos(*payload["pos"])
        self._refresh_timer.start()

    def _on_groups_event(self, event: str, payload: dict[str, Any]) -> None:
        group = payload["group"]
        if event == "group_added":
            self._add_group(group)
        elif event == "group_removed":
            item = self.group_items.pop(group.id)
            item.set_group(group.__class__(group.id, group.name, group.members, False), self)
            self.removeItem(item)
        elif event == "group_changed":
            self.group_items[group.id].set_group(group, self)
        self._refresh_timer.start()

    def _add_node(self, node: Any) -> None:
        item = NodeItem(node.id, node.layer, node.name or node.id)
        item.setPos(*node.pos)
        self.addItem(item)
        self.node_items[node.id] = item

    def _add_edge(self, edge: Edge) -> None:
        item = EdgeItem(edge, self.node_items[edge.src], self.node_items[edge.dst])
        self.addItem(item)
        self.edge_items[edge] = item

    def _add_group(self, group: Any) -> None:
        item = GroupItem(group.id)
        self.addItem(item)
        self.group_items[group.id] = item
        item.set_group(group, self)

    # ---------------------------------------------------------- inference
    def refresh(self) -> None:
        """Show the current inference on every item (cheap: items repaint only on change)."""
        self._refresh_timer.stop()
        res = self.inference
        for nid, item in self.node_items.items():
            node = self.graph.nodes[nid]
            errors = res.errors.get(nid, [])
            warning_only = bool(errors) and all(isinstance(e, UnconnectedPortError) for e in errors)
            item.set_content(node.name or nid, self._summary(node, res), self._shape_text(node, res),
                             [str(e) for e in errors], warning_only)  # fmt: skip
        for edge, edge_item in self.edge_items.items():
            shape = res.shapes.get((edge.src, edge.src_port))
            bad = bool(res.errors.get(edge.dst)) and shape is not None
            edge_item.set_label(geo.format_shape(shape) if shape is not None else "", error=bad)
        for gid, group_item in self.group_items.items():
            group_item.set_group(self.groups.groups[gid], self)
        self.inference_updated.emit(res)

    def _summary(self, node: Any, res: Inference) -> str:
        names = [p.name for p in node.layer.params if p.kind != "bool"][:SUMMARY_PARAMS]
        text = geo.param_summary(node.params, names, limit=24 if res.params.get(node.id) else 34)
        count = res.params.get(node.id)
        return f"{text} · {geo.format_count(count)}p" if count else text

    @staticmethod
    def _shape_text(node: Any, res: Inference) -> str:
        if node.layer.outputs:
            shape = res.shapes.get((node.id, node.layer.outputs[0].name))
            return "→ " + geo.format_shape(shape) if shape is not None else "→ ?"
        inputs = res.input_shapes.get(node.id, {})
        shapes = [s for ss in inputs.values() for s in ss]
        return ("in " + geo.format_shape(shapes[0])) if shapes else "in ?"

    def group_shapes(self, members: frozenset[str]) -> tuple[list[str], list[str]]:
        """Shape texts entering and leaving a group (for its collapsed block)."""
        from sparktrainer_gui.panels.builder.groups import boundary

        entering, leaving = boundary(members, self.graph.edges)
        res = self.inference
        ins = [geo.format_shape(res.shapes.get((e.src, e.src_port))) for e in entering]
        outs = [geo.format_shape(res.shapes.get((e.src, e.src_port))) for e in leaving]
        return list(dict.fromkeys(ins)), list(dict.fromkeys(outs))

    # ------------------------------------------------------------ queries
    def selected_node_ids(self) -> list[str]:
        ids = [i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)]
        for item in self.selectedItems():
            if isinstance(item, GroupItem) and item.group is not None and item.group.collapsed:
                ids += [m for m in item.group.members if m not in ids]
        return ids

    def selected_edges(self) -> list[Edge]:
        return [i.edge for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def node_at(self, pos: QPointF) -> NodeItem | None:
        for item in self.items(pos):
            if isinstance(item, NodeItem) and item.isVisible():
                return item
        return None

    def port_at(self, pos: QPointF) -> tuple[NodeItem, str, str] | None:
        """``(node item, "in" | "out", port name)`` under ``pos`` (pure hit-test on anchors)."""
        margin = geo.PORT_HIT_RADIUS
        area = QRectF(pos.x() - margin, pos.y() - margin, 2 * margin, 2 * margin)
        for item in self.items(area):
            if isinstance(item, NodeItem) and item.isVisible():
                key = geo.hit_port((pos.x(), pos.y()), item.port_anchors())
                if key is not None:
                    side, port = key  # type: ignore[misc]
                    return item, side, port
        return None

    def items_bounding_rect(self) -> QRectF:
        rect = QRectF()
        for item in list(self.node_items.values()) + list(self.group_items.values()):
            if item.isVisible():
                rect = rect.united(item.sceneBoundingRect())
        return rect

    # ------------------------------------------------------- interactions
    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.interaction is None and event.button() == Qt.MouseButton.LeftButton:
            hit = self.port_at(event.scenePos())
            if hit is not None and hit[1] == "out":
                self.interaction = ConnectInteraction(self, hit[0], hit[2])
            elif hit is None and self.node_at(event.scenePos()) is not None:
                self.interaction = MoveInteraction(self)
        if self.interaction is not None and self.interaction.mouse_press(event):
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.interaction is not None and self.interaction.mouse_move(event):
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        interaction = self.interaction
        handled = interaction.mouse_release(event) if interaction is not None else False
        if not handled:
            super().mouseReleaseEvent(event)
        if interaction is not None:
            interaction.finish(event)
            self.interaction = None

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        for item in self.items(event.scenePos()):
            if isinstance(item, GroupItem) and item.header_contains(event.scenePos()):
                self.group_toggle_requested.emit(item.group_id)
                return
        super().mouseDoubleClickEvent(event)
