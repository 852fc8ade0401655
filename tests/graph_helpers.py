"""Generated datasets and graphs for tests of the graph recipe."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from trainer_runtime.architecture.graph import Graph
from trainer_runtime.architecture.templates import chain


def make_image_folder(root: Path, per_class: int = 24, size: int = 16, seed: int = 0) -> Path:
    """Three classes of patterned PNGs in random colours: horizontal stripes, vertical stripes, checks."""
    from PIL import Image

    rng = random.Random(seed)
    patterns = {
        "horizontal": lambda x, y, p: (y // p) % 2 == 0,
        "vertical": lambda x, y, p: (x // p) % 2 == 0,
        "checks": lambda x, y, p: ((x // p) + (y // p)) % 2 == 0,
    }
    for name, on in patterns.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            fg = tuple(rng.randrange(128, 256) for _ in range(3))
            bg = tuple(rng.randrange(0, 100) for _ in range(3))
            period, shift = rng.choice((2, 3, 4)), rng.randrange(4)
            img = Image.new("RGB", (size, size))
            img.putdata(
                [fg if on(x + shift, y + shift, period) else bg for y in range(size) for x in range(size)]
            )
            img.save(folder / f"{i:03d}.png")
    return root


def make_csv(path: Path, rows: int = 240, classify: bool = False, seed: int = 0) -> Path:
    """Four numeric features; target = 2*a - b + 0.5*c (regression) or its sign as 'pos'/'neg'."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "c", "d", "target"])
        for _ in range(rows):
            a, b, c, d = (rng.uniform(-1, 1) for _ in range(4))
            y = 2 * a - b + 0.5 * c + rng.gauss(0, 0.05)
            w.writerow(
                [
                    f"{a:.4f}",
                    f"{b:.4f}",
                    f"{c:.4f}",
                    f"{d:.4f}",
                    ("pos" if y > 0 else "neg") if classify else f"{y:.4f}",
                ]
            )
    return path


def image_cnn(classes: int = 3) -> Graph:
    return chain(
        [
            ("Input", {"shape": (3, 16, 16)}),
            ("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}),
            ("ReLU", {}),
            ("MaxPool2d", {"kernel_size": 2, "stride": 2}),
            ("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}),
            ("ReLU", {}),
            ("AdaptiveAvgPool2d", {"output_size": 1}),
            ("Flatten", {}),
            ("Linear", {"out_features": classes}),
            ("Output", {"loss": "cross_entropy"}),
        ]
    )


def tabular_mlp(outputs: int = 1, loss: str = "mse") -> Graph:
    return chain(
        [
            ("Input", {"shape": (4,)}),
            ("Linear", {"out_features": 32}),
            ("ReLU", {}),
            ("Linear", {"out_features": outputs}),
            ("Output", {"loss": loss}),
        ]
    )
