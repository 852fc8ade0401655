"""MlflowMirror against real MLflow stores (sqlite in tmp dirs) and an unreachable server."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from trainer_runtime.secrets.redact import MASK, Redactor
from trainer_runtime.tracking import ErrorKind, MirrorUnavailable, MlflowMirror, flatten_params
from trainer_runtime.tracking.mlflow_mirror import MAX_PARAM_VAL_LEN, clean_key

SECRET = "hf_TopSecretToken123"

SPEC = {
    "name": "demo",
    "model": {"builtin": "tiny-gpt2"},
    "method": "lora",
    "lora": {"r": 8, "alpha": 16.0, "target_modules": ["q_proj", "v_proj"]},
    "dataset": {"path": "/data/train.txt", "eval_fraction": 0.1},
    "train": {"max_steps": 100, "lr": 0.0003},
    "tags": {"team": "nlp"},
}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """One sqlite tracking store per module: creating one costs ~1 s of migrations."""
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture(scope="module")
def mirror(store: Path) -> MlflowMirror:
    return MlflowMirror(
        f"sqlite:///{store / 'mlflow.db'}",
        artifact_location=str(store / "artifacts"),
        redactor=Redactor([SECRET]),
    )


@pytest.fixture(scope="module")
def client(mirror: MlflowMirror):
    from mlflow.tracking import MlflowClient

    return MlflowClient(mirror.tracking_uri)


_counter = iter(range(1_000_000))


def new_run(mirror: MlflowMirror, **kw) -> str:
    job_id = kw.pop("job_id", f"job{next(_counter):06d}")
    args = {
        "experiment": "tests",
        "run_name": job_id,
        "job_id": job_id,
        "attempt": 1,
        "params": SPEC,
        "tags": {},
    }
    return mirror.ensure_run(**{**args, **kw})


def test_import_does_not_import_mlflow():
    code = "import sys, trainer_runtime.tracking; print(sorted(m for m in sys.modules if m.startswith('mlflow')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_flatten_params_and_clean_key():
    assert flatten_params({"a": {"b": {"c": 1}}, "d": [1, 2]}) == {"a.b.c": 1, "d": [1, 2]}
    assert clean_key("loss") == "loss"
    assert clean_key("eval/loss") == "eval/loss"
    assert clean_key("a:b*c") == "a_b_c"
    assert clean_key("/abs") == "__abs"
    assert clean_key("") == "_"
    assert len(clean_key("k" * 400)) == 250


def test_ensure_run_creates_run_with_flat_params_and_tags(mirror, client, store):
    run_id = new_run(mirror, job_id="abc123", attempt=2, run_name="demo #2", tags={"team": "nlp"})
    run = client.get_run(run_id)
    assert run.info.run_name == "demo #2"
    assert run.data.params["train.lr"] == "0.0003"
    assert run.data.params["lora.target_modules"] == "[q_proj, v_proj]"
    assert run.data.params["model.builtin"] == "tiny-gpt2"
    assert run.data.params["tags.team"] == "nlp"
    assert run.data.tags["sparktrainer.job_id"] == "abc123"
    assert run.data.tags["sparktrainer.attempt"] == "2"
    assert run.data.tags["team"] == "nlp"
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == "tests"
    assert Path(experiment.artifact_location) == store / "artifacts"


def test_secrets_are_redacted_and_long_values_truncated(mirror, client):
    params = {
        **SPEC,
        "dataset": {"path": f"https://user:{SECRET}@example.com/data.txt"},
        "note": "x" * 10_000,
    }
    run_id = new_run(mirror, params=params, run_name=f"run {SECRET}", tags={"url": f"token={SECRET}"})
    run = client.get_run(run_id)
    everything = [run.info.run_name, *run.data.params.values(), *run.data.tags.values()]
    assert not [v for v in everything if SECRET in v]
    assert run.data.params["dataset.path"] == f"https://user:{MASK}@example.com/data.txt"
    assert run.data.tags["url"] == f"token={MASK}"
    assert len(run.data.params["note"]) == MAX_PARAM_VAL_LEN


def test_ensure_run_is_idempotent(mirror, client):
    run_id = new_run(mirror, job_id="idem1")
    assert new_run(mirror, job_id="idem1", existing_run_id=run_id) == run_id
    # After a crash before the daemon stored the id: the run is found by its job id and attempt.
    assert new_run(mirror, job_id="idem1") == run_id
    assert new_run(mirror, job_id="idem1", existing_run_id="0123456789abcdef0123456789abcdef") == run_id
    assert new_run(mirror, job_id="idem1", attempt=2) != run_id
    # A run deleted in MLflow is replaced by a new one.
    client.delete_run(run_id)
    assert new_run(mirror, job_id="idem1", existing_run_id=run_id) != run_id


def test_log_metrics_in_batches(mirror, client, monkeypatch):
    run_id = new_run(mirror)
    mlflow_client = mirror._client()
    sizes = []
    real_log_batch = mlflow_client.log_batch

    def counting_log_batch(run_id, metrics=(), **kw):
        sizes.append(len(metrics))
        return real_log_batch(run_id, metrics=metrics, **kw)

    monkeypatch.setattr(mlflow_client, "log_batch", counting_log_batch)
    t0 = 1_700_000_000_000
    points = [("loss", 10.0 / step, step, t0 + step) for step in range(1, 2001)]
    points += [("eval_loss", 5.0 - step / 1000, step, t0 + step) for step in range(0, 2000, 4)]
    assert mirror.log_metrics(run_id, points) == 2500
    assert sizes == [1000, 1000, 500]

    loss = sorted((m.step, m.value, m.timestamp) for m in client.get_metric_history(run_id, "loss"))
    assert loss == [(step, 10.0 / step, t0 + step) for step in range(1, 2001)]
    evals = sorted((m.step, m.value) for m in client.get_metric_history(run_id, "eval_loss"))
    assert evals == [(step, 5.0 - step / 1000) for step in range(0, 2000, 4)]

    # Sending the same points again (retry after a partial failure) adds nothing.
    mirror.log_metrics(run_id, points[:1500])
    assert len(client.get_metric_history(run_id, "loss")) == 2000


def test_non_finite_values_keep_the_batch(mirror, client):
    run_id = new_run(mirror)
    values = [1.0, math.nan, math.inf, -math.inf, 2.0, None, "oops"]
    points = [("grad_norm", v, step, 1000 + step) for step, v in enumerate(values)]
    assert mirror.log_metrics(run_id, points) == 5  # None and "oops" are skipped
    got = {m.step: m.value for m in client.get_metric_history(run_id, "grad_norm")}
    assert set(got) == {0, 1, 2, 3, 4}
    assert got[0] == 1.0 and got[4] == 2.0
    assert math.isnan(got[1])
    assert got[2] > 1e308 and got[3] < -1e308  # SQL stores have no inf: MLflow clamps to the max float
    assert mirror.log_metrics(run_id, []) == 0


def test_log_artifacts_file_and_folder(mirror, client, tmp_path):
    run_id = new_run(mirror)
    folder = tmp_path / "final"
    (folder / "sub").mkdir(parents=True)
    (folder / "adapter_config.json").write_text("{}")
    (folder / "sub" / "weights.bin").write_bytes(b"\0" * 16)
    single = tmp_path / "log.txt"
    single.write_text("hello")
    mirror.log_artifacts(run_id, folder, "final")
    mirror.log_artifacts(run_id, str(single))
    assert sorted(a.path for a in client.list_artifacts(run_id)) == ["final", "log.txt"]
    assert sorted(a.path for a in client.list_artifacts(run_id, "final")) == [
        "final/adapter_config.json",
        "final/sub",
    ]
    assert [a.path for a in client.list_artifacts(run_id, "final/sub")] == ["final/sub/weights.bin"]
    with pytest.raises(MirrorUnavailable, match="does not exist") as err:
        mirror.log_artifacts(run_id, tmp_path / "missing")
    assert not err.value.retryable


def test_finish_and_set_tags(mirror, client):
    run_id = new_run(mirror)
    assert client.get_run(run_id).info.status == "RUNNING"
    mirror.set_tags(run_id, {"sparktrainer.state": "failed", "reason": f"bad token {SECRET}"})
    mirror.finish(run_id, "FAILED", end_time_ms=1_700_000_123_456)
    run = client.get_run(run_id)
    assert run.info.status == "FAILED"
    assert run.info.end_time == 1_700_000_123_456
    assert run.data.tags["sparktrainer.state"] == "failed"
    assert run.data.tags["reason"] == f"bad token {MASK}"
    with pytest.raises(ValueError):
        mirror.finish(run_id, "DONE")


def test_rejected_request_is_not_retryable(mirror, client):
    run_id = new_run(mirror)
    client.delete_run(run_id)
    with pytest.raises(MirrorUnavailable, match="refused") as err:
        mirror.log_metrics(run_id, [("loss", 1.0, 1, 1000)])
    assert not err.value.retryable and err.value.kind is ErrorKind.REJECTED
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert err.value.__cause__ is not None


def test_concurrent_jobs_on_one_sqlite_store(mirror, client):
    errors: list[BaseException] = []
    run_ids: list[str] = []

    def job(n: int) -> None:
        try:
            run_id = new_run(mirror, job_id=f"conc{n}")
            mirror.log_metrics(run_id, [("loss", float(s), s, 1000 + s) for s in range(300)])
            mirror.finish(run_id, "FINISHED")
            run_ids.append(run_id)
        except BaseException as err:  # noqa: BLE001 - any thread failure: the assert below reports it
            errors.append(err)

    threads = [threading.Thread(target=job, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert len(set(run_ids)) == 4
    for run_id in run_ids:
        assert len(client.get_metric_history(run_id, "loss")) == 300


def test_unreachable_server_fails_fast(monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    mirror = MlflowMirror("http://someone:pa55word@127.0.0.1:9")  # port 9 (discard) is closed
    start = time.monotonic()
    with pytest.raises(MirrorUnavailable) as err:
        new_run(mirror)
    assert time.monotonic() - start < 10
    assert err.value.retryable and err.value.kind is ErrorKind.UNREACHABLE
    assert err.value.__cause__ is not None
    assert "pa55word" not in str(err.value)
    assert "127.0.0.1:9" in str(err.value)
    for call in (
        lambda: mirror.log_metrics("r1", [("loss", 1.0, 1, 1)]),
        lambda: mirror.set_tags("r1", {"a": "b"}),
        lambda: mirror.finish("r1", "KILLED"),
    ):
        with pytest.raises(MirrorUnavailable):
            call()


def test_refused_credentials_are_not_retried_as_an_outage(monkeypatch):
    """A tracking server that answers 401 to every call: no request can succeed until the
    credentials change, so the error is of kind broken (the mirror stops after a few tries)."""
    import http.server
    import json

    class Refuse(http.server.BaseHTTPRequestHandler):
        def _refuse(self):
            body = json.dumps({"error_code": "UNAUTHENTICATED", "message": "bad token"}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _refuse

        def log_message(self, *args):  # keep the test output quiet
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    try:
        mirror = MlflowMirror(f"http://me:s3cret@127.0.0.1:{server.server_address[1]}")
        with pytest.raises(MirrorUnavailable) as err:
            new_run(mirror)
    finally:
        server.shutdown()
    assert err.value.kind is ErrorKind.BROKEN and not err.value.retryable
    assert err.value.error_code == "UNAUTHENTICATED"
    assert "refused the credentials" in str(err.value) and "restart the daemon" in str(err.value)
    assert "s3cret" not in str(err.value)


def test_warm_up_creates_the_store_before_any_run(tmp_path):
    """The daemon opens the tracking store at start, so the first job does not pay for it."""
    db = tmp_path / "warm.db"
    mirror = MlflowMirror(f"sqlite:///{db}")
    assert not db.exists()
    mirror.warm_up()
    assert db.exists() and db.stat().st_size > 0
    (tmp_path / "a-file").write_text("not a folder")
    bad = MlflowMirror(f"sqlite:///{tmp_path / 'a-file' / 'mlflow.db'}")
    with pytest.raises(MirrorUnavailable) as err:
        bad.warm_up()
    assert "open the tracking store" in str(err.value)
