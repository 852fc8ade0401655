"""The prelabel recipe: a trained classifier (the final/ folder of an image-classification job)
or a Hugging Face object-detection model run over an imported dataset version's images, writing
label suggestions (``worker/prelabel.py``). Trains nothing; started from the Labeling panel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainer_runtime.jobs.recipes.registry import DatasetRule, Recipe, register

if TYPE_CHECKING:
    from trainer_runtime.jobs.spec import JobSpec

NAME = "prelabel"


def check_spec(spec: JobSpec) -> None:
    if not spec.model.path:
        raise ValueError(
            f"recipe '{NAME}' runs a model folder (model.path): the final/ folder of an "
            "image-classification job or a Hugging Face object-detection model"
        )
    if spec.dataset.name is None:
        raise ValueError(f"recipe '{NAME}' runs over an imported dataset: give dataset.name and version")


def check_inputs(spec: JobSpec) -> None:
    from trainer_runtime.jobs.image_checks import check_prelabel

    check_prelabel(spec)


RECIPE = register(
    Recipe(
        name=NAME,
        title="Pre-label images",
        description="Suggest tags or boxes for a dataset version's images with a trained model.",
        worker="trainer_runtime.worker.prelabel:PrelabelRunner",
        dataset=DatasetRule(
            materialize="images",
            pick="folder",
            modality="image",
            hint="an imported image dataset",
            stored_only=True,
        ),  # fmt: skip
        model_sources=("path",),
        max_devices=1,
        sections=("prelabel",),
        trains=False,
        metrics=("images_per_s", "suggestions"),
        wizard=False,
        check_spec=check_spec,
        check_inputs=check_inputs,
    )
)
