"""``sparktrainer store backup FILE`` and ``store restore FILE``.

Backup uses SQLite's online backup API in one step, so the copy is one consistent snapshot
even while the daemon writes (WAL): a reader's snapshot, which never blocks the writer. Restore
runs only while no daemon serves the data dir (the CLI holds daemon.lock), accepts only a sound
SparkTrainer store of this data dir's id (or, with ``force``, another one, which it adopts),
keeps the replaced database beside it as ``sparktrainer.db.replaced-<time>`` and deletes nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from trainer_runtime.fsutil import fsync_dir, fsync_file
from trainer_runtime.paths import DataDir
from trainer_runtime.store.health import DatabaseDamaged, quick_check, sqlite_path
from trainer_runtime.store.identity import (
    Probe,
    StoreRefused,
    create_private,
    probe,
    read_marker,
    write_marker,
)

log = logging.getLogger(__name__)


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size: int
    store_id: str | None
    jobs: int
    dataset_files: int


@dataclass(frozen=True)
class RestoreInfo:
    store_id: str | None
    replaced: list[Path]
    adopted: bool
    marker_moved: Path | None


def _database(data: DataDir) -> Path:
    path = sqlite_path(data.database_url)
    if path is None:
        raise BackupError(
            "the store is not a SQLite file (SPARKTRAINER_DB_URL names another database); back it up "
            "and restore it with that database's own tools (for PostgreSQL: pg_dump and pg_restore)"
        )
    return path


def _copy(src: Path, dest: Path) -> None:
    """A consistent single-file copy of ``src`` (with its -wal) at the new path ``dest`` (0600)."""
    create_private(dest)
    source = sqlite3.connect(f"file:{src}?mode=rw", uri=True, timeout=30)
    try:
        target = sqlite3.connect(dest)
        try:
            source.backup(target)  # pages=-1: the whole database in one step, one snapshot
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            quick_check(target, dest)
        finally:
            target.close()
    finally:
        source.close()
    fsync_file(dest)


def backup(data: DataDir, dest: Path) -> BackupInfo:
    src = _database(data)
    dest = dest.expanduser().absolute()
    if dest.exists():
        raise BackupError(f"{dest} exists; a backup never overwrites a file: give a new file name")
    if not src.is_file() or src.stat().st_size == 0:
        raise BackupError(f"there is no database to back up at {src}")
    if not dest.parent.is_dir():
        raise BackupError(f"the folder {dest.parent} does not exist")
    partial = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    try:
        _copy(src, partial)
        os.link(partial, dest)  # never replaces a file that appeared meanwhile
    except FileExistsError:
        raise BackupError(f"{dest} appeared while the backup ran; nothing was overwritten") from None
    except (sqlite3.DatabaseError, DatabaseDamaged) as err:
        raise BackupError(f"could not back up {src}: {err}; nothing was written") from None
    finally:
        partial.unlink(missing_ok=True)
    found = probe(f"sqlite:///{dest}")
    return BackupInfo(dest, dest.stat().st_size, found.store_id, len(found.job_ids), found.entries)


def inspect(path: Path) -> Probe:
    """What a backup file holds (raises BackupError when it is not a sound SparkTrainer store)."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    try:
        found = probe(f"sqlite:///{path}")
    except (DatabaseDamaged, StoreRefused, sqlite3.DatabaseError) as err:
        raise BackupError(f"{path} cannot be restored: {err}") from None
    if found.state not in ("legacy", "identified"):
        raise BackupError(f"{path} is an empty database, not a SparkTrainer backup")
    return found


def _expected_id(data: DataDir, db: Path) -> str | None:
    marker = read_marker(data)
    if marker:
        return marker.store_id
    if db.is_file() and db.stat().st_size:
        with contextlib.suppress(DatabaseDamaged, StoreRefused, sqlite3.DatabaseError):
            return probe(f"sqlite:///{db}").store_id
    return None


def restore(data: DataDir, source: Path, force: bool = False) -> RestoreInfo:
    """Put ``source`` in place of the data dir's database; the caller holds daemon.lock."""
    db = _database(data)
    source = source.expanduser().absolute()
    if source == db:
        raise BackupError(f"{source} is the database itself; restore from a backup file")
    found = inspect(source)
    expected = _expected_id(data, db)
    if expected and found.store_id != expected and not force:
        whose = (
            f"the store {found.store_id} (created {found.created_at})"
            if found.store_id
            else ("a store made before store ids")
        )
        raise BackupError(
            f"{source} is {whose}, not this data dir's store {expected}; nothing was changed. If you "
            f"mean to make it this data dir's store, run again with --force"
        )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    incoming = db.with_name(f".{db.name}.restoring-{os.getpid()}")
    try:
        _copy(source, incoming)
    except (sqlite3.DatabaseError, DatabaseDamaged) as err:
        incoming.unlink(missing_ok=True)
        raise BackupError(f"could not read {source}: {err}") from None
    replaced = []
    for suffix in ("", "-wal", "-shm"):  # the -wal may hold the newest transactions: it goes along
        old = db.with_name(db.name + suffix)
        if old.exists():
            aside = db.with_name(f"{db.name}.replaced-{stamp}{suffix}")
            os.rename(old, aside)
            replaced.append(aside)
    os.rename(incoming, db)
    fsync_dir(db.parent)
    marker_moved = None
    if found.store_id:
        if found.store_id != expected:
            write_marker(data, found.store_id, found.created_at or "", data.database_url)
    elif data.store_marker.exists():  # an id-less store gets its id at the next start
        marker_moved = data.store_marker.with_name(f"store.json.replaced-{stamp}")
        os.rename(data.store_marker, marker_moved)
    adopted = bool(expected) and found.store_id != expected
    log.warning(
        "restored %s from %s (store %s%s); the replaced database is kept as %s",
        db, source, found.store_id or "without id", ", adopted with --force" if adopted else "",
        ", ".join(map(str, replaced)) or "(none)",
    )  # fmt: skip
    return RestoreInfo(found.store_id, replaced, adopted, marker_moved)
