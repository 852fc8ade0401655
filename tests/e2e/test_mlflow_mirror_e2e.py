"""Jobs mirrored into real MLflow stores by the daemon, and an MLflow outage that
delays the mirror but never fails a job."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.helpers import cli
from trainer_runtime.api.schema.events import JobStateEvent
from trainer_runtime.api.schema.jobs import JobRecord

pytestmark = pytest.mark.e2e


def wait_job(client, job_id: str, cond, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while not cond(job := client.job(job_id)):
        assert time.monotonic() < deadline, f"timed out: {job.state} mlflow_error={job.mlflow_error}"
        time.sleep(0.2)
    return job


def mlflow_client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def test_job_becomes_an_mlflow_run_with_params_metrics_and_adapter(daemon_with, spec_file, home: Path):
    client = daemon_with(mlflow_sync_interval_s=0.5)
    job_id = cli(
        "jobs", "submit", str(spec_file(train={"max_steps": 30, "eval_every": 10})), check=True
    ).stdout.strip()
    job = wait_job(client, job_id, lambda j: j.mlflow_done)
    assert job.state == "COMPLETED" and job.mlflow_run_id
    ml = mlflow_client(f"sqlite:///{home / 'mlflow' / 'mlflow.db'}")
    run = ml.get_run(job.mlflow_run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["train.max_steps"] == "30" and run.data.params["method"] == "lora"
    assert run.data.tags["sparktrainer.job_id"] == job_id
    losses = ml.get_metric_history(run.info.run_id, "loss")
    assert sorted(m.step for m in losses) == list(range(1, 31))
    ours = {p.step: p.value for p in client.metrics(job_id, key="loss").points}
    assert all(ours[m.step] == pytest.approx(m.value) for m in losses)
    artifacts = {a.path for a in ml.list_artifacts(run.info.run_id)}
    assert {"spec.json", "adapter"} <= artifacts
    assert "adapter/adapter_model.safetensors" in {
        a.path for a in ml.list_artifacts(run.info.run_id, "adapter")
    }


def test_mlflow_outage_delays_the_mirror_and_never_fails_the_job(daemon_with, spec_file, tmp_path: Path):
    blocker = tmp_path / "mlflow-store"
    blocker.write_text("this file stands where the store's folder should be")  # the store cannot open
    uri = f"sqlite:///{blocker / 'mlflow.db'}"
    client = daemon_with(mlflow_sync_interval_s=0.3, tracking_uri=uri)
    job_id = cli(
        "jobs", "submit", str(spec_file(train={"max_steps": 20, "eval_every": 10})), check=True
    ).stdout.strip()
    job = wait_job(client, job_id, lambda j: j.state == "COMPLETED" and j.mlflow_error)
    assert "unreachable or failing" in job.mlflow_error and not job.mlflow_done
    assert "behind" in cli("jobs", "show", job_id).stdout
    blocker.unlink()
    blocker.mkdir()  # MLflow is back
    job = wait_job(client, job_id, lambda j: j.mlflow_done, timeout=120)
    assert job.mlflow_error is None
    run = mlflow_client(uri).get_run(job.mlflow_run_id)
    assert run.info.status == "FINISHED"
    assert len(mlflow_client(uri).get_metric_history(run.info.run_id, "loss")) == 20


def test_the_event_stream_tells_when_the_mirror_changes_a_job(daemon_with, spec_file):
    """The mirror's run id and its 'done' reach the clients as job_state events: they change
    outside any state transition, so a client that only listens would otherwise never see them."""
    import threading

    client = daemon_with(mlflow_sync_interval_s=0.5)
    seen: list[JobRecord] = []
    ready = threading.Event()

    def listen() -> None:
        for event in client.events(types=["job_state"]):
            ready.set()
            if isinstance(event, JobStateEvent):
                seen.append(event.job)
                if event.job.mlflow_done:
                    return

    threading.Thread(target=listen, daemon=True).start()
    assert ready.wait(60), "no hello from the event stream"
    job_id = cli(
        "jobs", "submit", str(spec_file(train={"max_steps": 5, "eval_every": 0})), check=True
    ).stdout.strip()
    deadline = time.monotonic() + 240
    while not any(j.id == job_id and j.mlflow_done for j in seen):
        assert time.monotonic() < deadline, [(j.state, j.mlflow_run_id, j.mlflow_done) for j in seen]
        time.sleep(0.2)
    mine = [j for j in seen if j.id == job_id]
    done = next(j for j in mine if j.mlflow_done)
    assert done.state == "COMPLETED" and done.mlflow_run_id and done.mlflow_error is None
