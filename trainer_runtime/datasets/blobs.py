"""Content-addressed, read-only blob store: ``blobs/ab/cdef…`` named by the file's sha256.

A file goes in by one of three ways, cheapest first:
- a hard link, for files the import owns (an archive extracted into the data dir) or when the
  user asks for it: no bytes copied, but the blob then shares its inode with the source file, so
  an in-place edit of that file (root ignores the read-only mode) would change every version
  that uses the blob; ``verify`` finds that, nothing prevents it;
- a copy-on-write clone (FICLONE: btrfs, XFS, ...), which shares the disk blocks but not the inode;
- a plain copy (from the bytes already read for hashing), written in place with O_EXCL and
  removed again if the write fails.
Blobs are made read-only (mode 0444) and an existing blob is never written again.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

CHUNK = 1 << 20
IN_MEMORY = 16 << 20  # files up to this size are read once, hashed and written from memory
READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
_NO_LINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES}
_NO_CLONE = {errno.EXDEV, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL, errno.ENOTTY, errno.EPERM}
FICLONE = 0x40049409  # linux/fs.h


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


class BlobStore:
    def __init__(self, root: Path):
        self.root = root
        self.can_clone = True  # until the filesystem says otherwise
        self._dirs: set[str] = set()

    def ensure(self) -> BlobStore:
        self.root.mkdir(parents=True, exist_ok=True)
        return self

    def path(self, sha: str) -> Path:
        return self.root / sha[:2] / sha[2:]

    def has(self, sha: str) -> bool:
        return os.path.exists(self.path(sha))

    def existing(self) -> set[str]:
        """Every stored blob's hash: one directory listing per fan-out folder, no stat per blob."""
        out: set[str] = set()
        if self.root.is_dir():
            for sub in os.scandir(self.root):
                if len(sub.name) == 2 and sub.is_dir():
                    out.update(sub.name + n for n in os.listdir(sub.path) if not n.startswith("."))
        return out

    def all(self) -> Iterator[str]:
        """Every stored blob's hash."""
        if not self.root.is_dir():
            return
        for sub in sorted(self.root.iterdir()):
            if len(sub.name) == 2 and sub.is_dir():
                for f in sorted(sub.iterdir()):
                    if not f.name.startswith("."):
                        yield sub.name + f.name

    # ------------------------------------------------------------------ writes
    # A blob is created in place with O_EXCL, so an existing blob is never written again, and a
    # failed write removes what it wrote. Only a crash can leave a torn blob; no version refers
    # to it (the manifest is committed after every blob is written), and ``clean_leftovers`` at
    # daemon start removes every blob no version refers to before any import runs.
    def _create(self, sha: str) -> int | None:
        """An fd for the new blob ``sha``, or None when it exists."""
        if sha[:2] not in self._dirs:
            (self.root / sha[:2]).mkdir(parents=True, exist_ok=True)
            self._dirs.add(sha[:2])
        try:
            return os.open(self.path(sha), os.O_WRONLY | os.O_CREAT | os.O_EXCL, READ_ONLY)
        except FileExistsError:
            return None

    def _fill(self, sha: str, fd: int, write: Callable[[int], None]) -> bool:
        try:
            try:
                write(fd)
            finally:
                os.close(fd)
        except BaseException:
            os.unlink(self.path(sha))
            raise
        return True

    def put_bytes(self, data: bytes, sha: str) -> bool:
        """Store ``data`` (whose hash is ``sha``); False when the blob already existed."""
        fd = self._create(sha)
        if fd is None:
            return False

        return self._fill(sha, fd, lambda fd: _write_all(fd, data))

    def put_file(self, src: Path, sha: str, link: bool = False, data: bytes | None = None) -> bool:
        """Store the file ``src`` whose content hashes to ``sha``: hard link (when asked), clone,
        or copy (from ``data`` when the caller already read the file)."""
        if link:
            dst = self.path(sha)
            if sha[:2] not in self._dirs:
                dst.parent.mkdir(parents=True, exist_ok=True)
                self._dirs.add(sha[:2])
            try:
                os.link(src, dst)
            except FileExistsError:
                return False
            except OSError as err:
                if err.errno not in _NO_LINK:
                    raise
            else:
                os.chmod(dst, READ_ONLY)
                return True
        if data is not None and not self.can_clone:
            return self.put_bytes(data, sha)
        fd = self._create(sha)
        if fd is None:
            return False
        cloned = self.can_clone and self._clone(src, fd)
        if cloned:
            os.close(fd)
            return True
        if data is not None:
            return self._fill(sha, fd, lambda fd: _write_all(fd, data))

        def copy(fd: int) -> None:
            with open(src, "rb") as fin:
                while chunk := fin.read(CHUNK):
                    _write_all(fd, chunk)

        return self._fill(sha, fd, copy)

    def _clone(self, src: Path, fd: int) -> bool:
        """Make ``fd`` a copy-on-write clone of ``src``; False where the filesystem has none."""
        import fcntl

        try:
            with open(src, "rb") as fin:
                fcntl.ioctl(fd, FICLONE, fin.fileno())
        except OSError as err:
            if err.errno in _NO_CLONE:
                self.can_clone = False
                return False
            raise
        return True

    def remove(self, sha: str) -> bool:
        try:
            os.unlink(self.path(sha))
        except FileNotFoundError:
            return False
        return True  # the (at most 256) two-letter folders stay


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
