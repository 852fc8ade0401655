"""The Jobs panel against a real daemon and real workers."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from sparktrainer_gui.panels.jobs.table_model import PROGRESS, STATE, STATE_ROLE
from tests.helpers import cli
from trainer_runtime.api.schema.jobs import JobState

pytestmark = pytest.mark.e2e
LONG = {"max_steps": 3000}


def submit(spec) -> str:
    return cli("jobs", "submit", str(spec), check=True).stdout.strip()


def state_of(panel, job_id: str) -> JobState | None:
    job = panel.jobs.get(job_id)
    return job.state if job is not None else None


def step_of(panel, job_id: str) -> int:
    job = panel.jobs.get(job_id)
    return job.step if job is not None else 0


def click(qtbot, panel, action) -> None:
    assert action.isEnabled(), f"{action.text()} is disabled"
    qtbot.mouseClick(panel.toolbar.widgetForAction(action), Qt.MouseButton.LeftButton)


def test_cli_job_appears_at_once_and_updates_in_place(
    qtbot, daemon, spec_file, make_window, model_tester, monkeypatch
):
    window, _conn = make_window()
    panel = window.panels["jobs"]
    model_tester(panel.model)
    model_tester(panel.proxy)
    resets: list[int] = []
    panel.model.modelReset.connect(lambda: resets.append(1))

    job_id = submit(spec_file(train=LONG))
    qtbot.waitUntil(lambda: panel.model.row_of(job_id) >= 0, timeout=30_000)
    row = panel.model.row_of(job_id)
    qtbot.waitUntil(lambda: state_of(panel, job_id) is JobState.RUNNING, timeout=60_000)
    assert panel.model.index(row, STATE).data(STATE_ROLE) == JobState.RUNNING
    assert panel.model.index(row, STATE).data() == "Running"
    qtbot.waitUntil(lambda: step_of(panel, job_id) > 0, timeout=60_000)
    first = step_of(panel, job_id)
    first_text = panel.model.index(row, PROGRESS).data()
    qtbot.waitUntil(lambda: step_of(panel, job_id) > first + 5, timeout=60_000)
    # The cell follows (a few steps may keep the same "0% · 3m left" text: wait for the change).
    qtbot.waitUntil(lambda: panel.model.index(row, PROGRESS).data() != first_text, timeout=60_000)
    qtbot.waitUntil(lambda: panel.model.index(row, 3).data() == "CPU", timeout=10_000)  # the device's label

    # a second job is added, the first cancelled and deleted: rows change in place
    other = submit(spec_file("other.yaml", name="other", train=LONG))
    qtbot.waitUntil(lambda: panel.model.row_of(other) >= 0, timeout=30_000)
    cli("jobs", "cancel", job_id, check=True)
    qtbot.waitUntil(lambda: state_of(panel, job_id) is JobState.CANCELLED, timeout=60_000)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert panel.select_job(job_id)
    click(qtbot, panel, panel.job_actions.delete)
    qtbot.waitUntil(lambda: panel.model.row_of(job_id) < 0, timeout=10_000)
    assert panel.model.job_ids() == [other]
    cli("jobs", "cancel", other, check=True)
    qtbot.waitUntil(lambda: state_of(panel, other) is JobState.CANCELLED, timeout=60_000)
    assert resets == []


def test_toolbar_pause_resume_cancel(qtbot, daemon, spec_file, make_window):
    window, _conn = make_window()
    panel = window.panels["jobs"]
    a = panel.job_actions
    job_id = submit(spec_file(train=LONG))
    qtbot.waitUntil(lambda: state_of(panel, job_id) is JobState.RUNNING, timeout=60_000)
    assert panel.select_job(job_id)
    assert a.pause.isEnabled() and not a.resume.isEnabled() and not a.delete.isEnabled()

    click(qtbot, panel, a.pause)
    qtbot.waitUntil(lambda: state_of(panel, job_id) is JobState.PAUSED, timeout=60_000)
    assert daemon.job(job_id).state is JobState.PAUSED
    qtbot.waitUntil(lambda: a.resume.isEnabled() and not a.pause.isEnabled(), timeout=30_000)

    click(qtbot, panel, a.resume)
    qtbot.waitUntil(lambda: state_of(panel, job_id) is JobState.RUNNING, timeout=60_000)

    click(qtbot, panel, a.cancel)
    qtbot.waitUntil(lambda: state_of(panel, job_id) is JobState.CANCELLED, timeout=60_000)
    assert daemon.job(job_id).state is JobState.CANCELLED
    qtbot.waitUntil(
        lambda: a.restart.isEnabled() and a.delete.isEnabled() and not a.cancel.isEnabled(), timeout=30_000
    )

    # A refusal from the daemon reaches the status bar as a sentence.
    stale = panel.jobs.get(job_id).model_copy(update={"state": JobState.RUNNING})
    panel.jobs.upsert(stale)  # a stale view: the daemon knows better
    panel.run_action("pause", [job_id])
    qtbot.waitUntil(lambda: "cannot pause job" in window.statusBar().currentMessage(), timeout=10_000)
    assert "CANCELLED" in window.statusBar().currentMessage()


def test_the_daemon_and_its_jobs_outlive_the_window(qtbot, daemon, spec_file, make_window):
    window, conn = make_window()
    job_id = submit(spec_file(train=LONG))
    qtbot.waitUntil(lambda: state_of(window.panels["jobs"], job_id) is JobState.RUNNING, timeout=60_000)
    window.close()
    conn.stop()

    again, _ = make_window()
    panel = again.panels["jobs"]
    qtbot.waitUntil(lambda: state_of(panel, job_id) is JobState.RUNNING, timeout=10_000)
    assert daemon.job(job_id).state is JobState.RUNNING
    before = step_of(panel, job_id)
    qtbot.waitUntil(lambda: step_of(panel, job_id) > before, timeout=30_000)
    daemon.action(job_id, "cancel")
    qtbot.waitUntil(lambda: state_of(panel, job_id) is JobState.CANCELLED, timeout=60_000)


def test_disconnect_banner_and_reconnect(qtbot, daemon, make_window):
    window, conn = make_window()
    # make_window waited for is_connected, which turns True in the turn that told the window
    assert not window.banner.isVisible()
    assert "Runtime" in window.status.connection.text()
    assert "Disconnected" not in window.status.connection.text()
    qtbot.waitUntil(lambda: "CPU slot" in window.status.devices.text(), timeout=10_000)

    with qtbot.waitSignal(conn.disconnected, timeout=30_000) as blocker:
        daemon.shutdown()
    reason = blocker.args[0]  # every receiver ran in the turn that emitted it
    assert window.banner.isVisible() and not conn.is_connected
    assert window.banner.message.text().startswith(
        f"Lost the connection to the runtime: {reason.rstrip('.')}"
    )
    assert "Disconnected" in window.status.connection.text()

    # Retry: the connection starts the daemon again (it may already be at it on its own).
    qtbot.mouseClick(window.banner.retry, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: conn.is_connected and not window.banner.isVisible(), timeout=60_000)
    assert daemon.ping()
