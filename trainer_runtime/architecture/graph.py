"""The architecture graph: nodes, edges, validated mutations, listeners and the JSON format."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalogue import LAYERS, LayerDef
from .errors import CycleError, GraphError, GraphFormatError, ParamError
from .params import check_params, check_value

FORMAT = "sparktrainer-graph"
VERSION = 1
MAX_GRAPH_FILE = 32 << 20  # a 500-node graph is ~100 KiB

Listener = Callable[[str, dict[str, Any]], None]


@dataclass
class Node:
    id: str
    type: str
    params: dict[str, Any]
    pos: tuple[float, float] = (0.0, 0.0)
    name: str = ""

    @property
    def layer(self) -> LayerDef:
        return LAYERS[self.type]

    @property
    def label(self) -> str:
        return f"{self.type} '{self.name or self.id}'"


@dataclass(frozen=True)
class Edge:
    src: str
    src_port: str
    dst: str
    dst_port: str


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    # free-form JSON data kept with the file for the editor (groups, view); not used by inference
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._listeners: list[Listener] = []

    # -- listeners -------------------------------------------------------------------------
    def subscribe(self, callback: Listener) -> Callable[[], None]:
        """Call ``callback(event, payload)`` after every mutation; returns an unsubscribe function."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _emit(self, event: str, **payload: Any) -> None:
        for cb in list(self._listeners):
            cb(event, payload)

    # -- queries ---------------------------------------------------------------------------
    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise GraphError(f"There is no node '{node_id}' in the graph.", node_id) from None

    def in_edges(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.dst == node_id]

    def out_edges(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.src == node_id]

    def _reaches(self, start: str, goal: str) -> bool:
        succ: dict[str, list[str]] = {}
        for e in self.edges:
            succ.setdefault(e.src, []).append(e.dst)
        seen, stack = {start}, [start]
        while stack:
            cur = stack.pop()
            if cur == goal:
                return True
            for nxt in succ.get(cur, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    def topological_order(self) -> list[str]:
        """Node ids, every node after its inputs (ties in insertion order); CycleError on a cycle."""
        indeg = {nid: 0 for nid in self.nodes}
        succ: dict[str, list[str]] = {nid: [] for nid in self.nodes}
        for e in self.edges:
            indeg[e.dst] += 1
            succ[e.src].append(e.dst)
        ready = [nid for nid, d in indeg.items() if d == 0]
        order: list[str] = []
        i = 0
        while i < len(ready):
            nid = ready[i]
            i += 1
            order.append(nid)
            for nxt in succ[nid]:
                indeg[nxt] -= 1
                if indeg[nxt] == 0:
                    ready.append(nxt)
        if len(order) < len(self.nodes):
            stuck = next(nid for nid, d in indeg.items() if d > 0)
            raise CycleError(f"{self.nodes[stuck].label} is part of a cycle; remove one of its edges.", stuck)
        return order

    # -- mutations -------------------------------------------------------------------------
    def _new_id(self) -> str:
        n = len(self.nodes) + 1
        while f"n{n}" in self.nodes:
            n += 1
        return f"n{n}"

    def _new_name(self, type_: str) -> str:
        base = re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", type_).lower()
        taken = {n.name for n in self.nodes.values()}
        k = 1
        while f"{base}{k}" in taken:
            k += 1
        return f"{base}{k}"

    def add_node(
        self,
        type: str,
        params: dict[str, Any] | None = None,
        pos: tuple[float, float] = (0.0, 0.0),
        node_id: str | None = None,
        name: str | None = None,
    ) -> Node:
        if type not in LAYERS:
            raise GraphError(f"Unknown layer type '{type}'; choose one of: {', '.join(LAYERS)}.", node_id)
        if node_id is not None and node_id in self.nodes:
            raise GraphError(f"A node with id '{node_id}' already exists.", node_id)
        nid = node_id or self._new_id()
        nm = name or self._new_name(type)
        full = check_params(LAYERS[type], params or {}, nid, f"{type} '{nm}'")
        node = Node(nid, type, full, (float(pos[0]), float(pos[1])), nm)
        self.nodes[nid] = node
        self._emit("node_added", node=node)
        return node

    def remove_node(self, node_id: str) -> tuple[Node, list[Edge]]:
        node = self.node(node_id)
        removed = [e for e in self.edges if e.src == node_id or e.dst == node_id]
        for e in removed:
            self.edges.remove(e)
            self._emit("edge_removed", edge=e)
        del self.nodes[node_id]
        self._emit("node_removed", node=node, edges=removed)
        return node, removed

    def restore_node(self, node: Node, edges: Iterable[Edge] = ()) -> None:
        """Undo ``remove_node``: put the node and its edges back."""
        if node.id in self.nodes:
            raise GraphError(f"A node with id '{node.id}' already exists.", node.id)
        self.nodes[node.id] = node
        self._emit("node_added", node=node)
        for e in edges:
            self.connect(e.src, e.src_port, e.dst, e.dst_port)

    def connect(self, src: str, src_port: str, dst: str, dst_port: str) -> Edge:
        s, d = self.node(src), self.node(dst)
        if src_port not in {p.name for p in s.layer.outputs}:
            outs = ", ".join(p.name for p in s.layer.outputs) or "none"
            raise GraphError(f"{s.label} has no output port '{src_port}' (its outputs: {outs}).", src)
        port = next((p for p in d.layer.inputs if p.name == dst_port), None)
        if port is None:
            ins = ", ".join(p.name for p in d.layer.inputs) or "none"
            raise GraphError(f"{d.label} has no input port '{dst_port}' (its inputs: {ins}).", dst)
        edge = Edge(src, src_port, dst, dst_port)
        if edge in self.edges:
            raise GraphError(f"{s.label} is already connected to {d.label}.{dst_port}.", dst)
        if src == dst or self._reaches(dst, src):
            raise CycleError(
                f"Connecting {s.label} to {d.label} would close a cycle; a network must flow one way.", dst
            )
        if not port.multi and any(e.dst == dst and e.dst_port == dst_port for e in self.edges):
            raise GraphError(
                f"Input '{dst_port}' of {d.label} is already connected; disconnect it first.", dst
            )
        self.edges.append(edge)
        self._emit("edge_added", edge=edge)
        return edge

    def disconnect(self, edge: Edge) -> None:
        if edge not in self.edges:
            raise GraphError("That edge is not in the graph.", edge.dst)
        self.edges.remove(edge)
        self._emit("edge_removed", edge=edge)

    def set_param(self, node_id: str, name: str, value: Any) -> Any:
        node = self.node(node_id)
        pdef = node.layer.param(name)
        if pdef is None:
            raise ParamError(f"{node.label} has no parameter '{name}'.", node_id, name)
        new = check_value(pdef, value, node_id, node.label)
        old = node.params.get(name)
        node.params[name] = new
        self._emit("param_changed", node_id=node_id, name=name, old=old, new=new)
        return old

    def move_node(self, node_id: str, pos: tuple[float, float]) -> None:
        node = self.node(node_id)
        old = node.pos
        node.pos = (float(pos[0]), float(pos[1]))
        self._emit("node_moved", node_id=node_id, pos=node.pos, old=old)

    def rename_node(self, node_id: str, name: str) -> str:
        node = self.node(node_id)
        if not isinstance(name, str) or not name.strip():
            raise GraphError(f"{node.label}: a node name cannot be empty.", node_id)
        old = node.name
        node.name = name.strip()
        self._emit("node_renamed", node_id=node_id, name=node.name, old=old)
        return old

    # -- JSON ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "nodes": [
                {
                    "id": n.id,
                    "type": n.type,
                    "name": n.name,
                    "pos": list(n.pos),
                    "params": {k: list(v) if isinstance(v, tuple) else v for k, v in n.params.items()},
                }
                for n in self.nodes.values()
            ],
            "edges": [[e.src, e.src_port, e.dst, e.dst_port] for e in self.edges],
            **({"meta": self.meta} if self.meta else {}),
        }

    @classmethod
    def from_dict(cls, d: Any, source: str = "the graph data") -> Graph:
        return _from_dict(cls, d, source)

    def save(self, path: str | Path) -> None:
        p = Path(path)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        tmp.replace(p)

    @classmethod
    def load(cls, path: str | Path) -> Graph:
        """Read a graph file: a regular file (not a FIFO or device) of at most MAX_GRAPH_FILE."""
        from trainer_runtime.userfiles import UserFileError, display, read_bytes

        p = Path(path)
        try:
            raw = read_bytes(p, "graph file", MAX_GRAPH_FILE)
        except UserFileError as exc:
            raise GraphFormatError(f"Cannot read the graph file: {exc.message}.") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GraphFormatError(f"{display(p)} is not a graph file (it is not UTF-8 text).") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GraphFormatError(
                f"{display(p)} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
            ) from exc
        except RecursionError:
            raise GraphFormatError(
                f"{display(p)} is not a graph file (its JSON is nested too deeply)."
            ) from None
        return cls.from_dict(data, display(p))


def _from_dict(cls: type[Graph], d: Any, source: str) -> Graph:
    def bad(why: str) -> GraphFormatError:
        return GraphFormatError(f"{source} is not a usable graph file: {why}.")

    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise bad(f'it lacks "format": "{FORMAT}"')
    version = d.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise bad('"version" must be a whole number')
    if version > VERSION:
        raise GraphFormatError(
            f"{source} was written by a newer SparkTrainer (graph format version {version}; this one "
            f"reads up to {VERSION}). Update SparkTrainer to open it."
        )
    if version < 1:
        raise bad(f"unknown graph format version {version}")
    nodes, edges = d.get("nodes"), d.get("edges")
    if not isinstance(nodes, list) or not isinstance(edges, list):
        raise bad('"nodes" and "edges" must be lists')
    meta = d.get("meta", {})
    if not isinstance(meta, dict):
        raise bad('"meta" must be an object')
    g = cls(meta=dict(meta))
    for i, raw in enumerate(nodes):
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
            raise bad(f"node #{i + 1} needs a non-empty string 'id'")
        if not isinstance(raw.get("type"), str):
            raise bad(f"node '{raw['id']}' needs a string 'type'")
        params = raw.get("params", {})
        pos = raw.get("pos", [0, 0])
        name = raw.get("name") or None
        if not isinstance(params, dict):
            raise bad(f"node '{raw['id']}' has 'params' that is not an object")
        if (
            not isinstance(pos, list)
            or len(pos) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pos)
        ):
            raise bad(f"node '{raw['id']}' has a 'pos' that is not [x, y]")
        if name is not None and not isinstance(name, str):
            raise bad(f"node '{raw['id']}' has a 'name' that is not text")
        g.add_node(raw["type"], params, (pos[0], pos[1]), node_id=raw["id"], name=name)
    for i, raw in enumerate(edges):
        if not isinstance(raw, list) or len(raw) != 4 or not all(isinstance(v, str) for v in raw):
            raise bad(f"edge #{i + 1} must be [source id, source port, target id, target port]")
        g.connect(*raw)
    return g
