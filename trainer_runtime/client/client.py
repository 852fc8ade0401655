"""The one client of the daemon's API, used by the CLI and the GUI.

``ensure_daemon`` starts the daemon when it is not running."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

from trainer_runtime.client.datasets import DatasetCalls
from trainer_runtime.client.gpus import GpuCalls
from trainer_runtime.client.jobs import JobCalls
from trainer_runtime.client.recipes import RecipeCalls
from trainer_runtime.client.settings import SettingsCalls
from trainer_runtime.client.sft import SftCalls
from trainer_runtime.client.transport import ApiError, DaemonRefused, DaemonUnavailable
from trainer_runtime.paths import DataDir, open_private

START_TIMEOUT_S = 60.0
START_FD_ENV = "SPARKTRAINER_START_FD"  # trainer_runtime.daemon_start reads it (not imported: it logs)


class Client(JobCalls, DatasetCalls, GpuCalls, RecipeCalls, SettingsCalls, SftCalls):
    """The one client of the daemon's API: one call set per domain (``client/jobs.py``,
    ``client/datasets.py``, ``client/gpus.py``) over one transport (``client/transport.py``)."""


def start_daemon(data: DataDir, timeout: float = START_TIMEOUT_S) -> int:
    """Start a detached daemon for ``data`` and wait until it serves. Returns its pid; raises
    DaemonRefused with the daemon's own sentence when it will not start (trainer_runtime.daemon_start)."""
    data.ensure()
    read_fd, write_fd = os.pipe()
    env = {**os.environ, "SPARKTRAINER_HOME": str(data.root), START_FD_ENV: str(write_fd)}
    try:
        log_fd = open_private(data.daemon_log)  # stdout/stderr: a crash before logging lands there too
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "trainer_runtime.daemon"],
                stdin=subprocess.DEVNULL, stdout=log_fd, stderr=subprocess.STDOUT,
                start_new_session=True, env=env, cwd=str(data.root), pass_fds=(write_fd,),
            )  # fmt: skip
        finally:
            os.close(log_fd)
    finally:
        os.close(write_fd)
    try:
        return _await_start(data, proc, read_fd, timeout)
    finally:
        os.close(read_fd)


def _await_start(data: DataDir, proc: subprocess.Popen, read_fd: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    raw = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([read_fd], [], [], 0.25)
        if not ready:
            continue
        chunk = os.read(read_fd, 65536)
        raw += chunk
        if chunk and not raw.endswith(b"\n"):
            continue
        break
    else:
        raise DaemonUnavailable(f"the daemon did not answer within {timeout:.0f}s; see {data.daemon_log}")
    try:
        report = json.loads(raw) if raw.strip() else None
    except ValueError:
        report = None
    if report and report.get("ok"):
        return int(report.get("pid", proc.pid))
    if report:
        kind = str(report.get("kind", "refused"))
        if kind == "already_running" and Client(data, timeout=5).ping():  # another client started one
            return int(json.loads(data.pointer_file.read_text())["pid"])
        raise DaemonRefused(str(report.get("message", "the daemon refused to start")), kind)
    try:
        rc = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        rc = None
    last = _tail(data.daemon_log, 1).strip()
    raise DaemonUnavailable(
        f"the daemon stopped at start-up (exit code {rc}){': ' + last if last else ''}; "
        f"the full report is in {data.daemon_log}"
    )


def ensure_daemon(data: DataDir | None = None) -> Client:
    data = data or DataDir.default()
    client = Client(data)
    if not client.ping():
        start_daemon(data)
    return client


def _tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log (read from its last 64 KiB only)."""
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - 65536))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


__all__ = ["ApiError", "Client", "DaemonRefused", "DaemonUnavailable", "ensure_daemon", "start_daemon"]
