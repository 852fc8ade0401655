"""The store on a real SQLite file: migrations, audited transitions, idempotent ingest."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from trainer_runtime.jobs.state import IllegalTransition, JobState
from trainer_runtime.store.records import Ingest
from trainer_runtime.store.store import JobNotFound, Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'st.db'}")


def test_migrations_create_schema_in_wal_mode(tmp_path: Path, store: Store):
    con = sqlite3.connect(tmp_path / "st.db")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
    assert {
        "projects",
        "experiments",
        "jobs",
        "job_transitions",
        "metric_points",
        "metric_summaries",
        "artifacts",
    } <= tables
    from alembic.script import ScriptDirectory

    from trainer_runtime.store.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert con.execute("select version_num from alembic_version").fetchone()[0] == head
    Store(f"sqlite:///{tmp_path / 'st.db'}")  # upgrading again is a no-op


def test_transitions_are_audited_and_illegal_ones_rejected(store: Store):
    job = store.create_job({"name": "a", "experiment": "exp1"})
    assert job.experiment == "exp1" and job.state == "PENDING"
    store.transition(job.id, JobState.QUEUED, "validated")
    store.transition(job.id, JobState.RUNNING, "started")
    store.transition(job.id, JobState.COMPLETED, "done")
    with pytest.raises(IllegalTransition, match="cannot pause job .*: it is COMPLETED"):
        store.transition(job.id, JobState.PAUSED, "x", action="pause")
    hist = [(t.from_state, t.to_state, t.reason) for t in store.transitions(job.id)]
    assert hist == [(None, "PENDING", "submitted"), ("PENDING", "QUEUED", "validated"),
                    ("QUEUED", "RUNNING", "started"), ("RUNNING", "COMPLETED", "done")]  # fmt: skip
    again = store.new_attempt(job.id, "restart requested")
    assert again.attempt == 2 and again.state == "PENDING"


def test_ingest_is_idempotent_and_keeps_summaries(store: Store):
    job = store.create_job({"name": "a"})
    batch = Ingest(100, [("loss", s, 10.0 - s, 0.0) for s in range(1, 6)], step=5, total_steps=10)
    assert len(store.ingest(job.id, 1, batch)) == 5
    # The same lines replayed (e.g. after a crash between read and commit) add nothing.
    assert store.ingest(job.id, 1, Ingest(100, batch.metrics)) == []
    # A batch that overlaps the stored steps returns (and counts) only the new points.
    overlap = Ingest(120, [("loss", s, 10.0 - s, 0.0) for s in range(4, 8)], step=7)
    assert [p.step for p in store.ingest(job.id, 1, overlap)] == [6, 7]
    store.ingest(job.id, 1, Ingest(150, [("loss", 8, 0.5, 0.0), ("eval_loss", 8, 3.0, 0.0)], step=8))
    summ = {s.key: s for s in store.summaries(job.id)}
    assert summ["loss"].count == 8 and summ["loss"].min == 0.5 and summ["loss"].max == 9.0
    assert summ["loss"].last == 0.5 and summ["loss"].last_step == 8
    assert [p.step for p in store.metrics(job.id, key="loss")] == [1, 2, 3, 4, 5, 6, 7, 8]
    info = store.get_job(job.id)
    assert info.events_offset == 150 and info.step == 8 and info.total_steps == 10


def test_unknown_job(store: Store):
    with pytest.raises(JobNotFound, match="no job with id 'zzz'"):
        store.get_job("zzz")


def test_delete_only_finished_jobs(store: Store):
    job = store.create_job({"name": "a"})
    with pytest.raises(IllegalTransition):
        store.delete_job(job.id)
    store.transition(job.id, JobState.CANCELLED, "user")
    store.ingest(job.id, 1, Ingest(1, [("loss", 1, 1.0, 0.0)]))
    store.delete_job(job.id)
    assert store.list_jobs() == [] and store.metric_count(job.id) == 0


def test_metric_minimums_cover_many_jobs_and_only_the_current_attempt(store: Store):
    a, b = store.create_job({"name": "a"}), store.create_job({"name": "b"})
    store.ingest(a.id, 1, Ingest(1, [("eval_loss", 0, 3.0, 0.0), ("eval_loss", 10, 2.0, 0.0)]))
    store.ingest(b.id, 1, Ingest(1, [("loss", 1, 1.0, 0.0)]))
    assert store.metric_minimums([a.id, b.id], "eval_loss") == {a.id: 2.0}
    store.transition(a.id, JobState.CANCELLED, "user")
    store.new_attempt(a.id, "restart")  # attempt 2 has no eval yet
    assert store.metric_minimums([a.id, b.id], "eval_loss") == {}


def test_a_submit_is_one_transaction(store: Store):
    """Creating a job and queueing it commit together: when the second step fails (on a full disk
    it was the second write that failed), no PENDING job is left behind."""
    job = store.create_job({"name": "a"}, then=(JobState.QUEUED, "spec and inputs validated"))
    assert job.state == "QUEUED" and job.queued_at is not None
    assert [(t.from_state, t.to_state) for t in store.transitions(job.id)] == [
        (None, "PENDING"),
        ("PENDING", "QUEUED"),
    ]
    with pytest.raises(IllegalTransition):
        store.create_job({"name": "b"}, then=(JobState.PAUSED, "not a legal first move"))
    assert [j.name for j in store.list_jobs()] == ["a"]
