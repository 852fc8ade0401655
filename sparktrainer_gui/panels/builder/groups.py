"""Named groups of nodes (a view-level idea: the graph itself stays flat), as a small pure
model with listeners, like the graph's. A collapsed group is drawn as one block showing the
shapes that enter and leave it. Saved in the graph file under ``"groups"`` (readers that
do not know the key ignore it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

GroupListener = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    members: frozenset[str]
    collapsed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "members": sorted(self.members),
            "collapsed": self.collapsed,
        }


@dataclass
class GroupSet:
    groups: dict[str, Group] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._listeners: list[GroupListener] = []

    def subscribe(self, callback: GroupListener) -> Callable[[], None]:
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _emit(self, event: str, **payload: Any) -> None:
        for cb in list(self._listeners):
            cb(event, payload)

    def new_id(self) -> str:
        n = len(self.groups) + 1
        while f"g{n}" in self.groups:
            n += 1
        return f"g{n}"

    def group_of(self, node_id: str) -> Group | None:
        return next((g for g in self.groups.values() if node_id in g.members), None)

    def add(self, group: Group) -> Group:
        if group.id in self.groups:
            raise ValueError(f"A group with id '{group.id}' already exists.")
        if len(group.members) < 1:
            raise ValueError("Select at least one layer to group.")
        taken = {n for g in self.groups.values() for n in g.members} & group.members
        if taken:
            raise ValueError(f"{', '.join(sorted(taken))} already belong to a group; ungroup them first.")
        self.groups[group.id] = group
        self._emit("group_added", group=group)
        return group

    def remove(self, group_id: str) -> Group:
        group = self.groups.pop(group_id)
        self._emit("group_removed", group=group)
        return group

    def set_collapsed(self, group_id: str, collapsed: bool) -> bool:
        group = self.groups[group_id]
        self.groups[group_id] = replace(group, collapsed=collapsed)
        self._emit("group_changed", group=self.groups[group_id])
        return group.collapsed

    def to_list(self) -> list[dict[str, Any]]:
        return [g.to_dict() for g in self.groups.values()]

    @classmethod
    def from_list(cls, raw: Any, known_nodes: Iterable[str]) -> GroupSet:
        """Groups from a graph file; entries that are malformed or name unknown nodes are dropped
        (groups only change how the graph is drawn)."""
        known = set(known_nodes)
        result = cls()
        for item in raw if isinstance(raw, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            members = frozenset(m for m in item.get("members") or [] if isinstance(m, str) and m in known)
            if members and item["id"] not in result.groups:
                name = str(item.get("name") or item["id"])
                result.groups[item["id"]] = Group(item["id"], name, members, bool(item.get("collapsed")))
        return result


def boundary(members: frozenset[str], edges: Iterable[Any]) -> tuple[list[Any], list[Any]]:
    """The edges that enter the group and those that leave it (edges have .src and .dst)."""
    entering, leaving = [], []
    for e in edges:
        inside_src, inside_dst = e.src in members, e.dst in members
        if inside_dst and not inside_src:
            entering.append(e)
        elif inside_src and not inside_dst:
            leaving.append(e)
    return entering, leaving
