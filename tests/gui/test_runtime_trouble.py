"""Runtime trouble reaches the user: a daemon that refuses to start (its sentence shown
whole, no restart loop, Retry), a worker that stopped responding (table and detail), and an
MLflow mirror that is behind or gave up (detail and status bar)."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest
import yaml
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from sparktrainer_gui import theme
from sparktrainer_gui.panels.jobs.table_model import HEALTH_ROLE, STATE
from sparktrainer_gui.widgets.banner import summary_of
from tests.unit.test_gui_jobs_state import record, row
from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.events import Event
from trainer_runtime.api.schema.jobs import JobRecord, JobState
from trainer_runtime.paths import DataDir

pytestmark = pytest.mark.e2e


def _fits(label) -> bool:
    """A word-wrapped label shows all of its text: it is as tall as its text needs."""
    return label.isVisible() and label.wordWrap() and label.height() >= label.heightForWidth(label.width())


def test_a_daemon_that_refuses_to_start_is_shown_whole_and_not_restarted_in_a_loop(
    qtbot, daemon, make_window
):
    data = DataDir.default()
    daemon.shutdown()
    qtbot.waitUntil(lambda: not daemon.ping(), timeout=60_000)
    kept = data.root / "kept-db"
    kept.mkdir()
    for f in data.root.glob(data.database.name + "*"):
        shutil.move(f, kept / f.name)
    data.database.write_bytes(b"this is not an SQLite database\n" * 700)  # a damaged store

    window, conn = make_window(wait_connected=False)
    banner = window.banner
    qtbot.waitUntil(lambda: bool(conn.start_refusal) and banner.isVisible(), timeout=120_000)
    sentence = conn.start_refusal
    assert "could not start" in banner.title.text() and banner.title.isVisible()
    assert banner.message.textFormat() == Qt.TextFormat.PlainText  # a "<…>" in it stays text
    shown, more = summary_of(sentence)
    assert banner.message.text() == shown
    if more:  # a log tail rather than a sentence: all of it behind Details…
        assert banner.details.isVisible()
        box = banner._on_details_clicked()
        assert box.detailedText() == sentence
        box.close()
    else:
        assert banner.message.text() == sentence.strip()
    qtbot.waitUntil(lambda: _fits(banner.message))  # wrapped, not cut
    assert "Retry" in banner.hint.text() and banner.retry.isEnabled()
    assert "Runtime not started" in window.status.connection.text()
    assert window.status.connection.toolTip() == sentence

    # No restart loop: the next start waits (pings go on, cheaply), until Retry asks for one.
    assert conn.seconds_until_next_start() > 20
    with qtbot.assertNotEmitted(conn.start_refused, wait=4000):
        pass
    with qtbot.waitSignal(conn.start_refused, timeout=120_000):
        qtbot.mouseClick(banner.retry, Qt.MouseButton.LeftButton)
        assert banner.hint.text() == "Starting the runtime again…" and not banner.retry.isEnabled()
    assert banner.retry.isEnabled() and conn.seconds_until_next_start() > 20

    # The user puts the store back; Retry starts the daemon and the banner goes.
    data.database.unlink()
    for f in kept.iterdir():
        shutil.move(f, data.root / f.name)
    qtbot.mouseClick(banner.retry, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: conn.is_connected and not banner.isVisible(), timeout=120_000)
    assert conn.start_refusal == "" and "Runtime" in window.status.connection.text()


def _job(job_id: str, state: JobState = JobState.RUNNING, **extra) -> dict:
    """A job's record as a job_state event carries it (JSON)."""
    d = {"name": f"job-{job_id}", "devices": ["cpu:0"], "reason": "started", "step": 40}
    d.update(extra)
    return record(job_id, state, **d).model_dump(mode="json")


def event(data: dict) -> Event:
    """An event of the stream, parsed as the client parses it."""
    return parse(Event, {"seq": 1, "time": 0.0, **data})


STOPPED = {"status": "stopped", "since": 1_700_000_000.0,
           "message": "the worker (pid 4242) is stopped (SIGSTOP); cancel the job, or send it SIGCONT."}  # fmt: skip


def test_a_worker_in_trouble_is_marked_in_the_jobs_table(qtbot, make_window):
    window, conn = make_window(autostart=False, wait_connected=False)
    panel = window.panels["jobs"]
    panel.jobs.upsert(row("j1", JobState.RUNNING, devices=["cpu:0"], reason="started", step=40))
    panel.jobs.upsert(row("j2", JobState.QUEUED))
    index = panel.model.index(0, STATE)
    assert index.data() == "Running" and index.data(HEALTH_ROLE) is None

    # A job_health event from the stream (as the daemon sends it) marks the row.
    conn._dispatch(event({"type": "job_health", "job_id": "j1", "health": STOPPED}))
    conn._dispatch(event({"type": "job_health", "job_id": "unknown", "health": STOPPED}))  # no row is made
    qtbot.waitUntil(lambda: index.data() == "Stopped")  # the signal crosses the event loop
    assert panel.model.job_ids() == ["j1", "j2"]
    assert index.data(HEALTH_ROLE).message == STOPPED["message"]
    tip = index.data(Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("Running: started\nSince ") and STOPPED["message"] in tip

    # It is drawn in the warning colour (the healthy QUEUED row is not).
    qtbot.waitUntil(lambda: panel.table.visualRect(panel.proxy.mapFromSource(index)).isValid())

    def warning_pixels(row: int) -> int:
        """Pixels of the state cell drawn in (nearly) the warning colour: text and sign."""
        rect = panel.table.visualRect(panel.proxy.mapFromSource(panel.model.index(row, STATE)))
        image = panel.table.viewport().grab(rect).toImage()
        want = QColor(theme.colors()["warning"])

        def near(c: QColor) -> bool:
            return (
                max(abs(c.red() - want.red()), abs(c.green() - want.green()), abs(c.blue() - want.blue()))
                < 40
            )

        return sum(
            1 for x in range(image.width()) for y in range(image.height()) if near(image.pixelColor(x, y))
        )

    qtbot.waitUntil(lambda: warning_pixels(0) > 20)
    assert warning_pixels(1) == 0

    # Fine again: a job_health event with no health; a state change without health clears it too.
    conn._dispatch(event({"type": "job_health", "job_id": "j1", "health": None}))
    qtbot.waitUntil(lambda: index.data() == "Running" and index.data(HEALTH_ROLE) is None)
    conn._dispatch(event({"type": "job_health", "job_id": "j1", "health": STOPPED}))
    conn._dispatch(event({"type": "job_state", "job_id": "j1", "job": _job("j1", JobState.CANCELLED)}))
    qtbot.waitUntil(lambda: index.data() == "Cancelled")
    conn._dispatch(event({"type": "job_health", "job_id": "j2", "health": STOPPED}))
    qtbot.waitUntil(lambda: panel.model.index(1, STATE).data(HEALTH_ROLE) is not None)
    conn._dispatch(
        event({"type": "job_state", "job_id": "j2", "job": _job("j2", JobState.CANCELLED, devices=[])})
    )
    qtbot.waitUntil(lambda: panel.model.index(1, STATE).data(HEALTH_ROLE) is None)


@pytest.fixture
def detail(daemon, qtbot):
    from sparktrainer_gui.panels.jobs.detail import JobDetail
    from sparktrainer_gui.runtime import RuntimeConnection

    conn = RuntimeConnection(DataDir.default(), autostart_daemon=False)
    w = JobDetail(conn)
    qtbot.addWidget(w)
    w.resize(1100, 720)
    w.show()
    yield w
    conn.stop()


def test_the_job_detail_says_what_is_wrong_with_the_worker_and_the_mirror(qtbot, daemon, detail, spec_file):
    job_id = daemon.submit(yaml.safe_load(spec_file(train={"max_steps": 5}).read_text())).id
    daemon.wait(job_id, timeout=300)
    qtbot.waitUntil(lambda: daemon.job(job_id).mlflow_done, timeout=120_000)  # its mirror is done
    # What a job_state event carries: the job's record (the view's fields a record has).
    view = daemon.job(job_id)
    finished = {k: v for k, v in view.model_dump(mode="json").items() if k in JobRecord.model_fields}
    detail.show_job(job_id)
    qtbot.waitUntil(lambda: detail.job is not None)
    assert not detail.health.isVisible() and not detail.mlflow.isVisible()
    conn = detail.conn

    # Events as the daemon's stream carries them, for this job's view.
    conn._dispatch(
        event({"type": "job_health", "job_id": job_id, "health": STOPPED | {"status": "unresponsive"}})
    )
    assert detail.health.isVisible()
    assert detail.health.text().startswith("Since ")
    assert detail.health.text().endswith(STOPPED["message"])
    qtbot.waitUntil(lambda: _fits(detail.health))

    behind = "the MLflow tracking store at sqlite:///x/mlflow.db is unreachable or failing; it is retried."
    trouble = STOPPED | {"status": "unresponsive"}  # the record carries the worker's health too
    view = {**finished, "health": trouble, "mlflow_error": behind, "mlflow_done": False}
    conn._dispatch(event({"type": "job_state", "job_id": job_id, "job": view}))
    assert detail.mlflow.text() == f"MLflow: behind — retrying: {behind}" and detail.mlflow.isVisible()
    assert detail.health.isVisible()  # the same state: the worker's trouble stays

    gave_up = "MLflow refused this run (INVALID_PARAMETER_VALUE); it is not retried. Fix the tracking server."
    conn._dispatch(event({"type": "job_state", "job_id": job_id, "job": {**view, "mlflow_error": gave_up,
                                                                           "mlflow_done": True}}))  # fmt: skip
    assert detail.mlflow.text() == f"MLflow: not mirrored — {gave_up}"
    assert detail.mlflow.styleSheet() != "" and "border-left" in detail.mlflow.styleSheet()  # a warning
    qtbot.waitUntil(lambda: _fits(detail.mlflow))

    conn._dispatch(event({"type": "job_state", "job_id": job_id, "job": {**finished, "state": "FAILED"}}))
    assert not detail.health.isVisible() and not detail.mlflow.isVisible()


def test_an_mlflow_outage_shows_in_the_status_bar_and_the_job_detail(
    qtbot, daemon_with, spec_file, tmp_path: Path, make_window
):
    blocker = tmp_path / "mlflow-store"
    blocker.write_text("this file stands where the store's folder should be")  # the store cannot open
    client = daemon_with(mlflow_sync_interval_s=0.3, tracking_uri=f"sqlite:///{blocker / 'mlflow.db'}")
    job_id = client.submit(yaml.safe_load(spec_file(train={"max_steps": 5}).read_text())).id
    qtbot.waitUntil(
        lambda: client.job(job_id).state is JobState.COMPLETED and bool(client.job(job_id).mlflow_error),
        timeout=300_000,
    )

    window, _conn = make_window()
    status = window.status
    qtbot.waitUntil(lambda: status.mlflow.isVisible(), timeout=60_000)
    assert "MLflow: behind" in status.mlflow.text()
    assert status.mlflow.toolTip().startswith("MLflow is behind and retrying: ")
    panel = window.panels["jobs"]
    qtbot.waitUntil(lambda: panel.detail is not None and panel.select_job(job_id), timeout=60_000)
    qtbot.waitUntil(lambda: panel.detail.job_id == job_id and panel.detail.mlflow.isVisible(), timeout=60_000)
    assert panel.detail.mlflow.text().startswith("MLflow: behind — retrying: ")

    blocker.unlink()
    blocker.mkdir(exist_ok=True)  # MLflow is back (its retry may make the folder first): lines go
    qtbot.waitUntil(lambda: not status.mlflow.isVisible(), timeout=120_000)
    qtbot.waitUntil(lambda: not panel.detail.mlflow.isVisible(), timeout=120_000)


def test_a_stopped_worker_is_marked_live_and_cleared_when_it_goes_on(qtbot, daemon, spec_file, make_window):
    """A real worker SIGSTOP-ed: the daemon's watchdog notices, its job_health event marks the
    table row and the detail; SIGCONT clears both."""
    window, _conn = make_window()
    panel = window.panels["jobs"]
    job_id = daemon.submit(yaml.safe_load(spec_file(train={"max_steps": 3000}).read_text())).id
    qtbot.waitUntil(
        lambda: daemon.job(job_id).state is JobState.RUNNING and bool(daemon.job(job_id).pid), timeout=120_000
    )
    pid = int(daemon.job(job_id).pid)
    qtbot.waitUntil(lambda: panel.detail is not None and panel.select_job(job_id), timeout=60_000)
    detail = panel.detail
    qtbot.waitUntil(lambda: detail.job_id == job_id and detail.job is not None, timeout=60_000)

    def state_text() -> str:
        return panel.model.index(panel.model.row_of(job_id), STATE).data()

    try:
        os.kill(pid, signal.SIGSTOP)
        qtbot.waitUntil(lambda: state_text() == "Stopped", timeout=120_000)
        qtbot.waitUntil(lambda: detail.health.isVisible(), timeout=30_000)
        assert detail.health.text().startswith("Since ") and "stopped" in detail.health.text()
        assert "\n" in panel.model.index(panel.model.row_of(job_id), STATE).data(Qt.ItemDataRole.ToolTipRole)
    finally:
        os.kill(pid, signal.SIGCONT)
    qtbot.waitUntil(lambda: state_text() == "Running" and not detail.health.isVisible(), timeout=120_000)
    daemon.action(job_id, "cancel")
    qtbot.waitUntil(lambda: daemon.job(job_id).state is JobState.CANCELLED, timeout=120_000)


def test_a_tracking_store_the_mirror_gave_up_on_is_shown_as_not_mirrored(
    qtbot, daemon_with, spec_file, tmp_path: Path, make_window
):
    """A user's tracking store left half-made by a kill (MLflow cannot open it, now or ever): the
    mirror stops after a few tries and says so; the status bar and the detail show that sentence
    as "not mirrored", not as "behind"."""
    import subprocess
    import sys

    store = tmp_path / "team" / "tracking.db"
    code = f"from pathlib import Path; from tests.mlflow_helpers import killed_store; killed_store(Path({str(store)!r}))"
    root = Path(__file__).resolve().parents[2]
    subprocess.run(
        [sys.executable, "-c", code], cwd=root, check=True, timeout=300
    )  # MLflow stays out of here
    client = daemon_with(mlflow_sync_interval_s=0.2, tracking_uri=f"sqlite:///{store}")
    job_id = client.submit(yaml.safe_load(spec_file(train={"max_steps": 5}).read_text())).id
    qtbot.waitUntil(
        lambda: client.job(job_id).state is JobState.COMPLETED and client.job(job_id).mlflow_done,
        timeout=300_000,
    )
    stopped = client.status().mlflow.permanent_error
    assert stopped and client.job(job_id).mlflow_error == stopped

    window, _conn = make_window()
    status = window.status
    qtbot.waitUntil(lambda: "MLflow: not mirrored" in status.mlflow.text() and status.mlflow.isVisible())
    assert status.mlflow.toolTip() == f"MLflow is not mirrored: {stopped}"
    panel = window.panels["jobs"]
    qtbot.waitUntil(lambda: panel.detail is not None and panel.select_job(job_id), timeout=60_000)
    detail = panel.detail
    qtbot.waitUntil(lambda: detail.job_id == job_id and detail.mlflow.isVisible(), timeout=60_000)
    assert detail.mlflow.text() == f"MLflow: not mirrored — {stopped}"
    assert "border-left" in detail.mlflow.styleSheet()  # drawn as a warning, not as muted "behind"
    qtbot.waitUntil(lambda: _fits(detail.mlflow))
