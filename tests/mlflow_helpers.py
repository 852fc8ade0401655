"""Helpers for tests on MLflow tracking stores: stores at a chosen schema, the state a kill of
MLflow's own first start leaves, and a store's schema revision."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import psutil


def mlflow_revisions() -> list[str]:
    """MLflow's schema revisions, oldest first."""
    import mlflow.store
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(Path(mlflow.store.__file__).parent / "db_migrations"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


# A kill of MLflow's own first start, seen in the reproduction: migration 1a0cddfcaa16 had made
# its table ``webhooks`` when the process died, and ``alembic_version`` still named the one before.
KILLED_IN = ("de4033877273", "1a0cddfcaa16")


def alembic_store(path: Path, upto: str) -> Path:
    """A store at schema ``upto``, made as MLflow makes one (initial tables, then migrations)."""
    import sqlalchemy
    from alembic import command
    from mlflow.store.db.utils import _get_alembic_config
    from mlflow.store.tracking.dbmodels.initial_models import Base as InitialBase

    path.parent.mkdir(parents=True, exist_ok=True)
    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    InitialBase.metadata.create_all(engine)
    config = _get_alembic_config(str(engine.url))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, upto)
    engine.dispose()
    return path


def killed_store(path: Path) -> Path:
    """The state a kill during MLflow's own first migrations leaves (see KILLED_IN)."""
    alembic_store(path, KILLED_IN[1])
    with sqlite3.connect(path) as db:
        db.execute("UPDATE alembic_version SET version_num = ?", (KILLED_IN[0],))
    db.close()
    return path


def revision(path: Path) -> str | None:
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    db.close()
    return row[0] if row else None


def store_progress(folder: Path, revs: list[str]) -> int:
    """How far the making of the store ``folder/mlflow.db`` (in place, or in the app's temp
    file) has come: the index in ``revs`` of the furthest schema seen, or -1."""
    seen = -1
    for candidate in (*folder.glob(".mlflow.db.creating-*"), folder / "mlflow.db"):
        try:
            with sqlite3.connect(f"file:{candidate}?mode=ro", uri=True, timeout=0.05) as db:
                row = db.execute("SELECT version_num FROM alembic_version").fetchone()
            db.close()
        except sqlite3.Error:
            continue  # not made yet, or locked by the writer this moment
        if row and row[0] in revs:
            seen = max(seen, revs.index(row[0]))
    return seen


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_for_migration(
    pid: int, folder: Path, revs: list[str], target: int,
    give_up: Callable[[], bool] | None = None, timeout: float = 300,
) -> tuple[int, list[psutil.Process]]:  # fmt: skip
    """Poll the store being made by process ``pid`` until its schema reaches the ``target``-th
    migration, the process ends, ``give_up()`` (checked twice a second) says so, or ``timeout``
    passes. Returns the migration seen and the process's children at that moment."""
    proc = psutil.Process(pid)
    deadline = time.monotonic() + timeout
    next_check = time.monotonic() + 0.5
    seen, children = -1, []
    while time.monotonic() < deadline and _alive(proc):
        try:
            children = proc.children(recursive=True)
        except psutil.NoSuchProcess:
            break
        seen = max(seen, store_progress(folder, revs))
        if seen >= target:
            break
        if give_up is not None and time.monotonic() > next_check:
            if give_up():
                break
            next_check = time.monotonic() + 0.5
        time.sleep(0.01)
    return seen, children


def wait_gone(procs: list[psutil.Process], timeout: float = 30) -> None:
    """Wait until every process in ``procs`` has ended (a zombie counts as ended)."""
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in procs):
        assert time.monotonic() < deadline, (
            f"processes outlived their parent: {[p for p in procs if _alive(p)]}"
        )
        time.sleep(0.05)
