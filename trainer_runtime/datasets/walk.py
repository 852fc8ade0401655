"""Listing a source folder: sorted relative paths, hidden files skipped, links checked."""

from __future__ import annotations

import os
from pathlib import Path

from trainer_runtime.datasets.archive_checks import shown
from trainer_runtime.datasets.errors import DatasetError

SKIP_DIRS = {"__MACOSX", ".git"}


def list_files(root: Path) -> list[tuple[str, Path]]:
    """Every regular file under ``root`` as (posix relative path, absolute path), sorted.

    A symbolic link is followed only when it points inside ``root``; one that points out of the
    tree is an error (importing it would copy a file the user did not choose). Directory entries
    carry their type, so listing costs no stat per file."""
    root = root.resolve()
    if root.is_file():
        if any("\udc80" <= c <= "\udcff" for c in root.name):
            raise _not_utf8(root.name)
        return [(root.name, root)]
    out: list[tuple[str, Path]] = []
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as it:
            for entry in it:
                name = entry.name
                if name.startswith(".") or name in SKIP_DIRS:
                    continue
                rel = prefix + name
                if any("\udc80" <= c <= "\udcff" for c in name):
                    raise _not_utf8(rel)
                if entry.is_symlink():
                    target = _inside(root, Path(entry.path))
                    if target.is_file():
                        out.append((rel, Path(entry.path)))
                    # a linked folder inside the tree: its files are reached through the real one
                elif entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), rel + "/"))
                elif entry.is_file(follow_symlinks=False):
                    out.append((rel, Path(entry.path)))
    out.sort()
    return out


def _not_utf8(rel: str) -> DatasetError:
    """A file name that is not UTF-8 cannot be a manifest path (nor shown, nor sent as JSON).
    Refused, not renamed: the name may carry meaning (a class folder, a COCO file_name, a YOLO
    image and label pair) that a made-up safe name would silently break."""
    return DatasetError(
        f"the name of '{shown(rel)}' is not UTF-8 text; rename it (e.g. convmv -f latin1 -t utf8 "
        "--notest) and import again. Nothing was stored"
    )


def _inside(root: Path, link: Path) -> Path:
    target = link.resolve()
    if target != root and root not in target.parents:
        raise DatasetError(
            f"'{link.relative_to(root)}' is a symbolic link to {target}, outside the folder being imported; "
            "refusing to follow it (copy the file in instead)"
        )
    return target
