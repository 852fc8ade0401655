"""`store backup`, `store restore` and `store gc` on real SQLite files and blob folders."""

from __future__ import annotations

import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import dataset_fixtures as fx
from trainer_runtime.cli.main import main as cli_main
from trainer_runtime.daemon_lock import DaemonLock
from trainer_runtime.datasets.service import DatasetService
from trainer_runtime.paths import DataDir
from trainer_runtime.store import gc
from trainer_runtime.store.backup import BackupError, backup, restore
from trainer_runtime.store.identity import StoreRefused, open_store, read_marker
from trainer_runtime.store.store import Store


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataDir:
    monkeypatch.delenv("SPARKTRAINER_DB_URL", raising=False)
    monkeypatch.setenv("SPARKTRAINER_HOME", str(tmp_path / "home"))
    return DataDir(tmp_path / "home").ensure()


@pytest.fixture
def store(data: DataDir) -> Iterator[Store]:
    s = open_store(data)
    yield s
    s.close()


def _count(path: Path, sql: str) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_a_backup_is_one_consistent_snapshot_while_a_writer_runs(data: DataDir, store: Store, tmp_path: Path):
    stop = threading.Event()
    written = []

    def writer() -> None:
        while not stop.is_set():  # each job and its audit row are one transaction
            written.append(store.create_job({"name": "w", "experiment": "e"}).id)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 20:
            threading.Event().wait(0.01)
        infos = [backup(data, tmp_path / f"b{i}.db") for i in range(3)]
    finally:
        stop.set()
        thread.join()
    for info in infos:
        jobs = _count(info.path, "select count(*) from jobs")
        assert jobs == _count(info.path, "select count(*) from job_transitions") == info.jobs
        assert 20 <= jobs <= len(written)
        assert info.store_id == store.store_id and _count(info.path, "pragma quick_check") == "ok"
        assert sqlite3.connect(info.path).execute("pragma journal_mode").fetchone()[0] == "delete"
        assert not Path(f"{info.path}-wal").exists() and stat.S_IMODE(info.path.stat().st_mode) == 0o600
    with pytest.raises(BackupError, match="never overwrites"):
        backup(data, infos[0].path)


def test_restore_puts_the_backup_back_and_keeps_the_replaced_database(
    data: DataDir, store: Store, tmp_path: Path
):
    kept_job = store.create_job({"name": "in-the-backup"}).id
    saved = backup(data, tmp_path / "saved.db").path
    later = store.create_job({"name": "after-the-backup"}).id
    store.close()
    info = restore(data, saved)
    assert info.store_id == read_marker(data).store_id and not info.adopted  # type: ignore[union-attr]
    back = open_store(data)
    try:
        assert [j.id for j in back.list_jobs()] == [kept_job]
    finally:
        back.close()
    replaced = info.replaced[0]  # then its -wal and -shm, when there were any
    assert replaced.name.startswith("sparktrainer.db.replaced-") and replaced.name.endswith("Z")
    assert _count(replaced, f"select count(*) from jobs where id = '{later}'") == 1, "nothing is lost"


def test_restore_refuses_another_stores_backup_unless_forced(data: DataDir, store: Store, tmp_path: Path):
    other = DataDir(tmp_path / "other").ensure()
    foreign = open_store(other)
    foreign_id = foreign.store_id
    foreign.close()
    store.close()
    with pytest.raises(BackupError) as info:
        restore(data, other.database)
    assert f"is the store {foreign_id}" in str(info.value) and str(store.store_id) in str(info.value)
    assert "--force" in str(info.value) and read_marker(data).store_id == store.store_id  # type: ignore[union-attr]
    forced = restore(data, other.database, force=True)
    assert forced.adopted and read_marker(data).store_id == foreign_id  # type: ignore[union-attr]
    open_store(data).close()  # the adopted store starts


def test_restore_refuses_what_is_no_sound_sparktrainer_store(data: DataDir, store: Store, tmp_path: Path):
    store.close()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"no database at all\n" * 500)
    with pytest.raises(BackupError, match="file is not a database"):
        restore(data, junk)
    alien = tmp_path / "alien.db"
    con = sqlite3.connect(alien)
    con.execute("create table recipes (id integer)")
    con.close()
    with pytest.raises(BackupError, match="is not a SparkTrainer database"):
        restore(data, alien)
    assert not list(data.root.glob("*.replaced-*")), "nothing was replaced"


def test_restore_and_gc_refuse_while_a_daemon_holds_the_data_dir(
    data: DataDir, store: Store, tmp_path: Path, capsys
):
    saved = backup(data, tmp_path / "saved.db").path
    lock = DaemonLock.acquire(data)
    try:
        assert cli_main(["store", "restore", str(saved)]) == 2
        assert "needs the runtime stopped: run `sparktrainer runtime stop` first" in capsys.readouterr().err
        assert cli_main(["store", "gc", "--apply"]) == 2
    finally:
        lock.release()


def _service(data: DataDir, store: Store) -> DatasetService:
    return DatasetService(data.datasets, store.engine)


def test_gc_removes_only_what_a_consistent_store_does_not_use(data: DataDir, store: Store, tmp_path: Path):
    svc = _service(data, store)
    svc.import_(fx.text_corpus(tmp_path / "c", files=3), "c")
    orphan = "ab" * 32
    svc.blobs.put_bytes(b"left by an import killed before its commit", orphan)
    dry = gc.collect(data, store.engine)
    assert (dry.stored, dry.referenced, dry.orphans, dry.removed) == (4, 3, [orphan], 0)
    assert svc.blobs.has(orphan), "a dry run removes nothing"
    assert gc.collect(data, store.engine, apply=True).removed == 1
    assert not svc.blobs.has(orphan) and svc.verify("c")["ok"]


def test_gc_deletes_nothing_against_an_inconsistent_store(data: DataDir, store: Store, tmp_path: Path):
    svc = _service(data, store)
    svc.import_(fx.text_corpus(tmp_path / "c", files=3), "c")
    orphan = "cd" * 32
    svc.blobs.put_bytes(b"an unused file", orphan)
    _, entries = svc.entries("c")
    svc.blobs.path(entries[0].sha256).unlink()  # a file a version uses is missing
    with pytest.raises(StoreRefused, match="are missing from"):
        gc.collect(data, store.engine, apply=True)
    assert svc.blobs.has(orphan)
    svc.delete_version("c", 1)  # no version left, but files in the blob folder
    svc.blobs.put_bytes(b"another unused file", "ef" * 32)
    with pytest.raises(StoreRefused, match="has no dataset version"):
        gc.collect(data, store.engine, apply=True)
    data.store_marker.write_text('{"store_id": "someone-else"}')
    with pytest.raises(StoreRefused, match="do not agree"):
        gc.collect(data, store.engine, apply=True)
    assert svc.blobs.has(orphan) and svc.blobs.has("ef" * 32)
