"""The store's identity on real SQLite files: a data dir opens only its own database, a missing,
empty, damaged or foreign one is refused with a sentence, and nothing is created or cleaned
against it; a database from before store ids is given one (the upgrade path)."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from tests import dataset_fixtures as fx
from trainer_runtime.datasets.service import DatasetService
from trainer_runtime.paths import DataDir
from trainer_runtime.store import db
from trainer_runtime.store.health import DatabaseDamaged, describe_database_error
from trainer_runtime.store.identity import StoreRefused, open_store, read_marker
from trainer_runtime.store.store import Store

RESTORE_HINT = "sparktrainer store restore FILE"


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataDir:
    monkeypatch.delenv("SPARKTRAINER_DB_URL", raising=False)
    return DataDir(tmp_path / "home").ensure()


def _opened(data: DataDir) -> str:
    store = open_store(data)
    try:
        assert store.store_id
        return store.store_id
    finally:
        store.close()


def _pre_id_database(path: Path) -> Store:
    """A database as the previous release made it (migrations up to 0002: no store id)."""
    from alembic import command

    engine = db.make_engine(f"sqlite:///{path}")
    cfg = db.alembic_config(str(engine.url))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    engine.dispose()
    return Store(f"sqlite:///{path}", migrate=False)


def _blob(data: DataDir, name: str = "ab" + "c" * 62) -> Path:
    path = data.blobs / name[:2] / name[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"a stored dataset file")
    return path


def test_fresh_data_dir_gets_one_id_in_the_database_and_the_marker(data: DataDir):
    store_id = _opened(data)
    marker = json.loads(data.store_marker.read_text())
    assert marker["store_id"] == store_id and marker["database"] == str(data.database)
    con = sqlite3.connect(data.database)
    assert con.execute("select value from store_meta where key = 'store_id'").fetchone()[0] == store_id
    con.close()
    assert _opened(data) == store_id, "reopening keeps the id"
    for path in (data.database, data.store_marker):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(data.root.stat().st_mode) == 0o700


def test_a_database_from_before_store_ids_gets_one_and_keeps_its_jobs(data: DataDir):
    old = _pre_id_database(data.database)
    job = old.create_job({"name": "kept", "experiment": "e"})
    old.close()
    (data.jobs / job.id / "attempt-1").mkdir(parents=True)
    store = open_store(data)
    try:
        assert store.get_job(job.id).name == "kept" and store.store_id
        assert read_marker(data).store_id == store.store_id  # type: ignore[union-attr]
    finally:
        store.close()


def _foreign(data: DataDir, tmp_path: Path) -> None:
    other = DataDir(tmp_path / "other").ensure()
    _opened(other)
    shutil.copyfile(other.database, data.database)


@pytest.mark.parametrize(
    "damage, found",
    [
        (lambda data, tmp: data.database.write_bytes(b""), "is empty"),
        (lambda data, tmp: data.database.unlink(), "does not exist"),
        (_foreign, "is the store"),
    ],
    ids=["emptied", "deleted", "another-store"],
)
def test_a_replaced_database_is_refused_and_left_as_it_is(data: DataDir, tmp_path: Path, damage, found):
    store_id = _opened(data)
    blob = _blob(data)
    for suffix in ("-wal", "-shm"):
        data.database.with_name(data.database.name + suffix).unlink(missing_ok=True)
    damage(data, tmp_path)
    before = data.database.read_bytes() if data.database.exists() else None
    with pytest.raises(StoreRefused) as info:
        open_store(data)
    msg = str(info.value)
    assert found in msg and str(data.database) in msg and store_id in msg and RESTORE_HINT in msg
    assert "1 stored dataset file(s)" in msg and "Nothing was changed or cleaned" in msg
    assert (data.database.read_bytes() if data.database.exists() else None) == before, "nothing written"
    assert blob.exists() and read_marker(data).store_id == store_id  # type: ignore[union-attr]


def test_db_url_pointing_at_a_new_file_is_refused_without_creating_it(
    data: DataDir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    store_id = _opened(data)
    elsewhere = tmp_path / "elsewhere.db"
    monkeypatch.setenv("SPARKTRAINER_DB_URL", f"sqlite:///{elsewhere}")
    with pytest.raises(StoreRefused, match="SPARKTRAINER_DB_URL points there") as info:
        open_store(data)
    assert store_id in str(info.value) and not elsewhere.exists()


def test_a_pre_id_database_in_place_of_an_identified_one_is_refused(data: DataDir):
    _opened(data)
    data.database.unlink()
    _pre_id_database(data.database).close()
    with pytest.raises(StoreRefused, match="has no store id"):
        open_store(data)


def test_a_new_database_in_a_data_dir_with_files_is_refused(data: DataDir):
    _blob(data)
    (data.jobs / "0123456789ab" / "attempt-1").mkdir(parents=True)
    with pytest.raises(StoreRefused) as info:
        open_store(data)
    assert "1 stored dataset file(s) and 1 job dir(s) that a new database knows nothing of" in str(info.value)
    assert not data.database.exists() and not data.store_marker.exists()


def test_a_pre_id_database_that_knows_none_of_the_files_is_refused(data: DataDir):
    """The old daemon migrated an emptied database before it deleted the blobs: such a database
    has tables and no rows. It is not given an id over a data dir it knows nothing of."""
    _pre_id_database(data.database).close()
    _blob(data)
    with pytest.raises(StoreRefused, match="the database has no dataset version"):
        open_store(data)


def _damage(path: Path) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.seek(size // 2)
        fh.write(random.Random(1).randbytes(8192))


def _store_with_jobs(path: Path, n: int = 300) -> None:
    store = Store(f"sqlite:///{path}")
    for i in range(n):
        store.create_job({"name": f"job{i}", "experiment": "e", "tags": {"pad": "x" * 400}})
    store.close()


def test_a_damaged_database_is_refused_with_what_sqlite_said(data: DataDir):
    _opened(data)
    _store_with_jobs(data.database)
    _damage(data.database)
    with pytest.raises(DatabaseDamaged) as info:
        open_store(data)
    msg = str(info.value)
    assert f"the database {data.database} is damaged (SQLite says: " in msg, msg
    assert RESTORE_HINT in msg


def test_a_file_that_is_no_database_is_refused(data: DataDir):
    data.database.write_bytes(b"these are not the pages of a database\n" * 200)
    with pytest.raises(DatabaseDamaged, match="file is not a database"):
        open_store(data)


def test_a_database_error_while_serving_becomes_a_sentence(tmp_path: Path):
    path = tmp_path / "s.db"
    _store_with_jobs(path)
    store = Store(f"sqlite:///{path}", migrate=False)
    _damage(path)
    with pytest.raises(DatabaseError) as info, store.engine.connect() as conn:
        conn.execute(text("select count(*), max(spec_json) from jobs")).all()
    sentence = store.describe_error(info.value)
    store.close()
    assert sentence.startswith(f"the database {path} is damaged (SQLite says:")
    assert RESTORE_HINT in sentence
    assert "Traceback" not in sentence and "sqlalche.me" not in sentence and "select" not in sentence
    full = describe_database_error(sqlite3.OperationalError("database or disk is full"), "the database x")
    assert (
        full == "the disk holding the database x is full; free some space and try again (nothing was stored)"
    )


def test_clean_leftovers_removes_staging_but_never_a_stored_blob(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    store = Store(f"sqlite:///{home / 'sparktrainer.db'}")
    svc = DatasetService(home / "datasets", store.engine)
    svc.import_(fx.text_corpus(tmp_path / "c"), "c")
    orphan = "ab" * 32
    svc.blobs.put_bytes(b"written before a crash, never committed", orphan)
    (svc.root / "tmp" / "extract-dead").mkdir(parents=True)
    svc.clean_leftovers()
    assert svc.blobs.has(orphan), "an unused blob is left for `store gc`, never deleted at start"
    assert not (svc.root / "tmp" / "extract-dead").exists()
    store.close()


def test_private_modes_are_tightened_on_an_old_data_dir(tmp_path: Path):
    data = DataDir(tmp_path / "old")
    data.root.mkdir(mode=0o755)
    os.chmod(data.root, 0o755)
    data.database.write_bytes(b"")
    os.chmod(data.database, 0o644)
    data.settings_file.write_text("{}")
    os.chmod(data.settings_file, 0o664)
    changed = data.ensure().secure()
    assert stat.S_IMODE(data.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(data.database.stat().st_mode) == 0o600
    assert stat.S_IMODE(data.settings_file.stat().st_mode) == 0o600
    assert any("from 0755 to 0700" in c for c in changed) and len(changed) == 3
    assert data.secure() == [], "a second start changes nothing"
