"""MLflow faults against a real daemon: SIGKILLs of the daemon while it makes its tracking store
for the first time, and a broken store of the user's, which is reported (status, job view,
``jobs show``) instead of being retried forever, and catches up after a repair and a restart."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from tests.helpers import cli, stop_everything
from tests.mlflow_helpers import killed_store, mlflow_revisions, revision, wait_for_migration, wait_gone
from trainer_runtime.client.client import Client, start_daemon
from trainer_runtime.paths import DataDir
from trainer_runtime.tracking.mlflow_mirror import clean_key

pytestmark = pytest.mark.e2e
KILLS = 10
LATE_KILLS = 3  # the last kills come while the mirror catches up on the new store


def wait_until(cond, timeout: float, what: str | Callable[[], str]):
    deadline = time.monotonic() + timeout
    while not (value := cond()):
        assert time.monotonic() < deadline, f"timed out waiting for {what() if callable(what) else what}"
        time.sleep(0.2)
    return value


def kill(pid: int) -> None:
    try:
        proc = psutil.Process(pid)
        os.kill(pid, signal.SIGKILL)
        proc.wait(30)
    except psutil.NoSuchProcess:
        pass


def submit(spec: Path) -> str:
    return cli("jobs", "submit", str(spec), check=True).stdout.strip()


def assert_mirrored(client: Client, job_id: str, uri: str) -> None:
    """The job's MLflow run holds every metric point the daemon stored, its params and artifacts."""
    from mlflow.tracking import MlflowClient

    job = client.job(job_id)
    assert job.mlflow_done and job.mlflow_error is None and job.mlflow_run_id, job
    ml = MlflowClient(uri)
    run = ml.get_run(job.mlflow_run_id)
    assert run.info.status == "FINISHED" and run.data.tags["sparktrainer.job_id"] == job_id
    counts = {key: summary.count for key, summary in job.metrics.items()}
    assert counts.get("loss") == job.total_steps
    got = {key: len(ml.get_metric_history(run.info.run_id, clean_key(key))) for key in counts}
    assert got == counts, f"metric points in MLflow {got}, in the daemon's store {counts}"
    assert run.data.params["train.max_steps"] == str(job.total_steps)
    artifacts = {a.path for a in ml.list_artifacts(run.info.run_id)}
    assert {"spec.json", "adapter"} <= artifacts
    assert "adapter/adapter_model.safetensors" in {
        a.path for a in ml.list_artifacts(run.info.run_id, "adapter")
    }


def test_ten_kills_during_mlflows_first_start(home: Path, spec_file, monkeypatch: pytest.MonkeyPatch):
    """Jobs finish while the mirror is off; then the daemon is started with it on and killed
    (SIGKILL) ten times: seven at seeded points of the tracking store's first migrations, three
    while the mirror catches up on the new store. Afterwards the store works and every job has
    its run with all its points, params and artifacts; nothing was moved aside."""
    seed = int(os.environ.get("SPARKTRAINER_FAULT_SEED", random.randrange(1 << 30)))
    print(f"fault seed {seed} (SPARKTRAINER_FAULT_SEED={seed} replays it)")
    try:
        _ten_kills(home, spec_file, monkeypatch, random.Random(seed))
    finally:
        stop_everything(home)


def _ten_kills(home: Path, spec_file, monkeypatch: pytest.MonkeyPatch, rnd: random.Random) -> None:
    data = DataDir.default().ensure()
    data.settings_file.write_text('{"mlflow_sync_interval_s": 0.3}')
    client = Client(data)
    folder = home / "mlflow"
    revs = mlflow_revisions()

    t0 = time.monotonic()
    monkeypatch.setenv("SPARKTRAINER_MLFLOW", "off")
    pid = start_daemon(data)
    jobs = [submit(spec_file(f"s{n}.yaml", train={"max_steps": 20, "eval_every": 10})) for n in range(2)]
    for job_id in jobs:
        wait_until(lambda j=job_id: client.job(j).state == "COMPLETED", 300, f"job {job_id} to finish")
    kill(pid)
    print(f"{time.monotonic() - t0:5.1f} s: {len(jobs)} jobs trained with the mirror off")
    monkeypatch.delenv("SPARKTRAINER_MLFLOW")

    def mirror_failed() -> bool:
        return bool(client.status().mlflow.last_error)

    def mirroring() -> bool:
        return mirror_failed() or any(client.job(j).mlflow_run_id for j in jobs)

    for n in range(KILLS):
        pid = start_daemon(data)
        children = psutil.Process(pid).children(recursive=True)
        if n < KILLS - LATE_KILLS:
            target = rnd.randrange(len(revs))
            seen, children = wait_for_migration(pid, folder, revs, target, give_up=mirror_failed, timeout=120)
            pause = rnd.uniform(0.0, 0.3)
            time.sleep(pause)  # the random moment between two commits (chaos, not a wait for a condition)
            what = f"{pause:.2f} s after migration {seen + 1}/{len(revs)} (aimed at {target + 1})"
        else:
            wait_until(mirroring, 120, "the mirror to start on the new store")
            pause = rnd.uniform(0.0, 1.0)
            time.sleep(pause)  # the random moment of the catch-up (chaos, not a wait for a condition)
            what = f"{pause:.1f} s into the catch-up"
        kill(pid)
        wait_gone(children)  # the store-making child dies with the daemon
        in_place = revision(folder / "mlflow.db") if (folder / "mlflow.db").exists() else None
        print(
            f"{time.monotonic() - t0:5.1f} s kill {n + 1}: daemon {pid} {what}; store in place: {in_place or 'none'}"
        )
        assert in_place in (None, revs[-1]), "a half-made tracking store is in place"

    start_daemon(data)
    for job_id in jobs:
        wait_until(lambda j=job_id: client.job(j).mlflow_done, 120,
                   lambda j=job_id: f"job {j} to be mirrored; its MLflow error: {client.job(j).mlflow_error}")  # fmt: skip
    status = client.status().mlflow
    assert status.permanent_error is None and status.last_error is None, status
    for job_id in jobs:
        assert_mirrored(client, job_id, data.default_tracking_uri)
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith((".mlflow.db", "mlflow.db."))]
    assert leftovers == []
    assert "MLflow:      run " in cli("jobs", "show", jobs[0], check=True).stdout


def test_a_broken_user_store_is_reported_and_catches_up_after_a_repair(
    daemon_with, spec_file, home: Path, tmp_path: Path
):
    broken = killed_store(tmp_path / "team" / "tracking.db")
    uri = f"sqlite:///{broken}"
    client = daemon_with(mlflow_sync_interval_s=0.2, tracking_uri=uri)
    job_id = submit(spec_file(train={"max_steps": 10, "eval_every": 5}))
    job = wait_until(lambda: (v := client.job(job_id)).mlflow_done and v.state == "COMPLETED" and v,
                     300, "the job to finish and the mirror to give up on it")  # fmt: skip
    stopped = client.status().mlflow.permanent_error
    assert stopped and job.mlflow_error == stopped
    assert "is broken (table webhooks already exists)" in stopped and "stopped after 3 tries" in stopped
    shown = [line for line in cli("jobs", "show", job_id, check=True).stdout.splitlines() if "MLflow" in line]
    assert shown == [f"MLflow:      not mirrored: {stopped}"]
    assert f"MLflow:   not mirroring: {stopped}" in cli("runtime", "status", check=True).stdout
    assert sorted(p.name for p in broken.parent.iterdir()) == ["tracking.db"]  # not ours: never moved

    broken.rename(broken.with_name("tracking.db.broken"))  # the user's repair: a fresh store
    client.shutdown()
    wait_until(lambda: not client.ping(), 60, "the daemon to stop")
    start_daemon(DataDir.default())
    wait_until(lambda: (v := client.job(job_id)).mlflow_done and not v.mlflow_error, 120, "catch-up")
    assert client.status().mlflow.permanent_error is None
    assert_mirrored(client, job_id, uri)
