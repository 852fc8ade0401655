"""The jobs table model and its filter proxy, driven by job dicts shaped like the daemon's
(``job_view`` for lists, ``JobInfo.to_json`` for events), under Qt's model tester."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QPersistentModelIndex, Qt
from PySide6.QtTest import QAbstractItemModelTester

from sparktrainer_gui.panels.jobs.filter import JobsFilterProxy
from sparktrainer_gui.panels.jobs.table_model import (
    BEST,
    NAME,
    PROGRESS,
    STATE,
    STATE_ROLE,
    JobsTableModel,
    fmt_duration,
)
from sparktrainer_gui.widgets.runtime_status import device_summary


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def job(job_id: str, state: str = "QUEUED", **extra) -> dict:
    d = {"id": job_id, "name": f"job-{job_id}", "experiment": "default", "state": state, "attempt": 1,
         "reason": "spec and inputs validated", "devices": [], "created_at": iso(datetime.now(UTC)),
         "started_at": None, "finished_at": None, "step": 0, "total_steps": 0, "pending_action": None,
         "spec": {"name": f"job-{job_id}"}}  # fmt: skip
    d.update(extra)
    return d


@pytest.fixture
def tested(qtbot, model_tester):
    """A model and a sorted, filtered proxy, both watched by QAbstractItemModelTester."""
    model = JobsTableModel()
    proxy = JobsFilterProxy()
    proxy.setSourceModel(model)
    proxy.sort(STATE, Qt.SortOrder.AscendingOrder)
    model_tester(model)
    model_tester(proxy)
    resets = []
    model.modelReset.connect(lambda: resets.append(1))
    return model, proxy, resets


def test_the_model_tester_catches_a_broken_update(qtbot):
    """The gate can fail: an insertion that inserts nothing is reported."""
    from PySide6.QtCore import QModelIndex, qInstallMessageHandler

    seen: list[str] = []
    previous = qInstallMessageHandler(lambda _m, _c, msg: seen.append(msg))
    try:
        model = JobsTableModel()
        tester = QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Warning)
        model.beginInsertRows(QModelIndex(), 0, 0)
        model.endInsertRows()
    finally:
        qInstallMessageHandler(previous)
    assert any("FAIL!" in m for m in seen), seen
    del tester


def test_rows_are_inserted_updated_and_removed_in_place(tested):
    model, proxy, resets = tested
    model.sync([job("a", "RUNNING", step=5, total_steps=100, started_at=iso(datetime.now(UTC))),
                job("b", "COMPLETED", best_eval_loss=2.5)])  # fmt: skip
    assert model.job_ids() == ["a", "b"]
    kept = QPersistentModelIndex(model.index(0, NAME))
    changed = []
    model.dataChanged.connect(lambda tl, br, roles: changed.append((tl.row(), tl.column(), br.column())))

    model.upsert(job("c"))  # a new job from the event stream
    assert model.rowCount() == 3
    model.upsert(job("c", "RUNNING", devices=["cpu:1"], total_steps=50))
    model.set_progress("c", 10, 50)
    assert model.index(2, PROGRESS).data().startswith("20%")
    assert model.index(2, STATE).data(STATE_ROLE) == "RUNNING"
    model.add_metrics("c", [{"key": "eval_loss", "step": 10, "value": 3.25}, {"key": "loss", "value": 1.0}])
    model.add_metrics("c", [{"key": "eval_loss", "step": 20, "value": 3.5}])  # not better: kept
    assert model.index(2, BEST).data() == "3.2500"
    assert changed and all(row == 2 for row, _, _ in changed)

    model.upsert(job("a", "PAUSED", step=40, total_steps=100))
    assert kept.isValid() and kept.row() == 0 and model.index(0, STATE).data() == "Paused"

    model.remove("b")
    assert model.job_ids() == ["a", "c"] and kept.row() == 0
    model.begin_sync()  # reconnect: a full list is requested
    model.sync([job("c", "COMPLETED"), job("d")])  # a is gone, d is new
    assert model.job_ids() == ["c", "d"]
    assert not kept.isValid()
    assert resets == []
    assert proxy.rowCount() == 2


def test_events_win_over_an_older_full_list(tested):
    model, _proxy, _ = tested
    model.begin_sync()
    model.upsert(job("a", "RUNNING", step=3, total_steps=10))  # arrives while the list is in flight
    model.sync([job("a", "QUEUED", eta_s=12.0)])
    assert model.job("a")["state"] == "RUNNING"
    assert model.job("a")["eta_s"] == 12.0  # fields the event lacked are filled in


def test_filter_by_state_and_text_and_sort(tested):
    model, proxy, _ = tested
    for i, state in enumerate(["RUNNING", "COMPLETED", "FAILED", "QUEUED", "PAUSED"]):
        model.upsert(job(f"j{i}", state, name=["llama-lora", "gpt-full", "bert", "llama-full", "mistral"][i]))
    names = lambda: sorted(proxy.index(r, NAME).data() for r in range(proxy.rowCount()))  # noqa: E731
    proxy.set_state_filter("Active")
    assert names() == ["llama-full", "llama-lora", "mistral"]
    proxy.set_text_filter("llama")
    assert names() == ["llama-full", "llama-lora"]
    proxy.set_text_filter("llama full")
    assert names() == ["llama-full"]
    proxy.set_state_filter("All jobs")
    proxy.set_text_filter("failed")  # the state is searchable too
    assert names() == ["bert"]
    proxy.set_text_filter("")
    model.upsert(job("j3", "COMPLETED"))  # leaves "Active" when the filter is on
    proxy.set_state_filter("Active")
    assert names() == ["llama-lora", "mistral"]
    proxy.set_state_filter("All jobs")
    proxy.sort(STATE, Qt.SortOrder.AscendingOrder)
    assert proxy.index(0, STATE).data(STATE_ROLE) == "RUNNING"


def test_formatting():
    assert fmt_duration(None) == "–"
    assert fmt_duration(42) == "42s"
    assert fmt_duration(3 * 60 + 5) == "3m 05s"
    assert fmt_duration(2 * 3600 + 61) == "2h 01m"
    assert device_summary({"devices": {"kind": "cpu", "total": 2, "busy": 1}}) == "2 CPU slots, 1 busy"
    assert device_summary({"devices": {"kind": "gpu", "total": 8, "busy": 0}}) == "8 GPUs, all free"
    whole = [{"id": f"GPU-{i}", "kind": "gpu", "gpu": f"GPU-{i}"} for i in (0, 2)]
    slices = [{"id": f"MIG-{i}", "kind": "mig", "gpu": "GPU-1"} for i in range(3)]
    status = {"devices": {"kind": "gpu", "total": 5, "busy": 2, "devices": whole + slices}}
    assert device_summary(status) == "3 GPUs (3 MIG slices), 2 busy"
    model = JobsTableModel()
    started = datetime.now(UTC) - timedelta(seconds=75)
    model.upsert(
        job("a", "COMPLETED", started_at=iso(started), finished_at=iso(started + timedelta(seconds=65)))
    )
    assert model.index(0, 5).data() == "1m 05s"


def test_a_workers_health_is_shown_in_the_state_cell_and_follows_events(tested):
    from sparktrainer_gui.panels.jobs.table_model import HEALTH_ROLE

    model, proxy, resets = tested
    stuck = {"status": "unresponsive", "since": 1_700_000_000.0, "message": "no event and no CPU for 120 s."}
    model.sync([job("a", "RUNNING", health=stuck), job("b", "RUNNING", health=None)])
    assert model.index(0, STATE).data() == "Not responding"
    assert model.index(0, STATE).data(HEALTH_ROLE) == stuck
    assert (
        model.index(0, STATE).data(Qt.ItemDataRole.ToolTipRole).endswith(", no event and no CPU for 120 s.")
    )
    assert model.index(1, STATE).data() == "Running" and model.index(1, STATE).data(HEALTH_ROLE) is None
    proxy.set_text_filter("responding")  # what the cell says is searchable
    assert proxy.rowCount() == 1
    proxy.set_text_filter("")

    model.set_health("b", {"status": "stopped", "since": 1.0, "message": "SIGSTOP"})
    model.set_health("nobody", {"status": "stopped"})  # an event for a job not listed makes no row
    assert model.job_ids() == ["a", "b"] and model.index(1, STATE).data() == "Stopped"
    model.begin_sync()
    model.set_health("b", None)  # fine again, while a full list (older) is in flight
    model.sync([job("a", "RUNNING", health=stuck), job("b", "RUNNING", health={"status": "stopped"})])
    assert model.index(1, STATE).data(HEALTH_ROLE) is None, "the event is newer than the list"
    model.upsert({k: v for k, v in job("a", "PAUSED").items()})  # a state change: that worker is gone
    assert model.index(0, STATE).data() == "Paused" and model.index(0, STATE).data(HEALTH_ROLE) is None
    assert resets == []


def test_the_status_bar_tells_a_mirror_behind_from_one_that_gave_up():
    from sparktrainer_gui.widgets.runtime_status import mlflow_summary

    assert mlflow_summary({}) is None and mlflow_summary({"mlflow": {"enabled": False}}) is None
    assert mlflow_summary({"mlflow": {"enabled": True, "last_error": None}}) is None
    behind = mlflow_summary({"mlflow": {"enabled": True, "last_error": "the server is unreachable"}})
    assert behind == ("PAUSED", "MLflow: behind", "MLflow is behind and retrying: the server is unreachable")
    gave_up = {"enabled": True, "last_error": "x", "permanent_error": "the store is broken; repair it."}
    assert mlflow_summary({"mlflow": gave_up}) == (
        "FAILED", "MLflow: not mirrored", "MLflow is not mirrored: the store is broken; repair it."
    )  # fmt: skip
