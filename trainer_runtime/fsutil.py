"""Durable writes: flush a file's or a directory's contents to the disk.

A rename is atomic, but only an fsync of the file before it and of the directory after it makes
the new name survive a power cut; checkpoints, the MLflow store, backups and label drafts all
write a temporary file, sync it, rename it and sync the directory.
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_file(path: Path) -> None:
    """Flush one file's data to the disk (``path`` may be a file another handle wrote)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries (a rename into it) to the disk.  Filesystems that cannot
    sync a directory are skipped: the rename is atomic there all the same."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


__all__ = ["fsync_dir", "fsync_file"]
