"""A new user's whole flow in the real app against a real daemon and real workers:
the wizard submits the sample LoRA job, the table shows it RUNNING, its loss curve
grows, the window closes and reopens with the job still running and its full history,
and the detail's buttons pause, resume and cancel it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from sparktrainer_gui.panels.jobs.wizard import NewJobWizard
from trainer_runtime.api.schema.jobs import JobState

pytestmark = pytest.mark.e2e


def state_of(panel, job_id: str) -> JobState | None:
    job = panel.jobs.get(job_id)
    return job.state if job is not None else None


def click(qtbot, button) -> None:
    assert button.isEnabled(), f"{button.text()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_wizard_to_curves_to_reopen_to_controls(qtbot, daemon, make_window, model_tester):
    window, conn = make_window()
    panel = window.panels["jobs"]
    qtbot.waitUntil(lambda: panel.detail is not None, timeout=30_000)

    # The wizard opens ready to run the bundled sample; the user only raises the steps.
    panel.open_wizard()
    qtbot.waitUntil(lambda: panel.findChild(NewJobWizard) is not None)
    wizard = panel.findChild(NewJobWizard)
    values = wizard.values()
    assert values["dataset.path"].endswith("resources/samples/corpus.txt") and values["method"] == "lora"
    values.update({"name": "first-job", "train.max_steps": "4000"})
    wizard.set_values(values)
    qtbot.waitUntil(lambda: wizard.form.submit_button.isEnabled(), timeout=10_000)
    with qtbot.waitSignal(wizard.job_submitted, timeout=30_000) as submitted:
        click(qtbot, wizard.form.submit_button)
    job_id = submitted.args[0]
    assert daemon.job(job_id).spec["method"] == "lora"

    qtbot.waitUntil(lambda: state_of(panel, job_id) is JobState.RUNNING, timeout=60_000)
    qtbot.waitUntil(lambda: panel.detail.job_id == job_id, timeout=5_000)  # the new job is selected
    curves = panel.detail.curves
    qtbot.waitUntil(lambda: curves.point_count("loss") > 10, timeout=60_000)
    seen = curves.point_count("loss")
    qtbot.waitUntil(lambda: curves.point_count("loss") > seen + 50, timeout=60_000)

    # Close the app while the job runs; the daemon keeps it running.
    conn.stop()
    window.close()
    assert daemon.job(job_id).state is JobState.RUNNING

    window2, _conn2 = make_window()
    panel2 = window2.panels["jobs"]
    qtbot.waitUntil(lambda: panel2.detail is not None and panel2.model.row_of(job_id) >= 0, timeout=30_000)
    assert state_of(panel2, job_id) is JobState.RUNNING
    assert panel2.select_job(job_id)
    detail = panel2.detail
    at_reopen = daemon.job(job_id).metrics["loss"].count
    qtbot.waitUntil(lambda: detail.curves.point_count("loss") >= at_reopen, timeout=30_000)
    steps = detail.curves.tracks["loss"].raw.steps  # every point the curve holds, in step order
    assert list(steps[:at_reopen]) == list(range(1, at_reopen + 1))  # the full history, no gap

    click(qtbot, detail.buttons["pause"])
    qtbot.waitUntil(lambda: daemon.job(job_id).state is JobState.PAUSED, timeout=60_000)
    qtbot.waitUntil(lambda: state_of(panel2, job_id) is JobState.PAUSED, timeout=5_000)
    click(qtbot, detail.buttons["resume"])
    qtbot.waitUntil(lambda: daemon.job(job_id).state is JobState.RUNNING, timeout=60_000)
    qtbot.waitUntil(lambda: detail.buttons["cancel"].isEnabled(), timeout=5_000)
    click(qtbot, detail.buttons["cancel"])
    qtbot.waitUntil(lambda: daemon.job(job_id).state is JobState.CANCELLED, timeout=60_000)
    qtbot.waitUntil(lambda: state_of(panel2, job_id) is JobState.CANCELLED, timeout=5_000)

    # The command palette's filter model passes Qt's model tester while the user types.
    popup = window2.open_palette()
    model_tester(popup.proxy)
    qtbot.keyClicks(popup.edit, "set")
    qtbot.keyClicks(popup.edit, "x")
    popup.edit.clear()
