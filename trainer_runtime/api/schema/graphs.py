"""The contract of the architecture graph routes (``/v1/graphs/import``, ``/v1/graphs/check``).

A graph itself travels as its document (``Graph.to_dict()``, versioned by its own ``version``
field and checked by ``Graph.from_dict``): it is a file format the builder saves too, so the
contract carries it as a JSON object and types what the daemon says about it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from trainer_runtime.api.schema.base import AbsPath, Strict, View


class ImportBody(Strict):
    target: str = Field(..., min_length=3, max_length=500, pattern=r"^[\w.]+:[\w.]+$")
    input_shape: list[Annotated[int, Field(ge=1, le=1_000_000)]] = Field(..., min_length=1, max_length=8)
    input_dtype: Literal["float", "long"] = "float"
    cwd: AbsPath | None = Field(None, description="folder added to the Python path to find the module")


class CheckBody(Strict):
    graph: dict[str, Any] = Field(description="a graph document (Graph.to_dict())")


class GraphImported(View):
    graph: dict[str, Any] = Field(description="the graph document")
    notes: list[str] = Field(description="what the import could not carry over exactly")
    method: str = Field(description="torch.fx or torch.export")


class GraphProblem(View):
    node: str | None = Field(description="the node it concerns; null: the whole graph")
    type: str = Field(description="the kind of problem (the GraphError subclass)")
    message: str


class NodeSummary(View):
    id: str
    type: str
    name: str
    shape: list[int | None] | None = Field(description="per-sample output shape, no batch dimension")
    value: bool = Field(description="the output is a plain value, not a tensor")
    params: int | None
    flops: int | None
    errors: list[GraphProblem]


class GraphSummary(View):
    ok: bool
    nodes: list[NodeSummary] = Field(description="in topological order (file order with a cycle)")
    graph_errors: list[GraphProblem]
    total_params: int
    total_flops: int


__all__ = ["CheckBody", "GraphImported", "GraphProblem", "GraphSummary", "ImportBody", "NodeSummary"]
