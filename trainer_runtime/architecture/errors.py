"""Typed errors of the architecture graph: each one knows the node it belongs to (if any)."""

from __future__ import annotations


class GraphError(Exception):
    """A problem with a graph; ``node_id`` names the node that causes it (None: the whole graph)."""

    def __init__(self, message: str, node_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.node_id = node_id

    def __str__(self) -> str:
        return self.message


class CycleError(GraphError):
    """An edge would close a cycle (the graph must stay acyclic)."""


class UnconnectedPortError(GraphError):
    """A required input port has no incoming edge."""

    def __init__(self, message: str, node_id: str | None = None, port: str = "") -> None:
        super().__init__(message, node_id)
        self.port = port


class ShapeError(GraphError):
    """The shapes reaching a node do not fit it; the message holds both shapes."""


class ParamError(GraphError):
    """A parameter value is invalid (wrong type, out of range, unknown name)."""

    def __init__(self, message: str, node_id: str | None = None, param: str = "") -> None:
        super().__init__(message, node_id)
        self.param = param


class GraphFormatError(GraphError):
    """A graph file cannot be read: malformed, not a graph file, or written by a newer version."""


class ModelImportError(GraphError):
    """A PyTorch model could not be turned into a graph (it cannot be traced, or a part has no form)."""
