"""What the image recipes (image classification, pre-labelling) read, checked without torch.

An image dataset reaches a worker as a folder: a plain image folder (one sub-folder per
class), or an imported dataset version that the daemon materialised as ``files/`` with
``labels.json`` beside it (``{"images": {path: manifest label or null}}``). A manifest label is
a class name, a comma-joined list of class names (COCO/YOLO imports) or an annotation JSON
(``{"tags": [...], "shapes": [...], ...}``, see the labeling contract).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trainer_runtime.architecture.dataset import image_classes
from trainer_runtime.datasets.formats import is_image
from trainer_runtime.jobs.spec import JobSpec, SpecError
from trainer_runtime.userfiles import UserFileError, check_folder

LABELS_FILE = "labels.json"
CLASSIFIER_MARKER = "image_classifier.json"  # in final/ of an image-classification job


def _annotation(label: str) -> dict[str, Any] | None:
    if not label.lstrip().startswith("{"):
        return None
    try:
        data = json.loads(label)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def single_class(label: str | None) -> str | None:
    """The one class of an image, or None (no label, several classes, shapes without one tag)."""
    if not label or not label.strip():
        return None
    ann = _annotation(label)
    if ann is not None:
        tags = [t for t in ann.get("tags") or [] if isinstance(t, str) and t]
        return tags[0] if len(tags) == 1 else None
    return None if "," in label else label.strip()


def is_unlabeled(label: str | None) -> bool:
    """No label, an empty one, or an annotation with neither tags nor shapes."""
    if not label or not label.strip():
        return True
    ann = _annotation(label)
    return ann is not None and not ann.get("tags") and not ann.get("shapes")


def manifest_labels(root: Path) -> dict[str, str | None] | None:
    """``labels.json`` beside a materialised version's ``files/``, or None for a plain folder."""
    path = Path(root).parent / LABELS_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SpecError([("dataset.name", f"{path} is unreadable ({err}); submit the job again")]) from None
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, dict):
        raise SpecError([("dataset.name", f"{path} has no 'images' mapping; submit the job again")])
    return {str(k): (v if isinstance(v, str) else None) for k, v in images.items()}


def all_images(root: Path, versioned: bool = True) -> dict[str, str | None]:
    """Every image of the dataset folder with its manifest label (None in a plain folder).
    ``versioned``: the folder is a materialised dataset version (the spec has a dataset hash)."""
    labels = manifest_labels(root) if versioned else None
    if labels is not None:
        return dict(sorted(labels.items()))
    out: dict[str, str | None] = {}
    for f in sorted(Path(root).rglob("*")):
        rel = f.relative_to(root).as_posix()
        if f.is_file() and is_image(rel) and not any(p.startswith(".") for p in rel.split("/")):
            out[rel] = None
    return out


def classified_images(root: Path, versioned: bool = True) -> list[tuple[str, str]]:
    """(path, class) of every image with exactly one class, sorted by path."""
    labels = manifest_labels(root) if versioned else None
    if labels is None:
        return [(f.relative_to(root).as_posix(), name) for name, files in image_classes(root) for f in files]
    out = []
    for path, label in sorted(labels.items()):
        cls = single_class(label)
        if cls is not None:
            out.append((path, cls))
    return out


def _dataset_folder(path: str | Path | None, who: str) -> Path:
    root = Path(path or "")
    try:
        if root.is_dir():
            check_folder(root, "dataset folder")  # not under /proc or /sys
    except UserFileError as err:
        raise SpecError([("dataset.path", err.message)]) from None
    if not root.is_dir():
        raise SpecError(
            [
                (
                    "dataset.path",
                    f"{who} reads an image folder (one sub-folder per class) or an "
                    f"imported image dataset (dataset.name); {root} is not a folder",
                )
            ]
        )
    return root


def check_image_folder(path: str | Path) -> list[str]:
    """A plain image folder an image-classification job can train on (the new-job form's check
    of a chosen folder) → its classes."""
    root = _dataset_folder(path, "image classification")
    return _enough_classes(sorted({c for _, c in classified_images(root, versioned=False)}))


def check_image_classification(spec: JobSpec) -> list[str]:
    """The dataset has at least two classes with images; a model folder has a config. → classes."""
    root = _dataset_folder(spec.dataset.path, f"recipe '{spec.recipe}'")
    items = classified_images(root, spec.dataset.hash is not None)
    classes = _enough_classes(sorted({c for _, c in items}))
    if spec.model.path:
        from trainer_runtime.jobs.checks import check_model_folder

        check_model_folder(spec.model.path)
    return classes


def _enough_classes(classes: list[str]) -> list[str]:
    if len(classes) < 2:
        found = f": {', '.join(classes)}" if classes else ""
        raise SpecError(
            [
                (
                    "dataset",
                    f"image classification needs at least two classes with images; this dataset has "
                    f"{len(classes)}{found}. Label more images or add a class folder.",
                )
            ]
        )
    return classes


def prelabel_model_kind(path: str | Path) -> str:
    """``tags`` for the final/ folder of an image-classification job, ``boxes`` for a Hugging
    Face object-detection model folder; SpecError for anything else."""
    p = Path(path)
    if (p / CLASSIFIER_MARKER).is_file():
        return "tags"
    from trainer_runtime.jobs.checks import check_model_folder

    if not p.is_dir():
        raise SpecError([("model.path", f"model folder not found: {p}")])
    if not (p / "config.json").is_file():
        raise SpecError(
            [
                (
                    "model.path",
                    f"{p} is neither the final/ folder of an image-classification job (no "
                    f"{CLASSIFIER_MARKER}) nor a Hugging Face model folder (no config.json)",
                )
            ]
        )
    config = check_model_folder(p)
    archs = [a for a in config.get("architectures") or [] if isinstance(a, str)]
    if archs and not any(a.endswith("ForObjectDetection") for a in archs):
        raise SpecError(
            [
                (
                    "model.path",
                    f"{p} holds a {', '.join(archs)} model; pre-labelling needs an object-detection model "
                    "(…ForObjectDetection) or the final/ folder of an image-classification job",
                )
            ]
        )
    return "boxes"


def check_prelabel(spec: JobSpec) -> str:
    _dataset_folder(spec.dataset.path, f"recipe '{spec.recipe}'")
    return prelabel_model_kind(spec.model.path or "")
