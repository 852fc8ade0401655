"""``model: {builtin: small-cnn}``: a small convolutional image classifier (torch only).

This file is copied into ``final/`` of an image-classification job, so the trained model can be
rebuilt without this app: ``SmallCNN(**config["model_args"])`` + ``load_state_dict`` of
``model.safetensors``.
"""

from __future__ import annotations

import torch
from torch import nn


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class SmallCNN(nn.Module):
    """Three conv blocks (width w, 2w, 4w; 2×2 max-pooling after the first two), global average
    pooling, dropout and a linear head. Any image size of at least 4×4 pixels works."""

    def __init__(self, num_classes: int, channels: int = 3, width: int = 16, dropout: float = 0.1):
        super().__init__()
        self.features = nn.Sequential(
            _block(channels, width),
            nn.MaxPool2d(2),
            _block(width, 2 * width),
            nn.MaxPool2d(2),
            _block(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * width, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
