"""The client's calls for GPUs, MIG layouts and architecture graphs: each returns the
route's model (``api/schema/gpus.py``, ``api/schema/graphs.py``)."""

from __future__ import annotations

from typing import Any

from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.gpus import (
    GpuHistory,
    GpuList,
    MigApplied,
    MigPlan,
    MigProfiles,
    MigRecommendation,
)
from trainer_runtime.api.schema.graphs import GraphImported, GraphSummary
from trainer_runtime.client.transport import Transport


class GpuCalls(Transport):
    # ------------------------------------------------------------- GPUs / MIG
    def gpus(self) -> GpuList:
        return parse(GpuList, self.request("GET", "/v1/gpus"))

    def gpu_history(self, seconds: float = 3600) -> GpuHistory:
        return parse(GpuHistory, self.request("GET", "/v1/gpus/history", query={"seconds": seconds}))

    def mig_profiles(self, gpu: str) -> MigProfiles:
        return parse(MigProfiles, self.request("GET", "/v1/mig/profiles", query={"gpu": gpu}))

    def mig_plan(self, gpu: str, layout: list[Any]) -> MigPlan:
        return parse(MigPlan, self.request("POST", "/v1/mig/plan", {"gpu": gpu, "layout": layout}))

    def mig_apply(self, gpu: str, layout: list[Any], dry_run: bool = True) -> MigApplied:
        body = {"gpu": gpu, "layout": layout, "dry_run": dry_run}
        return parse(MigApplied, self.request("POST", "/v1/mig/apply", body))

    def mig_recommend(self, gpu: str) -> MigRecommendation:
        return parse(MigRecommendation, self.request("POST", "/v1/mig/recommend", {"gpu": gpu}))

    # ------------------------------------------------------------- architecture graphs
    def graph_import(
        self, target: str, input_shape: list[int], input_dtype: str = "float", cwd: str | None = None
    ) -> GraphImported:
        """Import ``module:factory`` as a graph in the daemon (its document, notes and method)."""
        body = {"target": target, "input_shape": list(input_shape), "input_dtype": input_dtype, "cwd": cwd}
        return parse(GraphImported, self.slow(330.0).request("POST", "/v1/graphs/import", body))

    def graph_check(self, graph: dict[str, Any]) -> GraphSummary:
        return parse(GraphSummary, self.request("POST", "/v1/graphs/check", {"graph": graph}))


__all__ = ["GpuCalls"]
