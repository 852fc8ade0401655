"""The image-classification recipe: a small CNN or a local Hugging Face image model trained on an
image folder (one sub-folder per class) or an imported image dataset
(``worker/image_classifier.py``). Every weight trains, on one device."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainer_runtime.jobs.recipes import fields as f
from trainer_runtime.jobs.recipes.registry import DatasetRule, FormField, Recipe, register

if TYPE_CHECKING:
    from trainer_runtime.jobs.spec import JobSpec

NAME = "image-classification"
BUILTINS = ("small-cnn",)


def check_spec(spec: JobSpec) -> None:
    if not (spec.model.builtin in BUILTINS or spec.model.path):
        raise ValueError(
            f"recipe '{NAME}' trains model.builtin 'small-cnn' or a local "
            "Hugging Face image model folder (model.path)"
        )


def claim(spec: JobSpec) -> str | None:
    builtin = spec.model.builtin
    if builtin in BUILTINS:
        return f"model.builtin '{builtin}' is an image model: use recipe '{NAME}'"
    return None


def check_inputs(spec: JobSpec) -> None:
    from trainer_runtime.jobs.image_checks import check_image_classification

    check_image_classification(spec)


RECIPE = register(
    Recipe(
        name=NAME,
        title="Image classification",
        description="A small CNN or a local image model trained on an image folder with one sub-folder per class.",
        worker="trainer_runtime.worker.image_classifier:ImageClassificationTrainer",
        dataset=DatasetRule(
            materialize="images",
            pick="folder",
            modality="image",
            hint="an image folder with one sub-folder per class",
        ),  # fmt: skip
        model_sources=("builtin", "path"),
        builtin_models=BUILTINS,
        model_noun="an image model",
        max_devices=1,
        metrics=("loss", "lr", "grad_norm", "samples_per_s", "eval_loss", "eval_accuracy"),
        fields=(
            f.MAX_STEPS,
            f.BATCH_SIZE,
            FormField("train.lr", "Learning rate", "float", default=0.001, help=f.LR.help),
            *f.TRAINING[3:],
        ),  # fmt: skip
        check_spec=check_spec,
        claim=claim,
        check_inputs=check_inputs,
    )
)
