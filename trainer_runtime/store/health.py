"""Is the database sound, and what to tell a user when it is not.

``quick_check`` runs SQLite's ``PRAGMA quick_check`` at daemon start; ``describe_database_error``
turns any database error met later (a damaged page read by one query, a full disk, a file
deleted under the daemon) into a sentence for the API's error answer. The traceback belongs in
daemon.log, never in an answer."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

RESTORE = (
    "stop the runtime (`sparktrainer runtime stop`), keep the file as it is, and restore a backup "
    "with `sparktrainer store restore FILE` (the damaged file is kept beside it, never deleted)"
)
_DAMAGED = ("malformed", "not a database", "file is encrypted", "disk image")
MAX_DETAIL = 300


class DatabaseDamaged(RuntimeError):
    """The database file fails SQLite's own checks."""


def shown_url(url: str) -> str:
    """How to name a database to a user: the file of a SQLite URL, else the URL without its password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or "(in-memory SQLite database)"
    return parsed.render_as_string(hide_password=True)


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def clean(text: str, limit: int = MAX_DETAIL) -> str:
    """One printable line, bounded: what SQLite said, fit to put in a sentence."""
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def quick_check(con: sqlite3.Connection, path: Path) -> None:
    """Raise DatabaseDamaged when ``PRAGMA quick_check`` finds anything wrong in ``con``'s file."""
    try:
        rows = [r[0] for r in con.execute("PRAGMA quick_check(5)")]
    except sqlite3.DatabaseError as err:
        raise DatabaseDamaged(damaged_sentence(f"the database {path}", str(err))) from None
    if rows != ["ok"]:
        raise DatabaseDamaged(damaged_sentence(f"the database {path}", "; ".join(map(str, rows))))


def damaged_sentence(where: str, said: str) -> str:
    return f"{where} is damaged (SQLite says: {clean(said)}); {RESTORE}"


def describe_database_error(err: BaseException, where: str = "the SparkTrainer database") -> str:
    """A sentence for a ``sqlalchemy.exc.DatabaseError`` (or a ``sqlite3.Error``): what went
    wrong with the database ``where`` names and what to do. Called by the API's error answer."""
    orig = getattr(err, "orig", None) or err  # the driver's own error, without SQLAlchemy's SQL text
    text = str(orig).strip() or type(orig).__name__
    said = clean(text.splitlines()[0])
    low = said.lower()
    if any(k in low for k in _DAMAGED):
        return damaged_sentence(where, said)
    if "disk is full" in low or "no space" in low:
        return f"the disk holding {where} is full; free some space and try again (nothing was stored)"
    if "readonly" in low or "read-only" in low:
        return f"{where} cannot be written (SQLite says: {said}); check the file's permissions and the disk"
    if "unable to open" in low:
        return (
            f"{where} cannot be opened (SQLite says: {said}): was it moved or deleted while the runtime "
            "ran? Restart the runtime (`sparktrainer runtime stop`, then any command)"
        )
    if "locked" in low or "busy" in low:
        return f"{where} is busy (another program holds a lock on it); try again in a moment"
    if "no such table" in low or "no such column" in low:
        return (
            f"{where} does not have the tables this version expects (SQLite says: {said}); it was "
            "replaced while the runtime ran, or made by another version: restart the runtime"
        )
    return f"the database failed (it says: {said}); see daemon.log in the data dir for details"
