"""The GUI's jobs state without Qt: rows from lists, events and partial news, the typed events
it emits, and the rules it reads from the contract (no QApplication here)."""

from __future__ import annotations

from typing import Any

from sparktrainer_gui.state.jobs import JobChange, JobsState, MetricsAdded
from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.jobs import HealthView, JobAction, JobRecord, JobRow, JobState, MetricPoint

NOW = "2026-01-02T03:04:05Z"


def _fields(job_id: str, state: JobState, **extra: Any) -> dict[str, Any]:
    d = {"id": job_id, "name": f"job-{job_id}", "experiment": "default", "state": state, "attempt": 1,
         "priority": 0, "reason": "spec and inputs validated", "devices": [], "created_at": NOW,
         "queued_at": None, "started_at": None, "finished_at": None, "pid": None, "step": 0,
         "total_steps": 100, "resume_from": None, "pending_action": None, "mlflow_run_id": None,
         "mlflow_done": False, "mlflow_error": None, "health": None}  # fmt: skip
    d.update(extra)
    return d


def row(job_id: str, state: JobState = JobState.QUEUED, **extra: Any) -> JobRow:
    live = {"progress": 0.0, "eta_s": None, "best_eval_loss": None, "job_dir": f"/jobs/{job_id}/attempt-1",
            "device_info": [], "waiting_for": None}  # fmt: skip
    fields = _fields(job_id, state)
    fields.update(live)
    fields.update(extra)
    return parse(JobRow, fields)


def record(job_id: str, state: JobState = JobState.QUEUED, **extra: Any) -> JobRecord:
    return parse(JobRecord, {**_fields(job_id, state, **extra), "spec": {"name": f"job-{job_id}"}})


def cpu(n: int) -> dict[str, Any]:
    return {"id": f"cpu:{n}", "kind": "cpu", "name": f"CPU slot {n}", "memory_mb": 0, "label": "CPU"}


class Recorder:
    def __init__(self, state: JobsState) -> None:
        self.seen: list[tuple[str, Any]] = []
        state.added.connect(lambda r: self.seen.append(("added", r.id)))
        state.changed.connect(lambda c: self.seen.append(("changed", (c.job.id, c.fields))))
        state.removed.connect(lambda i: self.seen.append(("removed", i)))
        state.metrics_added.connect(lambda m: self.seen.append(("metrics", m)))

    def take(self) -> list[tuple[str, Any]]:
        seen, self.seen = self.seen, []
        return seen


def test_a_list_adds_changes_and_removes_rows_telling_only_what_changed():
    state = JobsState()
    events = Recorder(state)
    state.sync([row("a", JobState.RUNNING, step=5), row("b", JobState.COMPLETED, best_eval_loss=2.5)])
    assert state.ids() == ["a", "b"] and events.take() == [("added", "a"), ("added", "b")]

    state.begin_sync()
    state.sync([row("a", JobState.RUNNING, step=9, progress=0.09), row("c")])  # b is gone, c is new
    assert state.ids() == ["a", "c"]
    assert events.take() == [
        ("removed", "b"),
        ("changed", ("a", frozenset({"step", "progress"}))),
        ("added", "c"),
    ]
    state.sync([row("a", JobState.RUNNING, step=9, progress=0.09), row("c")])  # the same list again
    assert events.take() == []


def test_the_rules_come_from_the_contract():
    state = JobsState()
    state.sync([row("r", JobState.RUNNING), row("p", JobState.PAUSED), row("d", JobState.FAILED)])
    running, paused, failed = (state.get(i) for i in ("r", "p", "d"))
    assert running is not None and paused is not None and failed is not None
    assert JobAction.PAUSE in running.allowed_actions and JobAction.RESTART not in running.allowed_actions
    assert JobAction.RESUME in paused.allowed_actions and not paused.is_terminal
    assert failed.is_terminal and set(failed.allowed_actions) == {JobAction.RESTART, JobAction.DELETE}
    assert running.state.label == "Running"


def test_an_event_updates_a_row_and_asks_for_the_view_only_for_what_it_lacks():
    state = JobsState()
    events = Recorder(state)
    assert state.apply_record(record("n")) is True  # a job first seen in an event: its view is needed
    new = state.get("n")
    assert new is not None and new.job_dir == "" and new.state is JobState.QUEUED
    state.fill_live(row("n", device_info=[]))
    assert state.apply_record(record("n", reason="waiting")) is False
    placed = record("n", JobState.RUNNING, devices=["cpu:1"], step=10)
    assert state.apply_record(placed) is True  # placed on a device whose label is not known here
    state.fill_live(row("n", JobState.RUNNING, devices=["cpu:1"], device_info=[cpu(1)], eta_s=30.0))
    job = state.get("n")
    assert job is not None and job.device_label == "CPU" and job.progress == 0.1 and job.eta_s == 30.0
    assert [e for e, _ in events.take()] == ["added"] + ["changed"] * 4


def test_events_win_over_an_older_list_and_fill_what_they_lack():
    state = JobsState()
    state.sync([row("a")])
    state.begin_sync()
    state.apply_record(record("a", JobState.RUNNING, step=3))  # arrives while the list is in flight
    state.apply_record(record("late", JobState.QUEUED))  # created after the list was read
    state.sync([row("a", JobState.QUEUED, eta_s=12.0, waiting_for="a free CPU slot")])
    a = state.get("a")
    assert a is not None and a.state is JobState.RUNNING and a.step == 3
    assert a.eta_s == 12.0 and a.waiting_for is None  # the list's wait reason was for QUEUED
    assert "late" in state


def test_progress_health_and_metrics():
    clock = [100.0]
    state = JobsState(clock=lambda: clock[0])
    events = Recorder(state)
    state.sync([row("a", JobState.RUNNING, step=10, eta_s=99.0)])
    events.take()
    state.set_progress("a", 20, 0)  # no total: the known one stays
    a = state.get("a")
    assert a is not None and (a.step, a.total_steps, a.progress) == (20, 100, 0.2)
    clock[0] += 10  # 10 steps in 10 s since the row was first seen running: 80 steps left
    assert state.eta_s(a) == 80.0
    state.set_progress("nobody", 1, 1)  # news of a job not listed makes no row

    stopped = HealthView(status="stopped", since=1.0, message="SIGSTOP")
    state.set_health("a", stopped)
    state.set_health("a", stopped)  # nothing new: no event
    points = [
        MetricPoint(key="eval_loss", step=20, value=3.25, time=1.0),
        MetricPoint(key="loss", step=20, value=1.0, time=1.0),
    ]
    state.add_metrics("a", 1, points)
    state.add_metrics("a", 1, [MetricPoint(key="eval_loss", step=30, value=3.5, time=2.0)])  # not better
    a = state.get("a")
    assert a is not None and a.health == stopped and a.best_eval_loss == 3.25
    seen = events.take()
    assert seen[0] == ("changed", ("a", frozenset({"step", "progress"})))
    assert seen[1] == ("changed", ("a", frozenset({"health"})))
    assert seen[2] == ("changed", ("a", frozenset({"best_eval_loss"})))
    assert seen[3] == ("metrics", MetricsAdded("a", 1, points))
    assert [e for e, _ in seen[4:]] == ["metrics"]

    state.apply_record(record("a", JobState.CANCELLED, step=20))  # the record says: no trouble
    a = state.get("a")
    assert a is not None and a.health is None and a.eta_s is None and state.eta_s(a) is None
    state.remove("a")
    state.remove("a")
    assert len(state) == 0 and events.take()[-1] == ("removed", "a")


def test_a_change_event_is_typed():
    state = JobsState()
    changes: list[JobChange] = []
    state.changed.connect(changes.append)
    state.upsert(row("a"))
    state.upsert(row("a", JobState.RUNNING))
    assert changes[0].job.state is JobState.RUNNING and "state" in changes[0].fields


def test_a_jobs_full_view_takes_the_events_news():
    from sparktrainer_gui.state.jobs import merge_view, record_update
    from trainer_runtime.api.schema.jobs import JobView

    view = parse(JobView, {**row("a").model_dump(mode="json"), "spec": {"name": "job-a"}, "metrics": {}})
    running = merge_view(view, record_update(record("a", JobState.RUNNING, step=30)))
    assert running.state is JobState.RUNNING and running.step == 30 and running.progress == 0.3
    assert JobAction.PAUSE in running.allowed_actions and not running.is_terminal  # recomputed
    assert running.job_dir == view.job_dir and running.metrics == {}  # what only the view has stays
    assert merge_view(running, {"step": 50}).progress == 0.5
