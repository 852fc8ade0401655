"""The client's calls for GPUs, MIG layouts and architecture graphs."""

from __future__ import annotations

from typing import Any

from trainer_runtime.client.transport import Transport


class GpuCalls(Transport):
    # ------------------------------------------------------------- GPUs / MIG
    def gpus(self) -> dict[str, Any]:
        return self.request("GET", "/v1/gpus")

    def gpu_history(self, seconds: float = 3600) -> dict[str, Any]:
        return self.request("GET", "/v1/gpus/history", query={"seconds": seconds})

    def mig_profiles(self, gpu: str) -> dict[str, Any]:
        return self.request("GET", "/v1/mig/profiles", query={"gpu": gpu})

    def mig_plan(self, gpu: str, layout: list[Any]) -> dict[str, Any]:
        return self.request("POST", "/v1/mig/plan", {"gpu": gpu, "layout": layout})

    def mig_apply(self, gpu: str, layout: list[Any], dry_run: bool = True) -> dict[str, Any]:
        return self.request("POST", "/v1/mig/apply", {"gpu": gpu, "layout": layout, "dry_run": dry_run})

    def mig_recommend(self, gpu: str) -> dict[str, Any]:
        return self.request("POST", "/v1/mig/recommend", {"gpu": gpu})

    # ------------------------------------------------------------- architecture graphs
    def graph_import(
        self, target: str, input_shape: list[int], input_dtype: str = "float", cwd: str | None = None
    ) -> dict[str, Any]:
        """Import ``module:factory`` as a graph in the daemon: {"graph", "notes", "method"}."""
        body = {"target": target, "input_shape": list(input_shape), "input_dtype": input_dtype, "cwd": cwd}
        return self.slow(330.0).request("POST", "/v1/graphs/import", body)

    def graph_check(self, graph: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/v1/graphs/check", {"graph": graph})


__all__ = ["GpuCalls"]
