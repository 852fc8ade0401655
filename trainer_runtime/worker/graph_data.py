"""Datasets of the graph recipe, held in memory: an image folder or a CSV with a ``target`` column.

The batch of a step comes from the step alone (a fixed permutation per epoch), so a resumed run
sees exactly the batches an uninterrupted run would.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from trainer_runtime.architecture.dataset import CHANNEL_MODES, TARGET, GraphTask, image_classes
from trainer_runtime.worker.errors import WorkerError


def batch_indices(step: int, batch_size: int, n: int, seed: int) -> list[int]:
    """Training-sample indices of step ``step`` (1-based): a fixed permutation per epoch, so the
    batch of a step depends on the step alone (exact resume)."""
    start = (step - 1) * batch_size
    perms: dict[int, torch.Tensor] = {}
    idx = []
    for pos in range(start, start + batch_size):
        epoch, i = divmod(pos, n)
        if epoch not in perms:
            gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
            perms[epoch] = torch.randperm(n, generator=gen)
        idx.append(int(perms[epoch][i]))
    return idx


@dataclass
class TensorData:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_eval: torch.Tensor
    y_eval: torch.Tensor
    classes: list[str]  # empty for regression
    seed: int

    @property
    def n_train(self) -> int:
        return len(self.x_train)

    @property
    def n_eval(self) -> int:
        return len(self.x_eval)

    def train_batch(self, step: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch of step ``step`` (1-based)."""
        ix = torch.tensor(batch_indices(step, batch_size, self.n_train, self.seed))
        return self.x_train[ix], self.y_train[ix]

    def epoch(self, step: int, batch_size: int) -> int:
        return (step * batch_size) // self.n_train

    def eval_batches(self, batch_size: int, max_batches: int):
        n = min(len(self.x_eval), batch_size * max_batches)
        for i in range(0, n, batch_size):
            yield self.x_eval[i : min(i + batch_size, n)], self.y_eval[i : min(i + batch_size, n)]


def split_indices(n: int, eval_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    if n < 2:
        raise WorkerError(
            f"the dataset has {n} sample(s); it needs at least 2 (one to train, one to evaluate)."
        )
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_eval = min(max(1, round(n * eval_fraction)), n - 1)
    return perm[n_eval:], perm[:n_eval]


def load_images(root: Path, shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    from PIL import Image, UnidentifiedImageError

    channels, height, width = shape
    mode = CHANNEL_MODES[channels]
    xs, ys, names = [], [], []
    for label, (name, files) in enumerate(image_classes(root)):
        names.append(name)
        for f in files:
            try:
                with Image.open(f) as im:
                    arr = np.asarray(im.convert(mode).resize((width, height), Image.Resampling.BILINEAR))
            except (OSError, UnidentifiedImageError) as err:
                raise WorkerError(f"cannot read image {f}: {err}. Remove or replace the file.") from None
            xs.append(arr.reshape(height, width, channels).transpose(2, 0, 1))
            ys.append(label)
    x = torch.from_numpy(np.stack(xs).astype(np.float32) / 255.0 - 0.5)
    return x, torch.tensor(ys, dtype=torch.long), names


def load_csv(path: Path, task: GraphTask) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise WorkerError(f"{path} has a header but no rows.")
    features = [c for c in rows[0] if c.strip() != TARGET]
    target_key = next(c for c in rows[0] if c.strip() == TARGET)
    values = []
    for lineno, row in enumerate(rows, 2):
        try:
            values.append([float(row[c]) for c in features])
        except (TypeError, ValueError):
            bad = next(c for c in features if not _is_float(row.get(c)))
            raise WorkerError(
                f"{path.name} line {lineno}: column '{bad}' holds {row.get(bad)!r}, not a number."
            ) from None
    x = torch.tensor(values, dtype=torch.float32).reshape(len(rows), *task.input_shape)
    raw = [(row[target_key] or "").strip() for row in rows]
    if task.loss == "cross_entropy":
        classes = sorted(set(raw), key=lambda v: (not _is_float(v), float(v) if _is_float(v) else 0.0, v))
        if task.output_shape != (len(classes),):
            raise WorkerError(
                f"{path.name} has {len(classes)} target classes but the graph's Output gets shape "
                f"{task.output_shape}; make the last layer give {len(classes)} values."
            )
        index = {c: i for i, c in enumerate(classes)}
        return x, torch.tensor([index[v] for v in raw], dtype=torch.long), classes
    try:
        y = torch.tensor([float(v) for v in raw], dtype=torch.float32).reshape(len(rows), *task.output_shape)
    except ValueError:
        raise WorkerError(f"{path.name}: '{TARGET}' must be numeric for loss {task.loss}.") from None
    return x, y, []


def _is_float(v: object) -> bool:
    try:
        return math.isfinite(float(v))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def load_data(path: str | Path, task: GraphTask, eval_fraction: float, seed: int) -> TensorData:
    p = Path(path)
    if p.is_dir():
        x, y, classes = load_images(p, task.input_shape)
    else:
        x, y, classes = load_csv(p, task)
    train_ix, eval_ix = split_indices(len(x), eval_fraction, seed)
    return TensorData(x[train_ix], y[train_ix], x[eval_ix], y[eval_ix], classes, seed)
