"""Images for the image recipes: decoding, preprocessing and a step-addressed training set.

Images are decoded when a batch needs them (a bounded cache keeps decoded tensors), so a large
dataset never has to fit in memory; the batch of a step comes from the step alone
(``graph_data.batch_indices``), so a resumed run sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainer_runtime.worker.errors import WorkerError
from trainer_runtime.worker.graph_data import batch_indices, split_indices

CACHE_BYTES = 512 << 20
MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def open_image(path: Path, mode: str = "RGB") -> Any:
    """A decoded PIL image in ``mode``; WorkerError naming the file when it cannot be decoded."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.convert(mode)
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise WorkerError(f"cannot read image {path}: {err}. Remove or replace the file.") from None


@dataclass(frozen=True)
class Preprocess:
    """Resize to ``height``×``width``, scale to 0..1, normalise by ``mean``/``std`` per channel."""

    height: int
    width: int
    channels: int = 3
    mean: tuple[float, ...] = (0.5, 0.5, 0.5)
    std: tuple[float, ...] = (0.5, 0.5, 0.5)

    @property
    def mode(self) -> str:
        return MODES[self.channels]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Preprocess:
        return cls(
            int(data["height"]), int(data["width"]), int(data.get("channels", 3)),
            tuple(data.get("mean", (0.5,) * 3)), tuple(data.get("std", (0.5,) * 3)),
        )  # fmt: skip

    def __call__(self, images: list[Any]) -> torch.Tensor:
        from PIL import Image

        arrs = [
            np.asarray(im.convert(self.mode).resize((self.width, self.height), Image.Resampling.BILINEAR))
            for im in images
        ]
        x = (
            np.stack(arrs).astype(np.float32).reshape(len(arrs), self.height, self.width, self.channels)
            / 255.0
        )
        mean = np.asarray(self.mean[: self.channels], dtype=np.float32)
        std = np.asarray(self.std[: self.channels], dtype=np.float32)
        return torch.from_numpy(((x - mean) / std).transpose(0, 3, 1, 2).copy())


Transform = Callable[[list[Any]], torch.Tensor]  # PIL images → a (N, C, H, W) float tensor


class ImageData:
    """Labelled images split into train and eval sets (the split is fixed by the seed)."""

    def __init__(
        self, root: Path, items: list[tuple[str, int]], classes: list[str], transform: Transform,
        eval_fraction: float, seed: int, mode: str = "RGB", cache_bytes: int = CACHE_BYTES,
    ):  # fmt: skip
        self.root, self.classes, self.transform, self.seed, self.mode = root, classes, transform, seed, mode
        train_ix, eval_ix = split_indices(len(items), eval_fraction, seed)
        self.train = [items[i] for i in train_ix.tolist()]
        self.eval = [items[i] for i in eval_ix.tolist()]
        self._cache: dict[str, torch.Tensor] = {}
        self._cache_left = cache_bytes

    @property
    def n_train(self) -> int:
        return len(self.train)

    @property
    def n_eval(self) -> int:
        return len(self.eval)

    def epoch(self, step: int, batch_size: int) -> int:
        return (step * batch_size) // self.n_train

    def _tensors(self, rels: list[str]) -> torch.Tensor:
        missing = [r for r in dict.fromkeys(rels) if r not in self._cache]
        if missing:
            x = self.transform([open_image(self.root / r, self.mode) for r in missing])
            fresh = dict(zip(missing, x, strict=True))
            for r, t in fresh.items():
                if self._cache_left >= t.element_size() * t.nelement():
                    self._cache[r] = t
                    self._cache_left -= t.element_size() * t.nelement()
        else:
            fresh = {}
        return torch.stack([self._cache[r] if r in self._cache else fresh[r] for r in rels])

    def batch(self, items: list[tuple[str, int]]) -> tuple[torch.Tensor, torch.Tensor]:
        return self._tensors([r for r, _ in items]), torch.tensor([c for _, c in items], dtype=torch.long)

    def train_batch(self, step: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch of step ``step`` (1-based)."""
        return self.batch([self.train[i] for i in batch_indices(step, batch_size, self.n_train, self.seed)])

    def eval_batches(self, batch_size: int, max_batches: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = min(self.n_eval, batch_size * max_batches)
        for i in range(0, n, batch_size):
            yield self.batch(self.eval[i : min(i + batch_size, n)])
