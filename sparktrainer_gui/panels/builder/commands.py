"""Undo commands of the builder: each one calls the graph's (or the group set's) methods,
which validate and notify the scene. The first application happens in ``apply()``,
before the command is pushed, so a refused edit (a cycle, an invalid parameter) raises
there and never reaches the undo stack; ``redo()`` then skips that first call."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QUndoCommand

from sparktrainer_gui.panels.builder.groups import Group, GroupSet
from trainer_runtime.architecture.graph import Edge, Graph, Node

SET_PARAM_ID = 6001


class GraphCommand(QUndoCommand):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._skip_redo = False

    def apply(self) -> GraphCommand:
        """Do it now (may raise a GraphError with the sentence to show); then push it."""
        self.do()
        self._skip_redo = True
        return self

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        self.do()

    def do(self) -> None:
        raise NotImplementedError


class AddNodeCommand(GraphCommand):
    def __init__(self, graph: Graph, layer_type: str, pos: tuple[float, float], params: dict | None = None):
        super().__init__(f"Add {layer_type}")
        self.graph, self.layer_type, self.pos, self.params = graph, layer_type, pos, params
        self.node: Node | None = None

    def do(self) -> None:
        if self.node is None:
            self.node = self.graph.add_node(self.layer_type, self.params, self.pos)
        else:
            self.graph.restore_node(self.node)

    def undo(self) -> None:
        assert self.node is not None
        self.node, _edges = self.graph.remove_node(self.node.id)


class RemoveCommand(GraphCommand):
    """Delete nodes (with their edges) and edges; undo puts everything back."""

    def __init__(self, graph: Graph, node_ids: list[str], edges: list[Edge]):
        n, e = len(node_ids), len(edges)
        what = f"{n} layer{'s' * (n != 1)}" if n else f"{e} connection{'s' * (e != 1)}"
        super().__init__(f"Delete {what}")
        self.graph = graph
        self.node_ids = list(node_ids)
        self.edges = [x for x in edges if x.src not in node_ids and x.dst not in node_ids]
        self.removed: list[tuple[Node, list[Edge]]] = []

    def do(self) -> None:
        for edge in self.edges:
            self.graph.disconnect(edge)
        self.removed = [self.graph.remove_node(nid) for nid in self.node_ids]

    def undo(self) -> None:
        for node, edges in reversed(self.removed):
            self.graph.restore_node(node, edges)
        for edge in self.edges:
            self.graph.connect(edge.src, edge.src_port, edge.dst, edge.dst_port)


class ConnectCommand(GraphCommand):
    def __init__(self, graph: Graph, src: str, src_port: str, dst: str, dst_port: str):
        super().__init__("Connect")
        self.graph, self.args = graph, (src, src_port, dst, dst_port)
        self.edge: Edge | None = None

    def do(self) -> None:
        self.edge = self.graph.connect(*self.args)

    def undo(self) -> None:
        assert self.edge is not None
        self.graph.disconnect(self.edge)


class SetParamCommand(GraphCommand):
    """Consecutive changes of the same parameter (spin-box steps) merge into one step."""

    def __init__(self, graph: Graph, node_id: str, name: str, value: Any):
        super().__init__(f"Set {name}")
        self.graph, self.node_id, self.name, self.value = graph, node_id, name, value
        self.old: Any = None
        self._has_old = False

    def do(self) -> None:
        old = self.graph.set_param(self.node_id, self.name, self.value)
        if not self._has_old:
            self.old, self._has_old = old, True

    def undo(self) -> None:
        self.graph.set_param(self.node_id, self.name, self.old)

    def id(self) -> int:
        return SET_PARAM_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetParamCommand) or (other.node_id, other.name) != (self.node_id, self.name):
            return False
        self.value = other.value
        return True


class RenameCommand(GraphCommand):
    def __init__(self, graph: Graph, node_id: str, name: str):
        super().__init__(f"Rename to {name}")
        self.graph, self.node_id, self.name = graph, node_id, name
        self.old = ""

    def do(self) -> None:
        self.old = self.graph.rename_node(self.node_id, self.name)

    def undo(self) -> None:
        self.graph.rename_node(self.node_id, self.old)


class MoveCommand(GraphCommand):
    """Moves (a drag of several nodes, or an auto-layout) as one step."""

    def __init__(self, graph: Graph, old: dict[str, tuple[float, float]], new: dict[str, tuple[float, float]],
                 text: str = "Move"):  # fmt: skip
        n = len(new)
        super().__init__(f"{text} {n} layer{'s' * (n != 1)}" if text == "Move" else text)
        self.graph, self.old, self.new = graph, dict(old), dict(new)

    def do(self) -> None:
        for nid, pos in self.new.items():
            self.graph.move_node(nid, pos)

    def undo(self) -> None:
        for nid, pos in self.old.items():
            self.graph.move_node(nid, pos)


class PasteCommand(GraphCommand):
    """Adds copied nodes (fresh ids and names) and the edges among them, shifted by ``offset``."""

    def __init__(self, graph: Graph, clip: dict, offset: tuple[float, float]):
        nodes = clip.get("nodes") or []
        super().__init__(f"Paste {len(nodes)} layer{'s' * (len(nodes) != 1)}")
        self.graph, self.clip, self.offset = graph, clip, offset
        self.made: dict[str, tuple[str, str]] = {}  # copied id → (new id, new name)

    def do(self) -> None:
        first = not self.made
        added: list[str] = []
        try:
            for raw in self.clip.get("nodes") or []:
                x, y = raw.get("pos") or (0.0, 0.0)
                pos = (float(x) + self.offset[0], float(y) + self.offset[1])
                new_id, new_name = self.made.get(raw["id"], (None, None))
                node = self.graph.add_node(raw["type"], dict(raw.get("params") or {}), pos, new_id, new_name)
                added.append(node.id)
                if first:
                    self.made[raw["id"]] = (node.id, node.name)
            for src, src_port, dst, dst_port in self.clip.get("edges") or []:
                if src in self.made and dst in self.made:
                    self.graph.connect(self.made[src][0], src_port, self.made[dst][0], dst_port)
        except Exception:
            for nid in reversed(added):  # leave the graph as it was, then report
                self.graph.remove_node(nid)
            if first:
                self.made.clear()
            raise

    def undo(self) -> None:
        for new_id, _name in reversed(list(self.made.values())):
            self.graph.remove_node(new_id)

    @property
    def new_ids(self) -> list[str]:
        return [nid for nid, _name in self.made.values()]


class GroupCommand(GraphCommand):
    def __init__(self, groups: GroupSet, group: Group, ungroup: bool = False):
        super().__init__(f"{'Ungroup' if ungroup else 'Group'} {group.name}")
        self.groups, self.group, self.ungroup = groups, group, ungroup

    def do(self) -> None:
        if self.ungroup:
            self.groups.remove(self.group.id)
        else:
            self.groups.add(self.group)

    def undo(self) -> None:
        if self.ungroup:
            self.groups.add(self.group)
        else:
            self.groups.remove(self.group.id)


class CollapseCommand(GraphCommand):
    def __init__(self, groups: GroupSet, group_id: str, collapsed: bool):
        super().__init__(f"{'Collapse' if collapsed else 'Expand'} {groups.groups[group_id].name}")
        self.groups, self.group_id, self.collapsed = groups, group_id, collapsed

    def do(self) -> None:
        self.groups.set_collapsed(self.group_id, self.collapsed)

    def undo(self) -> None:
        self.groups.set_collapsed(self.group_id, not self.collapsed)
