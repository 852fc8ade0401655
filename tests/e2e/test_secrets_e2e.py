"""A credential in the real OS keyring (Secret Service over D-Bus) reaches the worker
as an environment variable and nowhere else: not the data dir, logs, specs or MLflow."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from tests.helpers import cli

pytestmark = [pytest.mark.e2e, pytest.mark.keyring]


def test_token_reaches_worker_env_only(keyring_store, daemon_with, spec_file, home: Path):
    token = "hf_" + hashlib.sha256(str(time.time_ns()).encode()).hexdigest()[:30]
    out = cli("secrets", "set", "HF_TOKEN", input=token + "\n", check=True)
    assert "stored HF_TOKEN" in out.stdout and token not in out.stdout
    assert cli("secrets", "list", check=True).stdout.split() == ["HF_TOKEN"]
    assert keyring_store.get("HF_TOKEN") == token

    client = daemon_with(mlflow_sync_interval_s=0.3)
    # The token is also pasted into a tag by mistake: it must be masked before it is stored.
    spec = spec_file(train={"max_steps": 10, "eval_every": 5}, tags={"note": f"token {token}"})
    job_id = cli("jobs", "submit", str(spec), check=True).stdout.strip()
    deadline = time.monotonic() + 180
    while not (job := client.job(job_id)).mlflow_done:
        assert time.monotonic() < deadline, job
        time.sleep(0.3)
    assert job.state == "COMPLETED", job.reason

    log = cli("jobs", "logs", job_id, check=True).stdout
    fingerprint = hashlib.sha256(token.encode()).hexdigest()[:12]
    assert f"credential HF_TOKEN available (sha256 {fingerprint})" in log  # the worker saw exactly this value

    needle = token.encode()
    for path in home.rglob("*"):
        if path.is_file():
            assert needle not in path.read_bytes(), f"the token leaked into {path}"
    from mlflow.tracking import MlflowClient

    run = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow' / 'mlflow.db'}").get_run(job.mlflow_run_id)
    assert token not in str(run.data.params) + str(run.data.tags)
    assert client.job(job_id).spec["tags"]["note"] == "token [REDACTED]"

    assert cli("secrets", "delete", "HF_TOKEN", check=True).returncode == 0
    assert "no credentials stored" in cli("secrets", "list").stdout


def test_secret_names_are_validated(keyring_store):
    out = cli("secrets", "set", "PATH", input="whatever-value\n")
    assert out.returncode == 2 and "PATH" in out.stderr
    out = cli("secrets", "set", "HF_TOKEN", input="\n")
    assert out.returncode == 2


def test_no_keyring_is_a_clear_error_and_nothing_is_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # No D-Bus session and the fail backend: the CLI says what to install, stores nothing.
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    out = cli("secrets", "set", "HF_TOKEN", input="hf_abcdefgh\n")
    assert out.returncode == 4
    assert "No usable OS keyring" in out.stderr and "gnome-keyring" in out.stderr
    assert not any(p.is_file() and b"hf_abcdefgh" in p.read_bytes() for p in tmp_path.rglob("*"))
