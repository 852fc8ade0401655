"""The image-classification recipe: a small CNN or a local Hugging Face image model, trained on
an image folder or an imported image dataset version, with accuracy as its eval metric.

The loop, checkpoints and exact pause/resume are the supervised recipes' (``supervised.py``).
An image trains with class C when its manifest label is the plain name C or an annotation whose
tags are exactly [C]; images without exactly one class are left out (and counted in the log).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from trainer_runtime.jobs.image_checks import all_images, check_image_classification, classified_images
from trainer_runtime.jobs.spec import SpecError
from trainer_runtime.worker.errors import WorkerError
from trainer_runtime.worker.image_data import ImageData
from trainer_runtime.worker.image_models import Classifier, build_classifier, save_classifier
from trainer_runtime.worker.supervised import SupervisedTrainer

log = logging.getLogger(__name__)


class ImageClassificationTrainer(SupervisedTrainer):
    recipe = "image-classification"
    clf: Classifier

    def build(self) -> None:
        spec = self.spec
        try:
            classes = check_image_classification(spec)
        except SpecError as err:
            raise WorkerError(str(err)) from None
        root = Path(spec.dataset.path or "")
        index = {c: i for i, c in enumerate(classes)}
        versioned = spec.dataset.hash is not None
        items = [(rel, index[c]) for rel, c in classified_images(root, versioned)]
        self.clf = build_classifier(spec.model, classes, self.t.image_size)
        mode = self.clf.preprocess.mode if self.clf.preprocess else "RGB"
        self.data = ImageData(
            root, items, classes, self.clf.transform, spec.dataset.eval_fraction, self.t.seed, mode
        )
        self.model = self.clf.model
        left_out = len(all_images(root, versioned)) - len(items)
        log.info(
            "%d images in %d classes (%s); %d image(s) without exactly one class left out",
            len(items), len(classes), ", ".join(classes), max(left_out, 0),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.clf.logits(x)

    def describe(self) -> str:
        model = self.spec.model.builtin or self.spec.model.path
        return f"image classifier {model} ({len(self.clf.classes)} classes)"

    def save_final(self) -> None:
        save_classifier(self.clf, Path(self.job.job_dir) / "final")
