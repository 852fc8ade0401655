"""What a drop from the file manager may import: pure functions, no Qt.

Which suffixes are importable is the runtime's rule (``trainer_runtime.datasets.formats``), read
here, never restated. The daemon imports one folder, archive or data file at a time; anything else dropped is
refused here with a sentence saying why, before a dialog opens."""

from __future__ import annotations

import re
from pathlib import Path

from trainer_runtime.datasets.formats import IMPORTABLE, is_importable_file, strip_suffix


def drop_problem(path: Path) -> str | None:
    """Why ``path`` cannot be imported, or None when the daemon may try it."""
    if not path.exists():
        return f"{path} does not exist (a file that is still downloading, or a link to nothing?)"
    if path.is_dir():
        return None
    if not path.is_file():
        return f"{path.name} is not a regular file or folder"
    if is_importable_file(path):  # the runtime's one list (trainer_runtime.datasets.formats)
        return None
    return f"{path.name} is not a dataset: drop {IMPORTABLE}"


def choose(paths: list[Path]) -> tuple[Path | None, str | None]:
    """The one path to import from a drop, or None and the reason the drop is refused."""
    if not paths:
        return None, f"nothing to import was dropped: drop {IMPORTABLE} from your file manager"
    if len(paths) > 1:
        return None, (
            f"{len(paths)} items were dropped; a dataset is imported from one folder, archive or "
            "file at a time (put several files in one folder and drop the folder)"
        )
    problem = drop_problem(paths[0])
    return (None, problem) if problem else (paths[0], None)


def default_name(path: Path) -> str:
    """A dataset name the daemon accepts, made from a file or folder name."""
    stem = strip_suffix(path.name)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:80]
    return name or "dataset"


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
