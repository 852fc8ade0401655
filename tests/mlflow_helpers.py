"""Helpers for tests on MLflow tracking stores: stores at a chosen schema, the state a kill of
MLflow's own first start leaves, and a store's schema revision."""

from __future__ import annotations

import sqlite3
from pathlib import Path


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
