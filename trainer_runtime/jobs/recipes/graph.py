"""The graph recipe: an architecture-builder graph (``model.graph``) trained on an image folder or
a numeric CSV (``worker/graph_trainer.py``). Submitted from the Builder panel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainer_runtime.jobs.recipes import fields as f
from trainer_runtime.jobs.recipes.registry import DatasetRule, Recipe, register

if TYPE_CHECKING:
    from trainer_runtime.jobs.spec import JobSpec

NAME = "graph"
WRONG = f"recipe '{NAME}' trains a model.graph file, and a model.graph needs recipe '{NAME}'"


def check_spec(spec: JobSpec) -> None:
    if spec.model.graph is None:
        raise ValueError(WRONG)


def claim(spec: JobSpec) -> str | None:
    return WRONG if spec.model.graph is not None else None


def check_inputs(spec: JobSpec) -> None:
    from trainer_runtime.architecture.dataset import GraphJobError, check_graph_job
    from trainer_runtime.jobs.spec import SpecError

    try:
        check_graph_job(spec.model.graph or "", spec.dataset.path or "")
    except GraphJobError as err:
        raise SpecError([(err.field, err.message)]) from None


RECIPE = register(
    Recipe(
        name=NAME,
        title="Builder graph",
        description="Train a network drawn in the Builder on an image folder or a numeric CSV.",
        worker="trainer_runtime.worker.graph_trainer:GraphTrainer",
        dataset=DatasetRule(materialize="files", pick="file", hint="an image folder or a .csv file"),
        model_sources=("graph",),
        max_devices=1,
        metrics=("loss", "lr", "grad_norm", "samples_per_s", "eval_loss", "eval_accuracy"),
        fields=f.TRAINING,
        wizard=False,
        check_spec=check_spec,
        claim=claim,
        check_inputs=check_inputs,
    )
)
