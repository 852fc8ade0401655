"""The daemon's mirror loop (MirrorThread) on a real job store and real MLflow stores: a broken
tracking store stops the mirror after a few tries and says so on every job; an unreachable one
never stops it, and both catch up once MLflow works again."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from tests.mlflow_helpers import killed_store
from trainer_runtime.jobs.state import JobState
from trainer_runtime.paths import DataDir
from trainer_runtime.store.records import Ingest
from trainer_runtime.store.store import Store
from trainer_runtime.tracking.sync import MirrorThread

STEPS = 12
MAX_BROKEN_TRIES = 3  # tracking/sync.py: tries with the same broken store before the mirror stops


def wait_for(cond, timeout: float = 120, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not (value := cond()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'jobs.db'}")


def finished_job(store: Store, name: str) -> str:
    job = store.create_job({"name": name, "experiment": "sync-tests", "train": {"lr": 0.1}})
    store.transition(job.id, JobState.QUEUED, "validated")
    store.transition(job.id, JobState.RUNNING, "started")
    points = [("loss", s, 1.0 / s, 1_700_000_000.0 + s) for s in range(1, STEPS + 1)]
    store.ingest(job.id, 1, Ingest(100, points, step=STEPS, total_steps=STEPS))
    store.transition(job.id, JobState.COMPLETED, "done")
    return job.id


def mirror_on(store: Store, tmp_path: Path, uri: str) -> MirrorThread:
    thread = MirrorThread(store, DataDir(tmp_path / "home").ensure(), uri, interval_s=0.05)
    thread.start()
    return thread


def forget_pooled_connections(uri: str) -> None:
    """A restarted daemon is a new process; this one still pools connections to the old file."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    engine = SqlAlchemyStore._engine_map.pop(uri, None)
    if engine is not None:
        engine.dispose()


def count_runs(uri: str, job_ids: list[str]) -> dict[str, int]:
    """The loss points each job's run holds in MLflow."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("sync-tests")
    out = {}
    for run in client.search_runs([exp.experiment_id]):
        job_id = run.data.tags["sparktrainer.job_id"]
        if job_id in job_ids:
            out[job_id] = len(client.get_metric_history(run.info.run_id, "loss"))
    return out


def test_a_broken_store_stops_the_mirror_after_a_few_tries_and_every_job_says_why(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    broken = killed_store(tmp_path / "theirs" / "tracking.db")
    uri = f"sqlite:///{broken}"
    jobs = [finished_job(store, "a"), finished_job(store, "b")]
    caplog.set_level(logging.WARNING, logger="trainer_runtime.tracking.sync")
    thread = mirror_on(store, tmp_path, uri)
    try:
        stopped = wait_for(lambda: thread.status().get("permanent_error"), 60, "the mirror to stop")
        assert "is broken (table webhooks already exists)" in stopped
        assert f"stopped after {MAX_BROKEN_TRIES} tries" in stopped and "\n" not in stopped
        for job_id in jobs:
            job = wait_for(lambda j=job_id: (v := store.get_job(j)).mlflow_done and v)
            assert job.mlflow_error == stopped and job.mlflow_run_id is None
        # A job that finishes later learns the same, without another try at the store.
        late = finished_job(store, "c")
        assert wait_for(lambda: store.get_job(late).mlflow_error) == stopped
        behind = [r for r in caplog.records if "behind, retrying" in r.getMessage()]
        assert len(behind) == MAX_BROKEN_TRIES - 2  # the first try is the warm-up, the last stops
        assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR][0].startswith(
            "MLflow mirror stopped: "
        )
    finally:
        thread.stop()

    broken.rename(broken.with_name("tracking.db.set-aside"))  # the user's repair
    forget_pooled_connections(uri)
    thread = mirror_on(store, tmp_path, uri)  # the daemon restarts
    try:
        for job_id in [*jobs, late]:
            job = wait_for(lambda j=job_id: (v := store.get_job(j)).mlflow_done and not v.mlflow_error and v,
                           what="catch-up")  # fmt: skip
            assert job.mlflow_run_id
        assert thread.status()["permanent_error"] is None
    finally:
        thread.stop()
    assert count_runs(uri, [*jobs, late]) == dict.fromkeys([*jobs, late], STEPS)


def test_an_unreachable_store_never_stops_the_mirror_and_it_catches_up(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    blocker = tmp_path / "not-yet"
    blocker.write_text("a file where the store's folder should be")
    uri = f"sqlite:///{blocker / 'mlflow.db'}"
    job_id = finished_job(store, "a")
    caplog.set_level(logging.WARNING, logger="trainer_runtime.tracking.sync")
    thread = mirror_on(store, tmp_path, uri)
    try:
        tries = MAX_BROKEN_TRIES + 3
        wait_for(
            lambda: len([r for r in caplog.records if "behind" in r.getMessage()]) >= tries, what="retries"
        )
        status = thread.status()
        assert status["permanent_error"] is None and "unreachable or failing" in status["last_error"]
        job = store.get_job(job_id)
        assert not job.mlflow_done and "The mirror will try again" in job.mlflow_error
        blocker.unlink()
        blocker.mkdir()  # MLflow is back
        wait_for(lambda: (v := store.get_job(job_id)).mlflow_done and not v.mlflow_error, what="catch-up")
    finally:
        thread.stop()
    assert count_runs(uri, [job_id]) == {job_id: STEPS}
