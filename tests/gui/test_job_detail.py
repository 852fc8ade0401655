"""The job detail against a real daemon and real (tiny) training jobs."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
import yaml
from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtTest import QTest

from sparktrainer_gui.panels.jobs import metrics_feed
from sparktrainer_gui.panels.jobs.detail import JobDetail
from sparktrainer_gui.panels.jobs.notify import JobFinishedNotifier
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.events import Event
from trainer_runtime.api.schema.jobs import JobRecord, JobState
from trainer_runtime.paths import DataDir

pytestmark = pytest.mark.e2e
WAIT_MS = 120_000


@pytest.fixture
def conn(daemon, qtbot):
    c = RuntimeConnection(DataDir.default(), autostart_daemon=False)
    with qtbot.waitSignal(c.connected, timeout=30_000):
        c.start()
    yield c
    c.stop()


@pytest.fixture
def detail(conn, qtbot):
    w = JobDetail(conn)
    qtbot.addWidget(w)
    w.resize(1100, 720)
    w.show()
    return w


def _submit(client, path) -> str:
    return client.submit(yaml.safe_load(path.read_text())).id


def _state(client, job_id: str) -> JobState:
    return client.job(job_id).state


def test_running_job_live_curves_hover_smoothing_log_and_controls(daemon, detail, spec_file, qtbot):
    job_id = _submit(daemon, spec_file(train={"max_steps": 3000, "eval_every": 500}))
    detail.show_job(job_id)
    curves = detail.curves
    try:
        # the loss curve grows while metrics arrive
        qtbot.waitUntil(lambda: curves.point_count("loss") >= 5, timeout=WAIT_MS)
        first = curves.point_count("loss")
        qtbot.waitUntil(lambda: curves.point_count("loss") > first + 5, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: curves.displayed("loss")[0].size > 0, timeout=5_000)
        assert curves.point_count("eval_loss") >= 1  # eval at step 0
        steps = curves.tracks["loss"].raw.steps
        assert np.all(np.diff(steps) > 0)  # one point per step, in order
        assert detail.title.text() == "tiny" and "Running" in detail.state_badge.text()
        qtbot.waitUntil(lambda: "Device CPU" in detail.info.text(), timeout=10_000)  # the device's label

        # hover: freeze the view, move the mouse over a known step, read the read-out
        curves.refresh_timer.stop()
        curves.refresh()
        vb = curves.plots["loss"].vb
        target = float(steps[len(steps) // 2])
        scene_pt = vb.mapViewToScene(QPointF(target, sum(vb.viewRange()[1]) / 2))
        view_pt = curves.graphics.mapFromScene(scene_pt)
        QTest.mouseMove(curves.graphics.viewport(), view_pt)
        x_at = vb.mapSceneToView(curves.graphics.mapToScene(view_pt)).x()
        want_step, want_value = curves.tracks["loss"].raw.value_at(x_at)
        qtbot.waitUntil(lambda: f"step {want_step:,}<" in curves.readout.text(), timeout=5_000)
        assert f"{want_value:.5g}" in curves.readout.text()
        assert curves._vlines["loss"].isVisible() and curves._vlines["lr"].value() == want_step

        # smoothing: the drawn loss curve changes with the slider
        curves.smoothing.setValue(0)
        curves.refresh()
        raw_y = curves.displayed("loss")[1].copy()
        curves.smoothing.setValue(95)
        curves.refresh()
        smooth_y = curves.displayed("loss")[1]
        assert smooth_y.size == raw_y.size and not np.allclose(smooth_y, raw_y)
        assert np.std(np.diff(smooth_y)) < np.std(np.diff(raw_y))
        assert curves.curves["loss"].raw.isVisible()  # the raw curve stays behind, faint
        curves.refresh_timer.start()

        # log tab: lines arrive, find highlights and steps through matches
        detail.tabs.setCurrentWidget(detail.log_view)
        log = detail.log_view
        qtbot.waitUntil(lambda: log.text.blockCount() > 3, timeout=WAIT_MS)
        word = next(w for w in log.text.toPlainText().split() if len(w) > 3 and w.isalpha())
        qtbot.keyClicks(log.find, word)
        assert log.match_count >= 1 and log.matches_label.text().startswith("1 of")
        assert word in log.text.textCursor().selectedText()
        if log.match_count > 1:
            qtbot.mouseClick(log.next_button, Qt.MouseButton.LeftButton)
            assert log.matches_label.text().startswith("2 of")

        # controls: pause → resume → cancel, each reaching the daemon
        qtbot.waitUntil(lambda: detail.buttons["pause"].isEnabled(), timeout=10_000)
        assert not detail.buttons["resume"].isEnabled() and not detail.buttons["restart"].isEnabled()
        qtbot.mouseClick(detail.buttons["pause"], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: _state(daemon, job_id) is JobState.PAUSED, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: detail.buttons["resume"].isEnabled(), timeout=10_000)
        assert "Paused" in detail.state_badge.text()
        paused_at = curves.point_count("loss")
        qtbot.mouseClick(detail.buttons["resume"], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: _state(daemon, job_id) in (JobState.QUEUED, JobState.RUNNING), timeout=10_000)
        qtbot.waitUntil(lambda: curves.point_count("loss") > paused_at, timeout=WAIT_MS)  # same curve goes on
        qtbot.waitUntil(lambda: detail.buttons["cancel"].isEnabled(), timeout=10_000)
        qtbot.mouseClick(detail.buttons["cancel"], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: _state(daemon, job_id) is JobState.CANCELLED, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: detail.buttons["restart"].isEnabled(), timeout=10_000)
        qtbot.waitUntil(lambda: detail.history.rowCount() >= 5, timeout=10_000)
    finally:
        if not daemon.job(job_id).is_terminal:
            daemon.action(job_id, "cancel")


def test_finished_job_shows_its_full_history(daemon, detail, spec_file, qtbot, monkeypatch):
    monkeypatch.setattr(metrics_feed, "PAGE", 7)  # force many pages of after_id paging
    job_id = _submit(daemon, spec_file(train={"max_steps": 30, "eval_every": 10}))
    assert daemon.wait(job_id, timeout=300).state is JobState.COMPLETED
    with qtbot.waitSignal(detail.feed.loaded, timeout=WAIT_MS):
        detail.show_job(job_id)
    curves = detail.curves
    assert curves.point_count("loss") == 30
    np.testing.assert_array_equal(curves.tracks["loss"].raw.steps, np.arange(1, 31))
    assert curves.tracks["eval_loss"].raw.steps.tolist() == [0, 10, 20, 30]
    summary = daemon.job(job_id).metrics["loss"]
    curves.refresh()
    assert curves.table.item(0, 1).text() == f"{summary.last:.4g}"
    assert curves.table.item(0, 2).text() == f"{summary.min:.4g}"
    assert "Completed" in detail.state_badge.text() and detail.buttons["restart"].isEnabled()
    assert not detail.buttons["pause"].isEnabled()
    qtbot.waitUntil(lambda: detail.checkpoints.rowCount() >= 1, timeout=10_000)
    qtbot.waitUntil(lambda: detail.history.rowCount() >= 3, timeout=10_000)
    assert "max_steps: 30" in detail.spec.toPlainText()
    qtbot.waitUntil(lambda: detail.log_view.text.blockCount() > 1, timeout=10_000)

    detail.show_job(None)  # switching clears
    assert curves.point_count("loss") == 0 and detail.stack.currentIndex() == 0


def test_errors_from_actions_are_shown_in_the_widget(daemon, detail, spec_file, qtbot):
    job_id = _submit(daemon, spec_file(train={"max_steps": 5}))
    daemon.wait(job_id, timeout=300)
    detail.show_job(job_id)
    qtbot.waitUntil(lambda: detail.job is not None, timeout=10_000)
    detail._on_action_button_clicked("pause")  # not allowed for a finished job: the daemon says why
    qtbot.waitUntil(lambda: detail.error.isVisible(), timeout=10_000)
    assert "Could not pause the job" in detail.error.text() and "COMPLETED" in detail.error.text()


def test_a_change_that_arrives_while_the_view_loads_is_kept(daemon, detail, spec_file, qtbot):
    """The stream is ordered and complete: a job_state event that reaches the detail before the
    job's view has loaded is applied over it, never dropped (a job that started meanwhile used
    to stay shown as Queued, its Pause button disabled, until its next change)."""
    seen: list[JobRecord] = []
    detail.conn.job_changed.connect(seen.append)
    job_id = _submit(daemon, spec_file(train={"max_steps": 5}))
    qtbot.waitUntil(
        lambda: any(j.id == job_id and j.state is JobState.COMPLETED for j in seen), timeout=300_000
    )
    done = [j for j in seen if j.id == job_id][-1]
    detail.show_job(job_id)  # its view is on the way (a thread-pool call); no Qt event ran yet
    newer = {**done.model_dump(mode="json"), "reason": "a newer reason"}  # the job's next change
    detail.conn._dispatch(
        parse(Event, {"type": "job_state", "seq": 1, "time": 0.0, "job_id": job_id, "job": newer})
    )
    with qtbot.waitSignal(detail.job_loaded):
        pass
    assert detail.reason.text() == "a newer reason" and "Completed" in detail.state_badge.text()


class _FakeConn(QObject):
    job_changed = Signal(object)


def test_notifier_posts_once_when_a_job_finishes(qtbot):
    from tests.unit.test_gui_jobs_state import record

    conn = _FakeConn()
    notifier = JobFinishedNotifier(conn)
    posted: list[str] = []
    notifier.status_posted.connect(lambda text, _ms: posted.append(text))
    conn.job_changed.emit(record("j1", JobState.RUNNING, name="tiny"))
    conn.job_changed.emit(record("j1", JobState.COMPLETED, name="tiny", reason="done"))
    conn.job_changed.emit(record("j1", JobState.COMPLETED, name="tiny", reason="done", mlflow_done=True))
    old = record("j2", JobState.FAILED, finished_at="2001-01-01T00:00:00Z")
    conn.job_changed.emit(old)  # an old failure seen for the first time is not news
    assert posted == ["Training finished: tiny: completed — done"]
