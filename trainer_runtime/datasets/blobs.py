"""Content-addressed, read-only blob store: ``blobs/ab/cdef…`` named by the file's sha256.

A file goes in by one of three ways, cheapest first:
- a hard link, for files the import owns (an archive extracted into the data dir) or when the
  user asks for it: no bytes copied, but the blob then shares its inode, so its mode and owner,
  with the source file. A user's file is linked only when that changes nothing: it is ours and
  its mode already is what a blob would get (read-only, no bit a blob would not have); else it
  is copied, so ``--link`` never changes a source file's mode. An in-place edit of a linked file
  (root ignores the read-only mode) would change every version that uses the blob; ``verify``
  finds that, nothing prevents it;
- a copy-on-write clone (FICLONE: btrfs, XFS, ...), which shares the disk blocks but not the inode;
- a plain copy (from the bytes already read for hashing), written in place with O_EXCL and
  removed again if the write fails.
Blobs are read-only: mode 0440 with the usual umasks (022, 002), 0400 with 077: never
world-readable, never writable. The store's folders are 0700. An existing blob is never
written again.
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
READ_ONLY = stat.S_IRUSR | stat.S_IRGRP  # before the umask; see ``stored_mode``
_NO_LINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES}
_NO_CLONE = {errno.EXDEV, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL, errno.ENOTTY, errno.EPERM}
FICLONE = 0x40049409  # linux/fs.h


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def current_umask() -> int:
    """The process's umask, read without changing it (``os.umask`` sets it, which would race
    with other threads creating files); 0o077 when /proc cannot say."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass  # no /proc (not Linux): assume the strictest
    return 0o077


def stored_mode() -> int:
    """The mode of a stored file (blob, materialised file): 0440 less the umask's bits."""
    return READ_ONLY & ~current_umask()


def linkable(st: os.stat_result, mode: int) -> bool:
    """Whether a hard link to the file ``st`` may become a blob of mode ``mode`` without changing
    anything about it: a regular file of ours, readable by us, with no bit the blob lacks."""
    perms = stat.S_IMODE(st.st_mode)
    return (
        stat.S_ISREG(st.st_mode)
        and st.st_uid == os.geteuid()
        and bool(perms & stat.S_IRUSR)
        and not perms & ~mode
    )


def private_folder(path: Path) -> Path:
    """``path`` as a folder only its owner can enter (0700): made so, or tightened when it is
    ours and looser (a data dir made before this rule: its ``datasets/`` was 0755)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = path.stat()
    if st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, stat.S_IMODE(st.st_mode) & 0o700)
    return path


class BlobStore:
    def __init__(self, root: Path):
        self.root = root
        self.can_clone = True  # until the filesystem says otherwise
        self.mode = stored_mode()
        self._dirs: set[str] = set()

    def ensure(self) -> BlobStore:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
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
        self._fan_out(sha)
        try:
            return os.open(self.path(sha), os.O_WRONLY | os.O_CREAT | os.O_EXCL, self.mode)
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

    def _fan_out(self, sha: str) -> None:
        if sha[:2] not in self._dirs:
            (self.root / sha[:2]).mkdir(parents=True, exist_ok=True, mode=0o700)
            self._dirs.add(sha[:2])

    def put_file(self, src: Path, sha: str, link: bool = False, data: bytes | None = None) -> bool:
        """Store the file ``src`` whose content hashes to ``sha``: hard link (when asked, and
        the caller checked that the file may be linked: ``linkable``), clone, or copy (from
        ``data`` when the caller already read the file). The linked file is checked again
        after linking (it may have been replaced meanwhile): one that is not ``linkable`` is
        unlinked and copied instead."""
        if link:
            dst = self.path(sha)
            self._fan_out(sha)
            try:
                os.link(src, dst)
            except FileExistsError:
                return False
            except OSError as err:
                if err.errno not in _NO_LINK:
                    raise
            else:
                if linkable(os.stat(dst), self.mode):
                    return True
                os.unlink(dst)
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
