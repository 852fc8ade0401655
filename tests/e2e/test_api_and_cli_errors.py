"""Bad input through the real daemon and CLI: each gets a message naming the problem."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import cli
from trainer_runtime.client.client import ApiError

pytestmark = pytest.mark.e2e


def test_socket_is_private_and_status_reports_pid(daemon):
    st = daemon.status()
    mode = stat.S_IMODE(os.stat(st.socket).st_mode)
    assert mode == 0o600
    out = cli("runtime", "status", "--json", check=True)
    info = json.loads(out.stdout)
    assert info["pid"] == st.pid and info["socket"] == st.socket and info["version"]


def test_second_daemon_on_same_data_dir_is_refused(daemon, home: Path):
    proc = subprocess.run(
        [sys.executable, "-m", "trainer_runtime.daemon"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 3
    assert f"a daemon is already running for data dir {home}" in proc.stderr


def test_bad_request_fields_are_named(daemon, corpus: Path):
    with pytest.raises(ApiError) as info:
        daemon.submit({"name": "x", "model": {"builtin": "tiny-gpt2"}, "dataset": {"path": str(corpus)},
                       "train": {"max_steps": -5, "batch_size": "eight"}, "extra": 1})  # fmt: skip
    err = info.value
    assert err.status == 400
    fields = {p["field"]: p["message"] for p in err.problems}
    assert "greater than 0" in fields["train.max_steps"]
    assert "integer" in fields["train.batch_size"]
    assert fields["extra"] == "unknown field"
    with pytest.raises(ApiError) as info:
        daemon.request("GET", "/v1/jobs/x/metrics", query={"after_id": -1})
    assert info.value.status == 400 and info.value.problems[0]["field"] == "after_id"
    with pytest.raises(ApiError) as info:
        daemon.request("POST", "/v1/jobs", {"spec": {}, "surprise": True})
    assert {p["field"] for p in info.value.problems} == {"surprise"}


def test_raw_garbage_body_is_a_400(daemon):
    s = socket.socket(socket.AF_UNIX)
    s.connect(daemon.socket_path)
    s.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{nope")
    reply = s.recv(4096).decode()
    s.close()
    assert reply.startswith("HTTP/1.1 400") and "not valid JSON" in reply


def test_cli_reports_bad_spec_and_bad_dataset(daemon, spec_file, tmp_path: Path):
    out = cli("jobs", "submit", str(spec_file(train={"max_steps": 0}, colour="red")))
    assert out.returncode == 2
    assert "train.max_steps: Input should be greater than 0" in out.stderr
    assert "colour: unknown field" in out.stderr
    binary = tmp_path / "weights.txt"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    out = cli("jobs", "submit", str(spec_file("b.yaml", dataset={"path": str(binary)})))
    assert out.returncode == 2 and "looks binary" in out.stderr
    notmodel = tmp_path / "not-a-model"
    notmodel.mkdir()
    out = cli("jobs", "submit", str(spec_file("m.yaml", model={"path": str(notmodel)})))
    assert out.returncode == 2 and "has no config.json" in out.stderr
    assert daemon.jobs() == []  # nothing was created by the rejected submissions


def test_unknown_job_id(daemon):
    out = cli("jobs", "show", "does-not-exist")
    assert out.returncode == 2 and "no job with id 'does-not-exist'" in out.stderr
    out = cli("jobs", "pause", "does-not-exist")
    assert "no job with id" in out.stderr


def test_cli_without_daemon_starts_one(home: Path):
    from tests.helpers import stop_everything

    try:
        out = cli("jobs", "list", "--json", check=True)
        assert json.loads(out.stdout) == []
        assert cli("runtime", "status").returncode == 0
    finally:
        stop_everything(home)
