"""Import as a transaction: blobs first, then the manifest and its rows in one commit.

On any error or cancel, the blobs this import created that no version refers to are removed
and the staging folder goes, so nothing half-imported remains and existing versions are
untouched. Imports (and every other write: rollback, gates, delete) hold one lock, so a
failing import can never remove a blob that another import is about to commit.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from trainer_runtime.datasets.archives import DEFAULT_LIMITS, Limits, is_archive
from trainer_runtime.datasets.blobs import IN_MEMORY, BlobStore, linkable, sha256_file
from trainer_runtime.datasets.detect import opened, scan
from trainer_runtime.datasets.errors import DatasetError, ImportCancelled, check_name
from trainer_runtime.datasets.imaging import decode_problem
from trainer_runtime.datasets.model import Entry, Item, Scan, is_image, manifest_hash
from trainer_runtime.datasets.statcache import StatCache, key_of
from trainer_runtime.store.datasets import DatasetStore, VersionInfo

log = logging.getLogger(__name__)
ProgressFn = Callable[[str, int, int], None]
PROGRESS_EVERY_S = 0.1
SHOWN_PROBLEMS = 5
WRITERS = 4  # threads reading, hashing, checking and writing files


def disk_message(err: OSError, where: Path) -> str | None:
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"the disk holding the data dir ({where}) is full ({err.strerror}); free some space and "
            "import again. Nothing was stored"
        )
    return None


class Importer:
    def __init__(self, root: Path, store: DatasetStore, blobs: BlobStore, lock: threading.Lock,
                 limits: Limits = DEFAULT_LIMITS):  # fmt: skip
        self.root, self.store, self.blobs, self.lock, self.limits = root, store, blobs, lock, limits
        self.tmp = root / "tmp"
        self.cache_dir = root / "cache"
        self.journals = root / "imports"  # a journal per running import: the blobs it created

    def run(
        self, source: Path, name: str, fmt: str | None = None, modality: str | None = None,
        keep_corrupt: bool = False, link: bool = False, progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
    ) -> VersionInfo:  # fmt: skip
        check_name(name)
        report = progress or (lambda phase, done, total: None)
        cancelled = cancel.is_set if cancel is not None else (lambda: False)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.blobs.ensure()
        created: list[str] = []
        journal = self.journals / f"{uuid.uuid4().hex}.journal"
        with self.lock, self.blobs.journal(journal):  # imports wait here for the one before them
            try:
                if cancelled():
                    raise ImportCancelled()
                report("extract" if is_archive(Path(source)) else "scan", 0, 0)
                with opened(Path(source), self.tmp, self.limits, cancelled) as root:
                    if cancelled():
                        raise ImportCancelled()
                    report("scan", 0, 0)
                    found = scan(root, fmt, modality, self.limits)
                    extracted = root != Path(source).expanduser().resolve()
                    cache = None if extracted else StatCache(self.cache_dir, root)
                    # files extracted into our own staging folder are linked, never copied
                    how = "own" if extracted else "ask" if link else "copy"
                    entries, corrupt, copied = self._store_blobs(
                        found, cache, created, how, report, cancelled
                    )
                    if copied:
                        found.meta["link_note"] = link_note(copied, len(entries), self.blobs.mode)
                        log.info("import of %s: %s", source, found.meta["link_note"])
                    if corrupt and not keep_corrupt:
                        shown = "; ".join(f"{p}: {why}" for p, why in corrupt[:SHOWN_PROBLEMS])
                        more = (
                            f" and {len(corrupt) - SHOWN_PROBLEMS} more"
                            if len(corrupt) > SHOWN_PROBLEMS
                            else ""
                        )
                        raise DatasetError(
                            f"{len(corrupt)} image(s) cannot be decoded ({shown}{more}); fix or remove them, "
                            "or import with --keep-corrupt and clean up with the quality gates"
                        )
                    if cancelled():
                        raise ImportCancelled()
                    report("commit", len(entries), len(entries))
                    digest = manifest_hash(entries)
                    latest = self.store.latest(name)
                    unchanged = (digest, found.format, found.modality)
                    if (
                        latest
                        and (latest.manifest_hash, latest.meta.get("format"), latest.meta.get("modality"))
                        == unchanged
                    ):
                        version = latest  # nothing changed since the latest version: no new one
                    else:
                        version = self._commit(name, found, source, corrupt, entries, digest)
            except OSError as err:
                self._reclaim(created)
                msg = disk_message(err, self.root)
                if msg:
                    raise DatasetError(msg) from err
                raise DatasetError(
                    f"the import failed: {err.strerror or err} ({err.filename or source}); nothing was stored"
                ) from err
            except OperationalError as err:  # SQLite: "database or disk is full"
                self._reclaim(created)
                if "full" in str(err.orig):
                    raise DatasetError(
                        disk_message(OSError(errno.ENOSPC, "disk full"), self.root) or ""
                    ) from err
                raise
            except BaseException:
                self._reclaim(created)
                raise
        if cache is not None:
            cache.save()
        return version

    def _store_blobs(
        self, found: Scan, cache: StatCache | None, created: list[str], how: str,
        report: ProgressFn, cancelled: Callable[[], bool],
    ) -> tuple[list[Entry], list[tuple[str, str]], int]:  # fmt: skip
        """Hash and store every file: a stat-cache hit costs one stat; misses are read, hashed,
        checked and written by a few threads (file I/O, hashing and decoding release the GIL).
        ``how``: "copy", "ask" (the user asked for hard links: only files that ``linkable``
        allows are linked) or "own" (our staging files: made read-only, then linked). Returns
        the entries, the undecodable images and how many files were copied though "ask"."""
        if cache is not None:
            cache.load()
        total = len(found.items)
        entries: list[Entry | None] = [None] * total
        corrupt: list[tuple[str, str]] = []
        misses: list[tuple[int, Item, os.stat_result]] = []
        stored = self.blobs.existing() if cache is not None and cache.old else set()
        for i, item in enumerate(found.items):
            st = os.stat(item.source)
            sha = cache.lookup(str(item.source), key_of(st)) if cache is not None else None
            if sha is not None and sha in stored:
                entries[i] = Entry(item.path, sha, st.st_size, item.label)
                cache.record(str(item.source), key_of(st), sha)  # type: ignore[union-attr]
            else:
                misses.append((i, item, st))
        done, last = total - len(misses), 0.0
        abort = threading.Event()
        copied = 0

        def put(
            job: tuple[int, Item, os.stat_result],
        ) -> tuple[int, Item, str, int, str | None, os.stat_result, bool]:
            if abort.is_set() or cancelled():
                raise ImportCancelled()
            i, item, st = job
            link = how == "own" or (how == "ask" and linkable(st, self.blobs.mode))
            if how == "own":
                os.chmod(item.source, self.blobs.mode)  # our own staging file, about to be a blob
            sha, size, problem, new = self._put(item, st.st_size, link)
            if new:
                created.append(sha)  # list.append is atomic; read after every thread finished
            return i, item, sha, size, problem, st, how == "ask" and not link

        pool = ThreadPoolExecutor(WRITERS, thread_name_prefix="dataset-blobs")
        try:
            for i, item, sha, size, problem, st, not_linked in pool.map(put, misses):
                copied += not_linked
                entries[i] = Entry(item.path, sha, size, item.label)
                if problem:
                    corrupt.append((item.path, problem))
                if cache is not None:
                    cache.record(str(item.source), key_of(st), sha)
                done += 1
                now = time.monotonic()
                if now - last >= PROGRESS_EVERY_S or done == total:
                    report("store", done, total)
                    last = now
                if cancelled():
                    raise ImportCancelled()
        except BaseException:
            abort.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if not misses:
            report("store", total, total)
        out = [e for e in entries if e is not None]
        out.sort(key=lambda e: e.path)
        corrupt.sort()
        return out, corrupt, copied

    def _put(self, item: Item, size: int, link: bool) -> tuple[str, int, str | None, bool]:
        """Hash ``item``'s file and store it; (sha, size, decode problem, created). A picture
        over the pixel limit raises ``ImageTooLarge`` (the import is refused)."""
        src, image = item.source, is_image(item.path)
        if size <= IN_MEMORY:
            data = _read(src, size)
            sha = hashlib.sha256(data).hexdigest()
            problem = decode_problem(data, item.path, self.limits) if image else None
            new = self.blobs.put_file(src, sha, link=link, data=data)
            return sha, len(data), problem, new
        sha = sha256_file(src)
        problem = decode_problem(src, item.path, self.limits) if image else None
        return sha, os.path.getsize(src), problem, self.blobs.put_file(src, sha, link=link)

    def _commit(self, name: str, found: Scan, source: Path, corrupt: list[tuple[str, str]],
                entries: list[Entry], digest: str) -> VersionInfo:  # fmt: skip
        meta = self._meta(found, source, corrupt)
        return self.store.add_version(
            name, found.modality, found.format, entries, digest, meta, f"import of {source}"
        )

    def _reclaim(self, created: list[str]) -> None:
        """Remove blobs this import created that no committed version refers to."""
        if not created:
            return
        try:
            keep = self.store.referenced(created)
        except Exception:  # the DB may be unreachable; keeping a blob is safe, losing one is not
            log.exception("could not check which blobs to reclaim after a failed import")
            return
        for sha in created:
            if sha not in keep:
                self.blobs.remove(sha)

    @staticmethod
    def _meta(found: Scan, source: Path, corrupt: list[tuple[str, str]]) -> dict[str, Any]:
        return {
            "format": found.format, "modality": found.modality, "item_count": found.item_count,
            "classes": found.classes, "source": str(source), **found.meta,
            **({"corrupt": [p for p, _ in corrupt]} if corrupt else {}),
        }  # fmt: skip


def link_note(copied: int, total: int, mode: int) -> str:
    return (
        f"--link: {copied} of {total} file(s) were copied instead of linked: a linked file becomes the "
        f"stored copy itself, so only files of yours with mode {mode:04o} or stricter are linked, and "
        "--link never changes a source file's mode or owner"
    )


def _read(path: Path, size: int) -> bytes:
    """The whole file with plain syscalls (no buffering layer: one open, reads, one close)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        parts = []
        while chunk := os.read(fd, max(size + 1, 65536)):
            parts.append(chunk)
        return b"".join(parts)
    finally:
        os.close(fd)
