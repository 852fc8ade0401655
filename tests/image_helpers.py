"""Tiny Hugging Face image models built from configs (no download) and image-recipe specs."""

from __future__ import annotations

from pathlib import Path


def tiny_vit_classifier(folder: Path, num_labels: int = 2, size: int = 16) -> Path:
    """A random ViT image classifier with its image processor, saved with save_pretrained."""
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    config = ViTConfig(
        image_size=size, patch_size=4, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, num_labels=num_labels,
    )  # fmt: skip
    ViTForImageClassification(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": size, "width": size}).save_pretrained(folder)
    return folder


def tiny_yolos_detector(folder: Path, labels: tuple[str, ...] = ("stripes", "checks")) -> Path:
    """A random YOLOS object detector (4 detection tokens) with its image processor."""
    import torch
    from transformers import YolosConfig, YolosForObjectDetection, YolosImageProcessor

    torch.manual_seed(0)
    config = YolosConfig(
        image_size=[32, 32], patch_size=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, num_detection_tokens=4, num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id={n: i for i, n in enumerate(labels)},
    )  # fmt: skip
    YolosForObjectDetection(config).save_pretrained(folder)
    YolosImageProcessor(size={"shortest_edge": 32, "longest_edge": 32}).save_pretrained(folder)
    return folder


def image_spec(data: Path | str, model: dict | None = None, **train) -> dict:
    """An image-classification spec on a folder path that trains in a few seconds on a CPU."""
    t = {"max_steps": 30, "batch_size": 16, "lr": 0.01, "eval_every": 10, "seed": 1, **train}
    return {
        "name": "img",
        "recipe": "image-classification",
        "model": model or {"builtin": "small-cnn"},
        "dataset": {"path": str(data), "eval_fraction": 0.25},
        "train": t,
    }
