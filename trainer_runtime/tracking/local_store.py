"""The app's own MLflow tracking store (``<data dir>/mlflow/mlflow.db``), made so that a kill
at any moment leaves either no store or a finished one.

MLflow creates a SQLite store's tables on first use with ~70 Alembic migrations, and SQLite
DDL under Alembic is not one transaction: a ``kill -9`` in the middle leaves ``alembic_version``
at one migration while the next one's tables already exist, and every later open fails with
"table ... already exists". So the store is never created in place:

- no file: a child process (``SqlAlchemyStore``) creates the whole store in a temp file next to
  it; once the file checks out complete it is hard-linked into place (``os.link`` never replaces
  a file someone else made meanwhile) and the temp name is removed. The child dies with the
  daemon (``PR_SET_PDEATHSIG``); stale temp files of a killed creation are removed first.
- a file whose schema is not this MLflow's (half-made by an older build, or made by an older
  MLflow) and that holds nothing (no runs, models, traces or experiments besides "Default"):
  it is moved aside as ``mlflow.db.broken-<time>`` (never deleted) and a fresh store is made.
- such a file that holds something is upgraded in a copy (SQLite online backup, then ``mlflow db
  upgrade``, then a check); the copy replaces the file atomically and the old file stays as
  ``mlflow.db.before-upgrade-<time>``. A copy that cannot be upgraded (the file is half-upgraded)
  is reported, and the file is left as it is.
- a file made by a newer MLflow, or one that is not a SQLite database, is reported.

A user's own tracking URI is never prepared here: MLflow opens it as it is, and what breaks
is reported by the mirror. Runs in the mirror thread (it reads files and spawns a process).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from trainer_runtime.fsutil import fsync_dir, fsync_file
from trainer_runtime.tracking.errors import ErrorKind, MirrorUnavailable, broken_store_reason, first_line

log = logging.getLogger(__name__)
CREATE_TIMEOUT_S = 600.0
TEMP_MARK = ".creating-"
# Tables whose rows are a user's work, with a noun for each (experiment 0 "Default" is made
# by MLflow itself).
_CONTENT = {
    "runs": ("run", "SELECT count(*) FROM runs"),
    "experiments": ("experiment", "SELECT count(*) FROM experiments WHERE experiment_id != 0"),
    "registered_models": ("registered model", "SELECT count(*) FROM registered_models"),
    "logged_models": ("logged model", "SELECT count(*) FROM logged_models"),
    "trace_info": ("trace", "SELECT count(*) FROM trace_info"),
}
# Run in a child so a kill of the daemon (or of the child) never leaves a half-made store in
# place, and no engine or cache of this process ever points at the temp file.
_CHILD = """
import ctypes, os, sys
try:
    ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG = SIGKILL: die with the daemon
except (AttributeError, OSError):
    pass
if os.getppid() != int(sys.argv[1]):
    sys.exit(3)  # the daemon is already gone
import sqlalchemy

# The temp file is in no one's use until it is complete and fsynced: no need to sync each of
# the ~70 migrations' commits (this halves the time on a busy disk).
@sqlalchemy.event.listens_for(sqlalchemy.engine.Engine, "connect")
def _fast(dbapi_connection, record):
    dbapi_connection.execute("PRAGMA synchronous = OFF")
    dbapi_connection.execute("PRAGMA journal_mode = MEMORY")
if sys.argv[2] == "upgrade":
    from mlflow.db import upgrade  # the command behind `mlflow db upgrade URL`
    upgrade.main([sys.argv[3]], standalone_mode=False)
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
SqlAlchemyStore(sys.argv[3], sys.argv[4])
"""


@dataclass(frozen=True)
class StoreCheck:
    """What a store file holds. ``state``: absent, ready, behind (not this MLflow's schema,
    from a half-made creation or an older MLflow), newer (a newer MLflow's schema), unreadable."""

    state: str
    revision: str | None = None
    head: str | None = None
    items: int = 0
    detail: str = ""
    holds: str = "nothing"  # e.g. "3 runs, 1 experiment"


def sqlite_path(uri: str) -> Path | None:
    """The file of a ``sqlite:///`` tracking URI; None for any other URI or an in-memory one."""
    if not uri.startswith("sqlite:///"):
        return None
    rest = uri[len("sqlite:///") :].split("?", 1)[0]
    if not rest or rest == ":memory:" or rest.startswith("file:"):
        return None
    return Path(rest)


@lru_cache(maxsize=1)
def _revisions() -> tuple[str, frozenset[str]]:
    """This MLflow's newest schema revision and all it knows."""
    import mlflow.store
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(Path(mlflow.store.__file__).parent / "db_migrations"))
    heads = script.get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"MLflow's migrations have {len(heads)} heads")
    return heads[0], frozenset(r.revision for r in script.walk_revisions())


def check(path: Path) -> StoreCheck:
    """Look at a store file without changing it (SQLite may roll back a hot journal)."""
    if not path.exists():
        return StoreCheck("absent")  # (before importing mlflow: a first start begins at once)
    head, known = _revisions()
    if path.stat().st_size == 0:
        return StoreCheck("behind", head=head, detail="an empty file")
    try:
        with closing(sqlite3.connect(path, timeout=30)) as db:
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            row = (
                db.execute("SELECT version_num FROM alembic_version").fetchone()
                if "alembic_version" in tables
                else None
            )
            counts = {noun: db.execute(q).fetchone()[0] for t, (noun, q) in _CONTENT.items() if t in tables}
    except sqlite3.OperationalError as err:
        if "locked" in str(err) or "busy" in str(err):
            raise MirrorUnavailable(
                f"The MLflow tracking store {path} is busy ({first_line(err)}). The mirror will try again.",
                reason=first_line(err),
            ) from err
        return StoreCheck("unreadable", head=head, detail=first_line(err))
    except sqlite3.DatabaseError as err:
        return StoreCheck("unreadable", head=head, detail=first_line(err))
    revision = row[0] if row else None
    items = sum(counts.values())
    holds = ", ".join(f"{n} {noun}{'s' if n != 1 else ''}" for noun, n in counts.items() if n) or "nothing"
    if revision == head:
        return StoreCheck("ready", revision, head, items, holds=holds)
    if revision is not None and revision not in known:
        detail = f"schema {revision}, newer than this MLflow's {head}"
        return StoreCheck("newer", revision, head, items, detail, holds)
    found = f"schema {revision}" if revision else "no schema version"
    return StoreCheck("behind", revision, head, items, f"{found}, this MLflow needs {head}", holds)


def prepare(path: Path, artifact_root: str) -> None:
    """Make sure the app's own store at ``path`` is complete before MLflow opens it (see the
    module doc). Raises MirrorUnavailable: kind broken for a store it must not change."""
    _remove_stale_temps(path)
    found = check(path)
    if found.state == "ready":
        return
    if found.state == "absent":
        _create(path, artifact_root)
    elif found.state == "behind" and found.items == 0:
        aside = _move_aside(path, "broken")
        log.warning(
            "the MLflow tracking store %s was half-made (%s) and held nothing: moved it to %s "
            "and made a fresh one",
            path,
            found.detail,
            aside.name,
        )
        _create(path, artifact_root)
    elif found.state == "behind":
        _upgrade(path, artifact_root, found)
    elif found.state == "newer":
        raise _broken(
            path,
            f"was made by a newer MLflow ({found.detail})",
            "run the app with that MLflow version, or move the file aside to start a fresh store",
        )
    else:
        raise _broken(
            path,
            f"is not a readable SQLite database ({found.detail})",
            "restore it from a backup, or move it aside to start a fresh store",
        )


def _create(path: Path, artifact_root: str) -> None:
    tmp = _temp_name(path)
    try:
        _run_child("create", tmp, artifact_root)
        _check_complete(tmp)
        fsync_file(tmp)
        try:
            os.link(tmp, path)
        except FileExistsError:
            log.warning("the MLflow tracking store %s appeared while this one was made; using that one", path)
        fsync_dir(path.parent)
        log.info("created the MLflow tracking store %s", path)
    finally:
        _remove(tmp)


def _upgrade(path: Path, artifact_root: str, found: StoreCheck) -> None:
    tmp = _temp_name(path)
    try:
        with closing(sqlite3.connect(path, timeout=30)) as src, closing(sqlite3.connect(tmp)) as dst:
            src.backup(dst)
        try:
            _run_child("upgrade", tmp, artifact_root)
        except MirrorUnavailable as err:
            if err.kind is not ErrorKind.BROKEN:
                raise
            raise _broken(
                path,
                f"is half-made ({found.detail}; {err.reason}) and holds {found.holds}, so it was left as it is",
                "restore it from a backup (an earlier upgrade keeps one as mlflow.db.before-upgrade-*), "
                "or move it aside to start a fresh store",
            ) from err
        _check_complete(tmp)
        fsync_file(tmp)
        backup = _aside_name(path, "before-upgrade")
        os.link(path, backup)  # the old file keeps a name before the new one takes its place
        os.replace(tmp, path)
        fsync_dir(path.parent)
        log.warning(
            "upgraded the MLflow tracking store %s (%s); the old file is kept as %s",
            path,
            found.detail,
            backup.name,
        )
    finally:
        _remove(tmp)


def _run_child(mode: str, tmp: Path, artifact_root: str) -> None:
    cmd = [sys.executable, "-c", _CHILD, str(os.getpid()), mode, f"sqlite:///{tmp}", artifact_root]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=CREATE_TIMEOUT_S, cwd=tmp.parent, check=False
        )
    except subprocess.TimeoutExpired as err:
        raise MirrorUnavailable(
            f"Making the MLflow tracking store {tmp.name} took over {CREATE_TIMEOUT_S:.0f} s. The mirror will try again.",
            reason="store creation timed out",
        ) from err
    if proc.returncode == 0:
        return
    log.error(
        "making the MLflow tracking store in %s failed (exit %s):\n%s",
        tmp,
        proc.returncode,
        proc.stderr[-4000:],
    )
    error = RuntimeError(proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    reason = broken_store_reason(error)
    if reason is not None:
        raise MirrorUnavailable(reason, kind=ErrorKind.BROKEN, reason=reason)
    last = first_line(lines[-1]) if lines else f"exit status {proc.returncode}"
    raise MirrorUnavailable(
        f"Could not make the MLflow tracking store in {tmp.parent} ({last}). The mirror will try again; "
        "check the free disk space and the folder's permissions if this lasts.",
        reason=last,
    )


def _check_complete(tmp: Path) -> None:
    done = check(tmp)
    if done.state != "ready":
        raise MirrorUnavailable(
            f"The new MLflow tracking store {tmp} came out incomplete ({done.detail or done.state}). The mirror will try again.",
            reason=f"incomplete store: {done.detail or done.state}",
        )


def _broken(path: Path, what: str, todo: str) -> MirrorUnavailable:
    return MirrorUnavailable(
        f"The MLflow tracking store {path} {what} — {todo}; then restart the daemon.",
        kind=ErrorKind.BROKEN,
        reason=f"{path.name} {what}",
    )


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _aside_name(path: Path, label: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.name}.{label}-{stamp}")
    n = 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.{label}-{stamp}-{n}")
    return candidate


def _move_aside(path: Path, label: str) -> Path:
    """Rename the store and its SQLite side files; nothing is deleted."""
    aside = _aside_name(path, label)
    for suffix in ("-journal", "-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(aside.with_name(aside.name + suffix))
    path.rename(aside)
    fsync_dir(path.parent)
    return aside


def _remove_stale_temps(path: Path) -> None:
    """Temp stores of a creation that was killed: never in place, so they hold nothing."""
    for stale in path.parent.glob(f".{path.name}{TEMP_MARK}*"):
        log.info(
            "removing %s, left by a creation of the MLflow tracking store that did not finish", stale.name
        )
        stale.unlink(missing_ok=True)


def _remove(tmp: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        tmp.with_name(tmp.name + suffix).unlink(missing_ok=True)


__all__ = ["StoreCheck", "check", "prepare", "sqlite_path"]
