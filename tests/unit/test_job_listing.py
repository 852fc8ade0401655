"""The job list and the status counts answer from one indexed statement each, whatever the
number of jobs, and the list's rows equal the jobs' own views (a daemon object on a real SQLite
store; no socket)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from tests.store_fixtures import bulk_jobs
from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.jobs import JobRow
from trainer_runtime.daemon import Daemon
from trainer_runtime.jobs.state import JobState
from trainer_runtime.paths import DataDir


@pytest.fixture
def daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    monkeypatch.delenv("SPARKTRAINER_DB_URL", raising=False)
    monkeypatch.setenv("SPARKTRAINER_CPU_SLOTS", "2")
    d = Daemon(DataDir(tmp_path / "home").ensure())
    yield d
    d.store.close()


class Statements:
    """Every query SQLite itself runs (its trace callback, so statements sent on a raw DB-API
    cursor count too); the pool is emptied so that every connection gets the callback."""

    def __init__(self, engine):
        self.sql: list[str] = []
        engine.dispose()
        event.listen(engine, "connect", lambda dbapi, _rec: dbapi.set_trace_callback(self._on))

    def _on(self, statement: str) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            self.sql.append(statement)


def _list(d: Daemon, states: list[str] | None = None) -> list[dict]:
    return json.loads(asyncio.run(d.job_list_json(states)))["jobs"]


def test_the_list_and_the_counts_are_one_statement_at_any_size(daemon: Daemon):
    seen = Statements(daemon.store.engine)
    counts = []
    for total in (10, 310):
        bulk_jobs(daemon.data.database, total - len(_list(daemon)), seed=total)
        seen.sql.clear()
        assert len(_list(daemon)) == total
        listed = len(seen.sql)
        seen.sql.clear()
        assert sum(daemon.status()["jobs"].values()) == total
        counts.append((listed, len(seen.sql)))
    assert counts == [(1, 1), (1, 1)], counts
    seen.sql.clear()
    _list(daemon, ["PAUSED", "FAILED"])
    assert len(seen.sql) == 1 and "ORDER BY jobs.created_at" in seen.sql[0]


def test_each_row_equals_the_jobs_own_view(daemon: Daemon):
    bulk_jobs(daemon.data.database, 40)
    queued = daemon.store.create_job({"name": "waits", "experiment": "later", "resources": {"devices": 1}})
    daemon.store.transition(queued.id, JobState.QUEUED, "queued for the test")
    rows = _list(daemon)
    assert len(rows) == 41 and rows[-1]["waiting_for"] and rows[-1]["experiment"] == "later"
    assert any(r["best_eval_loss"] is not None for r in rows) and any(
        r["best_eval_loss"] is None for r in rows
    )
    for row in rows:
        view = daemon.job_view(daemon.store.get_job(row["id"])).model_dump(mode="json")
        view.pop("spec"), view.pop("metrics")
        assert parse(JobRow, row).model_dump(mode="json") == view  # the row fits the contract too
        assert row == view  # and the daemon's own rendering has every field, computed ones too
    assert [r["id"] for r in _list(daemon, ["QUEUED"])] == [queued.id]


def test_a_kept_row_follows_every_change_of_its_job(daemon: Daemon):
    ids = bulk_jobs(daemon.data.database, 5)
    first = {r["id"]: r for r in _list(daemon)}
    done = next(i for i in ids if first[i]["state"] == "COMPLETED")
    daemon.store.set_mlflow(done, 1, mlflow_run_id="run-after-the-first-list", mlflow_done=True)
    assert {r["id"]: r for r in _list(daemon)}[done]["mlflow_run_id"] == "run-after-the-first-list"
    daemon.store.new_attempt(done, "restart requested")
    row = {r["id"]: r for r in _list(daemon)}[done]
    assert (row["state"], row["attempt"], row["job_dir"].endswith("attempt-2")) == ("PENDING", 2, True)
    daemon.store.delete_job(next(i for i in ids if first[i]["state"] == "FAILED" and i != done))
    assert len(_list(daemon)) == 4


def test_an_unchanged_store_is_listed_without_a_query_and_any_commit_is_seen(daemon: Daemon):
    """While nothing was committed (SQLite's data_version), the list's rows are kept: no query.
    Any commit, through this store or another connection, is in the next list."""
    ids = bulk_jobs(daemon.data.database, 20)
    seen = Statements(daemon.store.engine)
    first = _list(daemon)
    seen.sql.clear()
    assert _list(daemon) == first and seen.sql == []
    daemon.store.update_job(ids[0], reason="changed through the store")
    seen.sql.clear()
    assert {r["id"]: r for r in _list(daemon)}[ids[0]]["reason"] == "changed through the store"
    assert len(seen.sql) == 1
    bulk_jobs(daemon.data.database, 1, seed=99)  # another connection's commit
    assert len(_list(daemon)) == 21
