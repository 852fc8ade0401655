"""The graph editor: owns the document (graph + groups + file path), its scene and the
``QUndoStack``. Every change goes through an undo command that calls the model's methods;
a refused change (cycle, taken port, invalid value) is reported as ``message_posted``
and never reaches the stack."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QObject, QPointF, Signal
from PySide6.QtGui import QGuiApplication, QUndoCommand, QUndoStack

from sparktrainer_gui.panels.builder import geometry as geo
from sparktrainer_gui.panels.builder.commands import (
    AddNodeCommand,
    CollapseCommand,
    ConnectCommand,
    GraphCommand,
    GroupCommand,
    MoveCommand,
    PasteCommand,
    RemoveCommand,
    RenameCommand,
    SetParamCommand,
)
from sparktrainer_gui.panels.builder.groups import Group, GroupSet
from sparktrainer_gui.panels.builder.items import NodeItem
from sparktrainer_gui.panels.builder.scene import GraphScene
from trainer_runtime.architecture.errors import GraphError, GraphFormatError
from trainer_runtime.architecture.graph import Graph

log = logging.getLogger(__name__)
MIME_GRAPH = "application/x-sparktrainer-graph"
PASTE_OFFSET = 40.0


class GraphEditor(QObject):
    message_posted = Signal(str)  # a sentence for the status bar
    document_replaced = Signal()  # new scene (new / open / template)
    param_refused = Signal(str, str, str)  # node id, param name, sentence

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.graph = Graph()
        self.groups = GroupSet()
        self.path: Path | None = None
        self.scene = self._make_scene()
        self._pastes = 0

    # ------------------------------------------------------------ document
    def _make_scene(self) -> GraphScene:
        scene = GraphScene(self.graph, self.groups, self)
        scene.connect_requested.connect(self.connect_ports)
        scene.connect_refused.connect(self.message_posted)
        scene.move_requested.connect(self.move_nodes)
        scene.group_toggle_requested.connect(self.toggle_group)
        return scene

    def set_document(self, graph: Graph, groups: GroupSet | None = None, path: Path | None = None) -> None:
        self.undo_stack.clear()  # its commands hold the old graph
        old = self.scene
        old.close()
        self.graph, self.groups, self.path = graph, groups or GroupSet(), path
        self.scene = self._make_scene()
        self.undo_stack.setClean()
        self.document_replaced.emit()
        old.deleteLater()

    def new_from(self, graph: Graph, layout: bool = True) -> None:
        """A new unsaved document from ``graph`` (a template), laid out for this canvas."""
        if layout:
            for nid, pos in self._layout_positions(graph).items():
                graph.move_node(nid, pos)
        self.set_document(graph)

    def load(self, path: Path) -> None:
        """Open a graph file; GraphError (with the sentence to show) when it cannot be used."""
        graph = Graph.load(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:  # Graph.load read it a moment ago
            raise GraphFormatError(f"Cannot read {path}: {err}.") from err
        groups = GroupSet.from_list(raw.get("groups"), graph.nodes)
        self.set_document(graph, groups, path)

    def save(self, path: Path) -> None:
        """Write the graph (and its groups) to ``path``; OSError when the disk refuses."""
        data = self.graph.to_dict()
        if self.groups.groups:
            data["groups"] = self.groups.to_list()
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)
        self.path = path
        self.undo_stack.setClean()

    # ------------------------------------------------------------- pushing
    def push(self, command: GraphCommand) -> bool:
        """Apply ``command`` and put it on the undo stack; False (and a message) if refused."""
        try:
            command.apply()
        except (GraphError, ValueError) as err:
            self.message_posted.emit(str(err))
            return False
        self.undo_stack.push(command)
        return True

    def push_macro(self, text: str, commands: list[QUndoCommand]) -> None:
        self.undo_stack.beginMacro(text)
        try:
            for command in commands:
                if isinstance(command, GraphCommand):
                    self.push(command)
        finally:
            self.undo_stack.endMacro()

    # --------------------------------------------------------------- edits
    def add_layer(self, layer_type: str, at: QPointF) -> str | None:
        """Add a layer centred horizontally on ``at`` (scene coordinates); its id, or None."""
        cmd = AddNodeCommand(self.graph, layer_type, (at.x() - geo.NODE_WIDTH / 2, at.y() - geo.HEADER_H / 2))
        if not self.push(cmd) or cmd.node is None:
            return None
        self.select([cmd.node.id])
        return cmd.node.id

    def connect_ports(self, src: str, src_port: str, dst: str, dst_port: str) -> bool:
        return self.push(ConnectCommand(self.graph, src, src_port, dst, dst_port))

    def set_param(self, node_id: str, name: str, value: Any) -> bool:
        if node_id not in self.graph.nodes or self.graph.nodes[node_id].params.get(name) == value:
            return True
        cmd = SetParamCommand(self.graph, node_id, name, value)
        try:
            cmd.apply()
        except GraphError as err:
            self.param_refused.emit(node_id, name, str(err))
            return False
        self.undo_stack.push(cmd)
        return True

    def rename(self, node_id: str, name: str) -> bool:
        if node_id not in self.graph.nodes or self.graph.nodes[node_id].name == name:
            return True
        return self.push(RenameCommand(self.graph, node_id, name))

    def move_nodes(self, old: dict, new: dict) -> None:
        self.push(MoveCommand(self.graph, old, new))

    def delete_selection(self) -> None:
        ids, edges = self.scene.selected_node_ids(), self.scene.selected_edges()
        if ids or edges:
            self.push(RemoveCommand(self.graph, ids, edges))

    def auto_layout(self) -> None:
        new = self._layout_positions(self.graph, self.scene, self.groups)
        old = {nid: self.graph.nodes[nid].pos for nid in new}
        changed = {nid: pos for nid, pos in new.items() if old[nid] != pos}
        if changed:
            self.push(MoveCommand(self.graph, {n: old[n] for n in changed}, changed, text="Auto-layout"))

    @staticmethod
    def _layout_positions(
        graph: Graph, scene: GraphScene | None = None, groups: GroupSet | None = None
    ) -> dict[str, tuple[float, float]]:
        """Layered positions; a collapsed group is laid out as one block, and its (hidden)
        members move with it."""
        folded = {
            m: g.id for g in (groups.groups.values() if groups else ()) if g.collapsed for m in g.members
        }

        def rep(nid: str) -> str:
            return folded.get(nid, nid)

        sizes: dict[str, tuple[float, float]] = {}
        for nid, node in graph.nodes.items():
            item = scene.node_items.get(nid) if scene is not None else None
            box = (
                item.box
                if item is not None
                else geo.node_box(len(node.layer.inputs), len(node.layer.outputs))
            )
            sizes[nid] = (box.width, box.height)
        for gid in set(folded.values()):
            block = (
                scene.group_items[gid].boundingRect()
                if scene is not None and gid in scene.group_items
                else None
            )
            sizes[gid] = (block.width(), block.height()) if block is not None else (geo.NODE_WIDTH, 110.0)
        order = list(dict.fromkeys(rep(n) for n in graph.nodes))
        edges = [(rep(e.src), rep(e.dst)) for e in graph.edges if rep(e.src) != rep(e.dst)]
        placed = geo.layered_layout(order, edges, sizes, wrap=geo.WRAP_COLUMNS)
        result: dict[str, tuple[float, float]] = {}
        corners: dict[str, tuple[float, float]] = {}
        for nid, gid in folded.items():
            if nid in graph.nodes:
                x, y = graph.nodes[nid].pos
                cx, cy = corners.get(gid, (x, y))
                corners[gid] = (min(cx, x), min(cy, y))
        for nid, node in graph.nodes.items():
            gid = folded.get(nid)
            if gid is None:
                result[nid] = placed[nid]
            else:  # keep the member's offset inside its block
                (bx, by), (cx, cy) = placed[gid], corners[gid]
                result[nid] = (node.pos[0] - cx + bx, node.pos[1] - cy + by)
        return result

    # ---------------------------------------------------------- clipboard
    def copy_selection(self) -> int:
        ids = set(self.scene.selected_node_ids())
        if not ids:
            return 0
        data = self.graph.to_dict()
        data["nodes"] = [n for n in data["nodes"] if n["id"] in ids]
        data["edges"] = [e for e in data["edges"] if e[0] in ids and e[2] in ids]
        mime = QMimeData()
        text = json.dumps(data)
        mime.setData(MIME_GRAPH, text.encode("utf-8"))
        mime.setText(text)
        QGuiApplication.clipboard().setMimeData(mime)
        self._pastes = 0
        self.message_posted.emit(f"Copied {len(ids)} layer{'s' * (len(ids) != 1)}.")
        return len(ids)

    def paste(self) -> list[str]:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not mime.hasFormat(MIME_GRAPH):
            self.message_posted.emit("Nothing to paste: copy some layers first.")
            return []
        try:
            clip = json.loads(bytes(mime.data(MIME_GRAPH).data()).decode("utf-8"))
        except ValueError:
            self.message_posted.emit("The clipboard holds no layers that can be pasted.")
            return []
        self._pastes += 1
        cmd = PasteCommand(self.graph, clip, (PASTE_OFFSET * self._pastes, PASTE_OFFSET * self._pastes))
        if not self.push(cmd):
            return []
        self.select(cmd.new_ids)
        return cmd.new_ids

    # -------------------------------------------------------------- groups
    def group_selection(self, name: str | None = None) -> str | None:
        ids = self.scene.selected_node_ids()
        if not ids:
            self.message_posted.emit("Select the layers to group first.")
            return None
        gid = self.groups.new_id()
        group = Group(gid, name or f"block {gid[1:]}", frozenset(ids), collapsed=True)
        return gid if self.push(GroupCommand(self.groups, group)) else None

    def ungroup_selection(self) -> None:
        for gid in self.selected_group_ids():
            self.push(GroupCommand(self.groups, self.groups.groups[gid], ungroup=True))

    def selected_group_ids(self) -> list[str]:
        ids = set(self.scene.selected_node_ids())
        out = [item.group_id for item in self.scene.selectedItems() if hasattr(item, "group_id")]
        out += [g.id for g in self.groups.groups.values() if g.members & ids and g.id not in out]
        return out

    def toggle_group(self, group_id: str | None = None) -> None:
        targets = [group_id] if group_id else self.selected_group_ids()
        for gid in targets:
            if gid in self.groups.groups:
                self.push(CollapseCommand(self.groups, gid, not self.groups.groups[gid].collapsed))

    # ------------------------------------------------------------ helpers
    def select(self, node_ids: list[str]) -> None:
        self.scene.clearSelection()
        for nid in node_ids:
            item = self.scene.node_items.get(nid)
            if isinstance(item, NodeItem):
                item.setSelected(True)
