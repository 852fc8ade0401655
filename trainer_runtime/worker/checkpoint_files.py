"""Checkpoint folders as files: their names, which are complete, the newest good one, and
retention (``train.keep_checkpoints``). No torch here: the daemon reads these too.

A checkpoint is complete when its folder ``checkpoints/step-XXXXXXXX/`` exists with its
``state.json``: ``checkpoint.save_checkpoint`` writes into a temp folder and renames it into
place, so a folder of that name is never half written. Retention removes a folder the same
way round: it is first renamed to ``.pruned-…`` (atomic), then deleted, so a crash midway
leaves no half checkpoint under a checkpoint's name.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
STATE = "state.json"
_NAME = re.compile(r"^step-(\d{8,})$")
PRUNED_PREFIX = ".pruned-"


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}"


def relative_path(step: int) -> str:
    return f"{CHECKPOINTS}/{checkpoint_name(step)}"


@dataclass(frozen=True)
class CheckpointDir:
    step: int
    path: Path  # absolute
    rel: str  # relative to the job dir, as events and resume_from name it


def complete_checkpoints(job_dir: Path) -> list[CheckpointDir]:
    """The job dir's complete checkpoints, oldest first."""
    root = Path(job_dir) / CHECKPOINTS
    found: list[CheckpointDir] = []
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return []
    for entry in entries:
        m = _NAME.match(entry.name)
        if m and os.path.isfile(os.path.join(entry.path, STATE)):
            found.append(CheckpointDir(int(m.group(1)), Path(entry.path), f"{CHECKPOINTS}/{entry.name}"))
    found.sort(key=lambda c: c.step)
    return found


def last_good_checkpoint(job_dir: Path) -> CheckpointDir | None:
    """The newest complete checkpoint (the one a resume continues from), if any."""
    done = complete_checkpoints(job_dir)
    return done[-1] if done else None


def _eval_loss(c: CheckpointDir) -> float | None:
    """The eval loss of exactly this checkpoint's model (evaluated at its step), if recorded."""
    try:
        state = json.loads((c.path / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = state.get("eval_loss")
    if state.get("last_eval_step") != c.step or not isinstance(value, int | float):
        return None
    return float(value) if value == value else None  # NaN is no "best"


def to_prune(checkpoints: list[CheckpointDir], keep: int) -> list[CheckpointDir]:
    """Which checkpoints retention removes: all but the newest ``keep`` and the one with the
    lowest eval loss (0 = keep all). The newest is always kept: a resume continues from it."""
    if keep <= 0 or len(checkpoints) <= keep:
        return []
    ordered = sorted(checkpoints, key=lambda c: c.step)
    kept = {c.step for c in ordered[-keep:]}
    scored = [(loss, c.step) for c in ordered if (loss := _eval_loss(c)) is not None]
    if scored:
        kept.add(min(scored)[1])
    return [c for c in ordered if c.step not in kept]


def prune(job_dir: Path, keep: int) -> list[CheckpointDir]:
    """Apply retention after a checkpoint was written; return what was removed. A folder that
    cannot be removed is logged and kept (retention never fails a job)."""
    root = Path(job_dir) / CHECKPOINTS
    removed: list[CheckpointDir] = []
    for c in to_prune(complete_checkpoints(job_dir), keep):
        trash = root / f"{PRUNED_PREFIX}{c.path.name}-{os.getpid()}"
        try:
            os.replace(c.path, trash)
        except OSError as err:
            log.warning("could not remove old checkpoint %s: %s", c.rel, err)
            continue
        removed.append(c)
        shutil.rmtree(trash, ignore_errors=True)
    _remove_leftovers(root)
    return removed


def _remove_leftovers(root: Path) -> None:
    """Folders a crash left half deleted by an earlier prune."""
    try:
        entries = [e for e in os.scandir(root) if e.name.startswith(PRUNED_PREFIX)]
    except FileNotFoundError:
        return
    for entry in entries:
        shutil.rmtree(entry.path, ignore_errors=True)
