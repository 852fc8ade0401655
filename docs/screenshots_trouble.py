"""Screenshots of runtime trouble in the real app (``docs/screenshots.py --only trouble``):

- ``job-trouble.png``: a real job whose worker is SIGSTOP-ed, on a daemon whose MLflow store
  cannot open: the state cell's warning pill, the detail's health line, "MLflow: behind" in
  the detail and the status bar;
- ``job-mlflow-not-mirrored.png``: the detail of a finished job whose mirror gave up: the
  daemon restarted on a tracking store that a kill left half-made (``tests/mlflow_helpers.py``,
  run in a subprocess: MLflow stays out of the GUI process);
- ``runtime-refused.png``: the window when the daemon refuses to start (a damaged database),
  its sentence whole in the banner.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from screenshot_app import main_window, running_daemon

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "resources" / "samples" / "tiny-lora.yaml"


def _spec(name: str, steps: int) -> dict[str, Any]:
    from trainer_runtime.jobs.spec import load_spec_file

    spec = load_spec_file(SAMPLE).to_dict()
    spec["name"] = name
    spec["train"]["max_steps"] = steps
    return spec


def capture_trouble_only(home: Path, pump: Callable, save: Callable) -> None:
    from trainer_runtime.paths import DataDir

    data = DataDir.default().ensure()
    blocker = home / "mlflow-blocked"
    blocker.write_text("a file where the MLflow store's folder should be: the mirror cannot open it")
    data.settings_file.write_text(
        f'{{"tracking_uri": "sqlite:///{blocker / "mlflow.db"}", "mlflow_sync_interval_s": 0.5}}'
    )
    with running_daemon() as client:
        done_id = client.submit(_spec("tiny-lora-done", 12)).id
        client.wait(done_id, timeout=300)
        job_id = client.submit(_spec("tiny-lora-stuck", 5000)).id
        pump(120, lambda: client.job(job_id).state == "RUNNING" and bool(client.job(job_id).pid))
        pid = client.job(job_id).pid
        assert pid, "the running job has no worker pid"
        pump(60, lambda: bool(client.job(job_id).mlflow_error))
        with main_window(home) as window:
            jobs = window.panels["jobs"]
            pump(60, lambda: window.conn.is_connected and jobs.model.rowCount() >= 2)
            pump(30, lambda: jobs.detail is not None and jobs.select_job(job_id))
            pump(30, lambda: jobs.detail.job is not None)
            pump(120, lambda: jobs.detail.curves.point_count("loss") > 10)  # curves and log fill in
            os.kill(pid, signal.SIGSTOP)
            try:
                pump(60, lambda: jobs.detail.health.isVisible() and window.status.mlflow.isVisible())
                pump(1)
                save(window, "job-trouble")
            finally:
                os.kill(pid, signal.SIGCONT)
        client.action(job_id, "cancel")
        pump(60, lambda: client.job(job_id).state == "CANCELLED")

    # A tracking store that a kill left half-made: the mirror tries it a few times, then stops.
    store = home / "team" / "tracking.db"
    code = f"from pathlib import Path; from tests.mlflow_helpers import killed_store; killed_store(Path({str(store)!r}))"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=300)
    data.settings_file.write_text(f'{{"tracking_uri": "sqlite:///{store}", "mlflow_sync_interval_s": 0.3}}')
    with running_daemon() as client:
        pump(300, lambda: bool(client.job(done_id).mlflow_done and client.job(done_id).mlflow_error))
        with main_window(home) as window:
            jobs = window.panels["jobs"]
            pump(60, lambda: window.conn.is_connected and jobs.model.rowCount() >= 2)
            pump(30, lambda: jobs.detail is not None and jobs.select_job(done_id))
            pump(30, lambda: jobs.detail.mlflow.isVisible() and window.status.mlflow.isVisible())
            pump(2)
            save(jobs.detail, "job-mlflow-not-mirrored")

    # The daemon refuses a damaged store: the window says so, whole, and waits for Retry.
    kept = home / "kept-db"
    kept.mkdir()
    for f in home.glob(data.database.name + "*"):
        shutil.move(f, kept / f.name)
    data.database.write_bytes(b"not an SQLite database\n" * 500)
    with main_window(home, autostart=True, size=(1100, 640)) as window:
        pump(120, lambda: bool(window.conn.start_refusal) and window.banner.isVisible())
        pump(1)
        save(window, "runtime-refused")
