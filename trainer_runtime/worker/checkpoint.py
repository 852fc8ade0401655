"""Checkpoints: ``checkpoints/step-XXXXXXXX/`` with everything an exact resume needs.

Files: ``state.json`` (step, epoch, data position, …), ``model.safetensors`` (the trainable
parameters only: the LoRA weights, or the whole model for ``full``), ``optimizer.pt``,
``scheduler.pt`` and ``rng.pt`` (torch, CUDA, Python ``random`` and numpy generator states, one
entry per rank). Everything is written into a temp folder next to the target and renamed into
place, so a failed write (disk full) leaves no half checkpoint and the earlier ones intact.
All ``.pt`` files hold plain containers and tensors only, so they load with ``weights_only=True``.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from trainer_runtime.fsutil import fsync_dir, fsync_file
from trainer_runtime.worker.checkpoint_files import CHECKPOINTS, checkpoint_name, prune, relative_path
from trainer_runtime.worker.disk import disk_full_sentence, is_disk_full
from trainer_runtime.worker.errors import CheckpointWriteError, WorkerError

WEIGHTS = "model.safetensors"
__all__ = [
    "CHECKPOINTS",
    "apply_retention",
    "checkpoint_name",
    "load_checkpoint",
    "relative_path",
    "save_checkpoint",
]


# ---- RNG state -----------------------------------------------------------------------------


def capture_rng() -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": [version, list(internal), gauss],
        "numpy": [name, torch.from_numpy(np.asarray(keys, dtype=np.int64)), pos, has_gauss, cached],
    }


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))


# ---- weights -----------------------------------------------------------------------------


def trainable_state(model) -> dict[str, torch.Tensor]:
    """Trainable parameters by name (tied parameters appear once), contiguous on the CPU."""
    return {n: p.detach().to("cpu").contiguous() for n, p in model.named_parameters() if p.requires_grad}


def load_trainable(model, tensors: dict[str, torch.Tensor]) -> None:
    expected = {n for n, p in model.named_parameters() if p.requires_grad}
    missing = sorted(expected - tensors.keys())
    unexpected = sorted(tensors.keys() - expected)
    if missing or unexpected:
        raise WorkerError(
            "the checkpoint does not match this job's model "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]}): resume it with the spec it was made with."
        )
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, t in tensors.items():
            params[name].copy_(t)


# ---- save / load --------------------------------------------------------------------------


class _ErrorRecordingWriter(io.RawIOBase):
    """A file wrapper that keeps the OSError of a failed write: ``torch.save`` turns it into a
    RuntimeError without the errno, and the user must read "No space left on device"."""

    def __init__(self, fh):
        super().__init__()
        self.fh = fh
        self.error: OSError | None = None

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        try:
            return self.fh.write(b)
        except OSError as err:
            self.error = err
            raise

    def flush(self) -> None:
        try:
            self.fh.flush()
        except OSError as err:
            self.error = err
            raise


def _torch_save(obj, path: Path) -> None:
    with open(path, "wb") as fh:
        writer = _ErrorRecordingWriter(fh)
        try:
            torch.save(obj, cast(IO[bytes], writer))
        except RuntimeError as err:
            if writer.error is not None:
                raise writer.error from err
            raise


def _save_weights(weights: dict[str, torch.Tensor], path: Path, step: int) -> None:
    try:
        save_file(weights, str(path), metadata={"step": str(step)})
    except SafetensorError as err:  # I/O errors arrive as text: "... (os error 28)"
        m = re.search(r"os error (\d+)", str(err))
        if m:
            code = int(m.group(1))
            raise OSError(code, os.strerror(code), str(path)) from err
        raise


def save_checkpoint(
    job_dir: Path,
    step: int,
    weights: dict[str, torch.Tensor],
    optimizer_state: dict,
    scheduler_state: dict,
    rng_states: list[dict[str, Any]],
    state: dict[str, Any],
) -> str:
    """Write the checkpoint of ``step``; return its path relative to ``job_dir``.

    Raises ``CheckpointWriteError`` (a sentence naming the step and the OS error) if anything
    cannot be written; the temp folder is removed and no existing checkpoint is touched.
    """
    root = Path(job_dir) / CHECKPOINTS
    target = root / checkpoint_name(step)
    tmp = root / f".tmp-{checkpoint_name(step)}-{os.getpid()}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        _save_weights(weights, tmp / WEIGHTS, step)
        _torch_save(optimizer_state, tmp / "optimizer.pt")
        _torch_save(scheduler_state, tmp / "scheduler.pt")
        _torch_save(rng_states, tmp / "rng.pt")
        (tmp / "state.json").write_text(
            json.dumps({**state, "step": step}, indent=2) + "\n", encoding="utf-8"
        )
        for f in tmp.iterdir():
            fsync_file(f)
        if target.exists():  # the same step saved before (e.g. by an earlier attempt): replace it
            old = root / f".old-{checkpoint_name(step)}-{os.getpid()}"
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
        fsync_dir(root)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if is_disk_full(err):
            raise CheckpointWriteError(disk_full_sentence(job_dir, root, step), checkpoint_step=step) from err
        reason = err.strerror or str(err)
        raise CheckpointWriteError(
            f"could not write checkpoint at step {step}: {reason} (in {root}). "
            "Earlier checkpoints are intact; fix the cause and resume the job from the last one.",
            checkpoint_step=step,
        ) from err
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return relative_path(step)


def apply_retention(job_dir: Path, keep: int, events) -> None:
    """After a checkpoint: remove the ones ``train.keep_checkpoints`` does not keep, and say so
    in events.jsonl (the daemon drops their artifact rows). Only rank 0 calls this."""
    for c in prune(Path(job_dir), keep):
        events.emit("checkpoint_pruned", flush=True, step=c.step, path=c.rel)


def resolve(job_dir: Path, resume_from: str) -> Path:
    p = Path(resume_from)
    return p if p.is_absolute() else Path(job_dir) / p


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint folder: ``state``, ``weights``, ``optimizer``, ``scheduler``, ``rng``."""
    if not (path / "state.json").is_file():
        raise WorkerError(f"cannot resume: {path} is not a complete checkpoint (it has no state.json)")
    try:
        return {
            "state": json.loads((path / "state.json").read_text(encoding="utf-8")),
            "weights": load_file(str(path / WEIGHTS)),
            "optimizer": torch.load(path / "optimizer.pt", map_location="cpu", weights_only=True),
            "scheduler": torch.load(path / "scheduler.pt", weights_only=True),
            "rng": torch.load(path / "rng.pt", weights_only=True),
        }
    except (OSError, RuntimeError, ValueError) as err:
        raise WorkerError(f"cannot resume: the checkpoint in {path} could not be read: {err}") from err
