"""Image classifiers of the ``image-classification`` recipe: build, save to ``final/``, reload.

Two kinds: ``small-cnn`` (``small_cnn.py``, torch only) and any local Hugging Face
image-classification model folder (``AutoModelForImageClassification``, with its
``AutoImageProcessor`` when the folder has one; transformers is imported only for this kind).
``final/`` holds the weights, ``classes.json`` (class names by index) and
``image_classifier.json`` (kind, classes, preprocessing), which ``load_classifier`` reads back.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from trainer_runtime.jobs.image_checks import CLASSIFIER_MARKER
from trainer_runtime.worker import small_cnn
from trainer_runtime.worker.errors import WorkerError
from trainer_runtime.worker.image_data import Preprocess, Transform

log = logging.getLogger(__name__)
SMALL_CNN_SIZE = 32
SMALL_CNN_WIDTH = 16


@dataclass
class Classifier:
    """A model that maps a (N, C, H, W) batch to class logits, and how to feed it."""

    kind: str  # small-cnn | hf
    model: torch.nn.Module
    classes: list[str]
    transform: Transform
    preprocess: Preprocess | None  # None: the HF image processor is the transform
    processor: Any = None
    model_args: dict[str, Any] | None = None

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "hf":
            return self.model(pixel_values=x).logits
        return self.model(x)

    @torch.no_grad()
    def probabilities(self, images: list[Any]) -> torch.Tensor:
        self.model.eval()
        return torch.softmax(self.logits(self.transform(images)), dim=-1)


def _hf_processor(path: Path) -> Any:
    if not (path / "preprocessor_config.json").is_file():
        return None
    from transformers import AutoImageProcessor

    try:
        return AutoImageProcessor.from_pretrained(str(path))
    except (OSError, ValueError) as err:
        raise WorkerError(f"cannot load the image processor in {path}: {err}") from None


def _hf_transform(processor: Any) -> Transform:
    def transform(images: list[Any]) -> torch.Tensor:
        return processor(images=images, return_tensors="pt")["pixel_values"]

    return transform


def _preprocess_for(config: Any, processor: Any, image_size: int | None) -> Preprocess | None:
    """Our own resizing when there is no processor, or when train.image_size overrides it."""
    if processor is not None and image_size is None:
        return None
    size = image_size or getattr(config, "image_size", None) or 224
    if isinstance(size, list | tuple):
        h, w = int(size[0]), int(size[-1])
    else:
        h = w = int(size)
    channels = int(getattr(config, "num_channels", 3) or 3)
    if channels not in (1, 3, 4):
        raise WorkerError(f"the model reads {channels}-channel images; only 1, 3 or 4 channels are supported")
    mean = tuple(getattr(processor, "image_mean", None) or (0.5,) * channels)
    std = tuple(getattr(processor, "image_std", None) or (0.5,) * channels)
    return Preprocess(h, w, channels, mean, std)


def build_classifier(model_spec: Any, classes: list[str], image_size: int | None) -> Classifier:
    """A fresh classifier for ``classes`` (call after seeding torch: the head's init depends on it)."""
    if model_spec.builtin == "small-cnn":
        size = image_size or SMALL_CNN_SIZE
        args = {"num_classes": len(classes), "channels": 3, "width": SMALL_CNN_WIDTH}
        own = Preprocess(size, size)
        return Classifier("small-cnn", small_cnn.SmallCNN(**args), classes, own, own, model_args=args)
    path = Path(model_spec.path)
    from transformers import AutoConfig, AutoModelForImageClassification
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    labels = dict(enumerate(classes))
    try:
        config = AutoConfig.from_pretrained(str(path))
        model = AutoModelForImageClassification.from_pretrained(
            str(path), num_labels=len(classes), id2label=labels, label2id={c: i for i, c in labels.items()},
            ignore_mismatched_sizes=True,
        )  # fmt: skip
    except (OSError, ValueError, KeyError) as err:
        raise WorkerError(
            f"cannot load {path} as a Hugging Face image-classification model: {str(err).splitlines()[0]}"
        ) from None
    processor = _hf_processor(path)
    pre = _preprocess_for(config, processor, image_size)
    transform = pre if pre is not None else _hf_transform(processor)
    return Classifier("hf", model, classes, transform, pre, processor)


def save_classifier(clf: Classifier, final: Path) -> None:
    final.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {"format": 1, "kind": clf.kind, "classes": clf.classes}
    if clf.preprocess is not None:
        meta["preprocess"] = clf.preprocess.to_json()
    if clf.kind == "small-cnn":
        weights = {k: v.detach().to("cpu").contiguous() for k, v in clf.model.state_dict().items()}
        save_file(weights, str(final / "model.safetensors"))
        shutil.copyfile(small_cnn.__file__, final / "small_cnn.py")
        meta["model_args"] = clf.model_args
    else:
        hf_model: Any = clf.model
        hf_model.save_pretrained(str(final))
        if clf.processor is not None:
            clf.processor.save_pretrained(str(final))
    (final / "classes.json").write_text(json.dumps(clf.classes) + "\n", encoding="utf-8")
    (final / CLASSIFIER_MARKER).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def load_classifier(final: str | Path, device: torch.device | str = "cpu") -> Classifier:
    """Reload ``final/`` of an image-classification job for inference."""
    final = Path(final)
    try:
        meta = json.loads((final / CLASSIFIER_MARKER).read_text(encoding="utf-8"))
        classes = [str(c) for c in meta["classes"]]
        kind = meta["kind"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise WorkerError(f"{final} is not the final/ folder of an image-classification job: {err}") from None
    pre = Preprocess.from_json(meta["preprocess"]) if meta.get("preprocess") else None
    if kind == "small-cnn":
        model = small_cnn.SmallCNN(**meta["model_args"])
        model.load_state_dict(load_file(str(final / "model.safetensors")))
        assert pre is not None
        clf = Classifier(kind, model, classes, pre, pre, model_args=meta["model_args"])
    else:
        from transformers import AutoModelForImageClassification

        model = AutoModelForImageClassification.from_pretrained(str(final))
        processor = _hf_processor(final)
        transform = pre if pre is not None else _hf_transform(processor)
        clf = Classifier("hf", model, classes, transform, pre, processor)
    clf.model.to(device).eval()
    return clf
