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
- a plain copy (from the bytes already read for hashing).
A clone or copy is written under ``.staging/`` and hard-linked to its name only once complete,
so a blob under its hash name is always whole: a crash mid-write leaves only a staging file,
which the next start removes. A writer that may die between storing blobs and committing the
version that uses them (an import) keeps a journal of the blobs it created (``journal``): the
next start removes exactly those of them that no version refers to. Other unused blobs are
removed only by ``store gc``, against a consistent store.
Blobs are read-only: mode 0440 with the usual umasks (022, 002), 0400 with 077: never
world-readable, never writable. The store's folders are 0700. An existing blob is never
written again.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
        self._journal: int | None = None  # fd of the open journal, while a writer keeps one

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
    def _create(self, sha: str) -> tuple[int, Path] | None:
        """An fd on a new staging file for blob ``sha``, or None when the blob exists."""
        if self.has(sha):
            return None
        self._fan_out(sha)
        staging = self.root / ".staging"
        if ".staging" not in self._dirs:
            staging.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._dirs.add(".staging")
        tmp = staging / f"{sha}.{uuid.uuid4().hex}"
        return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, self.mode), tmp

    def _fill(self, sha: str, created: tuple[int, Path], write: Callable[[int], None]) -> bool:
        """Write the staging file with ``write``, then give it the blob's name; False when
        another writer stored the same blob meanwhile. The staging file never outlives this."""
        fd, tmp = created
        try:
            try:
                write(fd)
            finally:
                os.close(fd)
            if self._journal is not None:  # named before it exists: a crash after the link is covered
                os.write(self._journal, f"{sha}\n".encode())
            try:
                os.link(tmp, self.path(sha))
            except FileExistsError:
                return False
            return True
        finally:
            tmp.unlink(missing_ok=True)

    def put_bytes(self, data: bytes, sha: str) -> bool:
        """Store ``data`` (whose hash is ``sha``); False when the blob already existed."""
        created = self._create(sha)
        if created is None:
            return False
        return self._fill(sha, created, lambda fd: _write_all(fd, data))

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
        created = self._create(sha)
        if created is None:
            return False

        def write(fd: int) -> None:
            if self.can_clone and self._clone(src, fd):
                return
            if data is not None:
                _write_all(fd, data)
                return
            with open(src, "rb") as fin:
                while chunk := fin.read(CHUNK):
                    _write_all(fd, chunk)

        return self._fill(sha, created, write)

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

    @contextmanager
    def journal(self, path: Path) -> Iterator[None]:
        """Record every blob created inside the block in the file ``path`` (one hash a line,
        appended before the blob gets its name), and remove the file when the block ends, however
        it ends: the caller has then committed the blobs or reclaimed them itself. A file still
        there at start belongs to a writer that died; ``journaled`` reads it."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._journal = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL, 0o600)
        try:
            yield
        finally:
            os.close(self._journal)
            self._journal = None
            path.unlink(missing_ok=True)

    @staticmethod
    def journaled(folder: Path) -> tuple[list[Path], set[str]]:
        """The journals a dead writer left in ``folder`` and every blob hash they name."""
        files = sorted(folder.glob("*.journal")) if folder.is_dir() else []
        shas: set[str] = set()
        for f in files:
            shas.update(
                line for line in f.read_text(encoding="ascii", errors="ignore").split() if len(line) == 64
            )
        return files, shas

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
