"""The graph recipe: train an architecture-builder graph on an image folder or a CSV.

The loop (events, pause, atomic checkpoints, RNG capture, LR schedule, evaluation) is the
supervised recipes' shared one (``supervised.py``); this module builds the graph's module and
data and writes ``final/`` (the exported PyTorch source, the graph and its weights).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from safetensors.torch import save_file

from trainer_runtime.architecture.build import build_module
from trainer_runtime.architecture.codegen import export_source
from trainer_runtime.architecture.dataset import GraphJobError, check_graph_job
from trainer_runtime.worker.errors import WorkerError
from trainer_runtime.worker.graph_data import load_data
from trainer_runtime.worker.supervised import SupervisedTrainer, lr_factor

__all__ = ["GraphTrainer", "lr_factor"]


class GraphTrainer(SupervisedTrainer):
    recipe = "graph"

    def build(self) -> None:
        spec = self.spec
        try:
            self.task = check_graph_job(spec.model.graph, spec.dataset.path)
        except GraphJobError as err:
            raise WorkerError(f"{err.field}: {err.message}") from None
        self.loss_kind = self.task.loss
        self.data = load_data(spec.dataset.path, self.task, spec.dataset.eval_fraction, self.t.seed)
        self.model = build_module(self.task.graph)

    def describe(self) -> str:
        return f"graph {self.spec.model.graph}"

    def output_size(self) -> int:
        return math.prod(self.task.output_shape)

    def save_final(self) -> None:
        final = Path(self.job.job_dir) / "final"
        final.mkdir(exist_ok=True)
        (final / "model.py").write_text(export_source(self.task.graph), encoding="utf-8")
        self.task.graph.save(final / "graph.json")
        weights = {k: v.detach().to("cpu").contiguous() for k, v in self.model.state_dict().items()}
        save_file(weights, str(final / "model.safetensors"))
        if self.data.classes:
            (final / "classes.json").write_text(json.dumps(self.data.classes) + "\n", encoding="utf-8")
