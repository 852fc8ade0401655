"""The store's identity: which database belongs to this data dir.

A store id (a uuid) lives in the database (``store_meta``, migration 0003) and in the data
dir's marker ``store.json``. ``open_store`` looks at both *before* anything is migrated or
written, and refuses, with a sentence saying what it found and what to do, a database that is
missing, empty, damaged or another store's, and a new database in a data dir that holds job
dirs or dataset files a new database knows nothing of. An empty database opened as if it were
the store once cost a user every dataset file: the first datasets call deleted all blobs as
"orphans". Nothing is created, migrated or cleaned against a refused store.

A database made before store ids (tables, no id) is given one on its first start (the upgrade
path), unless it plainly knows nothing of the data dir's contents (see ``_unknown_contents``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text

from trainer_runtime.paths import PRIVATE_FILE, DataDir
from trainer_runtime.store.health import quick_check, shown_url, sqlite_path
from trainer_runtime.store.store import Store

log = logging.getLogger(__name__)
MARKER_FORMAT = 1
WHAT_TO_DO = (
    "Nothing was changed or cleaned. To go on, restore a backup with `sparktrainer store restore FILE`, "
    "or point SPARKTRAINER_DB_URL back at this data dir's database, or move the data dir {root} away "
    "to start fresh"
)


class StoreRefused(RuntimeError):
    """The database is not this data dir's store; the message says what was found and what to do."""


@dataclass(frozen=True)
class Marker:
    store_id: str
    created_at: str
    database: str


@dataclass
class Probe:
    """What a database holds, read before anything is migrated."""

    shown: str  # the file, or the URL without its password
    state: str  # missing | empty | legacy | identified
    store_id: str | None = None
    created_at: str | None = None
    job_ids: set[str] = field(default_factory=set)
    entries: int = 0


@dataclass(frozen=True)
class Contents:
    """What the data dir holds that a database refers to."""

    blobs: int
    job_dirs: list[str]

    def describe(self) -> str:
        return f"{self.blobs} stored dataset file(s) and {len(self.job_dirs)} job dir(s)"


# --------------------------------------------------------------------------- marker
def read_marker(data: DataDir) -> Marker | None:
    try:
        raw = data.store_marker.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        doc = json.loads(raw)
        return Marker(str(doc["store_id"]), str(doc.get("created_at", "")), str(doc.get("database", "")))
    except (ValueError, KeyError, TypeError):
        raise StoreRefused(
            f"{data.store_marker} is not readable (it should name this data dir's store id), so SparkTrainer "
            "cannot tell whether the database belongs here. If the database is the right one, move "
            "store.json away and start again: the store id is then taken from the database"
        ) from None


def write_marker(data: DataDir, store_id: str, created_at: str, url: str) -> None:
    doc = {
        "format": MARKER_FORMAT,
        "store_id": store_id,
        "created_at": created_at,
        "database": shown_url(url),
    }
    tmp = data.store_marker.with_name(f".store.json.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, data.store_marker)


# ---------------------------------------------------------------------------- probe
def probe(url: str) -> Probe:
    """The database's state without creating, migrating or writing anything (SQLite files are
    also checked with ``PRAGMA quick_check``: raises DatabaseDamaged)."""
    shown = shown_url(url)
    path = sqlite_path(url)
    if path is not None:
        if not path.exists():
            return Probe(shown, "missing")
        if path.stat().st_size == 0:
            return Probe(shown, "empty")
        con = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=30)
        try:
            quick_check(con, path)
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            return _read(shown, tables, lambda sql: con.execute(sql).fetchall())
        finally:
            con.close()
    if url.startswith("sqlite"):  # an in-memory database: always new
        return Probe(shown, "empty")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            return _read(shown, tables, lambda sql: list(conn.execute(text(sql))))
    finally:
        engine.dispose()


def _read(shown: str, tables: set[str], query: Any) -> Probe:
    if not tables:
        return Probe(shown, "empty")
    if not tables & {"jobs", "alembic_version"}:
        raise StoreRefused(
            f"{shown} is not a SparkTrainer database (its tables: {', '.join(sorted(tables)[:8])}); "
            "point SPARKTRAINER_DB_URL at this data dir's database, or restore a backup with "
            "`sparktrainer store restore FILE`"
        )
    meta = dict(query("SELECT key, value FROM store_meta")) if "store_meta" in tables else {}
    job_ids = {r[0] for r in query("SELECT id FROM jobs")} if "jobs" in tables else set()
    entries = query("SELECT count(*) FROM dataset_entries")[0][0] if "dataset_entries" in tables else 0
    state = "identified" if meta.get("store_id") else "legacy"
    return Probe(shown, state, meta.get("store_id"), meta.get("created_at"), job_ids, entries)


def scan_contents(data: DataDir) -> Contents:
    """Count the stored blobs (one listing per fan-out folder) and the job dirs."""
    blobs = 0
    if data.blobs.is_dir():
        for sub in os.scandir(data.blobs):
            if len(sub.name) == 2 and sub.is_dir(follow_symlinks=False):
                blobs += sum(1 for n in os.listdir(sub.path) if not n.startswith("."))
    jobs = sorted(e.name for e in os.scandir(data.jobs) if e.is_dir()) if data.jobs.is_dir() else []
    return Contents(blobs, jobs)


# ------------------------------------------------------------------------- decision
@dataclass(frozen=True)
class Decision:
    action: str  # fresh | upgrade | adopt | ok
    probe: Probe
    marker: Marker | None
    contents: Contents


def decide(data: DataDir, url: str) -> Decision:
    """Whether the database at ``url`` may be opened as this data dir's store (raises StoreRefused)."""
    marker = read_marker(data)
    db = probe(url)
    contents = scan_contents(data)
    via_env = " (SPARKTRAINER_DB_URL points there)" if os.environ.get("SPARKTRAINER_DB_URL") else ""
    belongs = (
        f"this data dir ({data.root}) belongs to the store {marker.store_id} (store.json, created "
        f"{marker.created_at or 'at an unknown time'}) and holds {contents.describe()}"
        if marker
        else ""
    )
    what_to_do = WHAT_TO_DO.format(root=data.root)
    if db.state in ("missing", "empty"):
        found = "does not exist" if db.state == "missing" else "is empty (a new database)"
        if marker:
            raise StoreRefused(f"the database {db.shown}{via_env} {found}, but {belongs}. {what_to_do}")
        if contents.blobs or contents.job_dirs:
            raise StoreRefused(
                f"the database {db.shown}{via_env} {found}, but the data dir {data.root} holds "
                f"{contents.describe()} that a new database knows nothing of. {what_to_do}"
            )
        return Decision("fresh", db, marker, contents)
    if db.state == "legacy" and marker:
        raise StoreRefused(
            f"the database {db.shown}{via_env} has no store id (a database from before store ids, or "
            f"not this data dir's), but {belongs}. {what_to_do}; a backup of this data dir from before "
            "store ids is adopted with `sparktrainer store restore FILE --force`"
        )
    if marker and db.store_id != marker.store_id:
        raise StoreRefused(
            f"the database {db.shown}{via_env} is the store {db.store_id} (created {db.created_at}), but "
            f"{belongs}. {what_to_do}"
        )
    if marker:
        return Decision("ok", db, marker, contents)
    unknown = _unknown_contents(db, contents)
    if unknown:
        raise StoreRefused(
            f"the database {db.shown}{via_env} knows nothing of what the data dir {data.root} holds: "
            f"{unknown}. {what_to_do}"
        )
    return Decision("upgrade" if db.state == "legacy" else "adopt", db, marker, contents)


def _unknown_contents(db: Probe, contents: Contents) -> str:
    """Why the data dir's files cannot be this database's (empty when they can)."""
    problems = []
    if contents.blobs and not db.entries:
        problems.append(f"{contents.blobs} stored dataset file(s), and the database has no dataset version")
    if contents.job_dirs and not db.job_ids & set(contents.job_dirs):
        problems.append(f"{len(contents.job_dirs)} job dir(s), none of them a job of the database")
    return "; ".join(problems)


# ----------------------------------------------------------------------- establish
def establish(data: DataDir, engine: Any, url: str, decision: Decision) -> str:
    """After the migrations: give a new or pre-id database its id, write or update the marker.
    Returns the store id."""
    with engine.begin() as conn:
        meta = dict(conn.execute(text("SELECT key, value FROM store_meta")).all())
        store_id, created = meta.get("store_id"), meta.get("created_at")
        if not store_id:
            store_id = uuid.uuid4().hex
            created = datetime.now(UTC).isoformat(timespec="seconds")
            conn.execute(
                text("INSERT INTO store_meta (key, value) VALUES ('store_id', :id), ('created_at', :at)"),
                {"id": store_id, "at": created},
            )
    marker = decision.marker
    if marker is None or marker.database != shown_url(url):
        write_marker(data, store_id, created or "", url)
    if decision.action == "fresh":
        log.info("new store %s in %s", store_id, shown_url(url))
    elif decision.action == "upgrade":
        log.info(
            "gave the existing database %s the store id %s (store.json written)", shown_url(url), store_id
        )
    elif decision.action == "adopt":
        log.warning("store.json was missing; rewrote it for the store %s in %s", store_id, shown_url(url))
    elif marker is not None and marker.database != shown_url(url):
        log.info("the store %s moved from %s to %s", store_id, marker.database, shown_url(url))
    return store_id


def store_id_of(engine: Any) -> str | None:
    with engine.connect() as conn:
        return conn.execute(text("SELECT value FROM store_meta WHERE key = 'store_id'")).scalar()


def create_private(path: Path) -> None:
    """Create an empty database file with mode 0600 (SQLite would make it 0644 under the usual umask;
    its -wal and -shm files take the database file's mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def open_store(data: DataDir) -> Store:
    """This data dir's store, checked (``decide``), migrated and identified; raises StoreRefused
    or DatabaseDamaged with the sentence for the user."""
    url = data.database_url
    decision = decide(data, url)
    path = sqlite_path(url)
    if decision.action == "fresh" and path is not None:
        create_private(path)
    store = Store(url)
    try:
        store.store_id = establish(data, store.engine, url, decision)
    except BaseException:
        store.close()
        raise
    return store
