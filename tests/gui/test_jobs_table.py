"""The jobs table model (an adapter over the GUI's jobs state) and its filter proxy, driven by
the contract's views (``JobRow`` for lists, ``JobRecord`` for events), under Qt's model tester."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QPersistentModelIndex, Qt
from PySide6.QtTest import QAbstractItemModelTester

from sparktrainer_gui.panels.jobs.filter import STATE_FILTERS, JobsFilterProxy
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
from tests.unit.test_gui_jobs_state import cpu, record, row
from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.jobs import HealthView, JobState, MetricPoint, MlflowStatus, StatusView


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def point(key: str, step: int, value: float) -> MetricPoint:
    return MetricPoint(key=key, step=step, value=value, time=0.0)


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
    jobs = model.state
    started = iso(datetime.now(UTC))
    jobs.sync(
        [
            row("a", JobState.RUNNING, step=5, started_at=started),
            row("b", JobState.COMPLETED, best_eval_loss=2.5),
        ]
    )
    assert model.job_ids() == ["a", "b"]
    kept = QPersistentModelIndex(model.index(0, NAME))
    changed = []
    model.dataChanged.connect(lambda tl, br, roles: changed.append((tl.row(), tl.column(), br.column())))

    jobs.apply_record(record("c"))  # a new job from the event stream
    assert model.rowCount() == 3
    jobs.apply_record(record("c", JobState.RUNNING, devices=["cpu:1"], total_steps=50))
    assert model.index(2, 3).data() == "cpu:1"  # the device's id until its label is read
    jobs.fill_live(row("c", JobState.RUNNING, devices=["cpu:1"], device_info=[cpu(1)], total_steps=50))
    assert model.index(2, 3).data() == "CPU"
    jobs.set_progress("c", 10, 50)
    assert model.index(2, PROGRESS).data().startswith("20%")
    assert model.index(2, STATE).data(STATE_ROLE) == JobState.RUNNING
    jobs.add_metrics("c", 1, [point("eval_loss", 10, 3.25), point("loss", 10, 1.0)])
    jobs.add_metrics("c", 1, [point("eval_loss", 20, 3.5)])  # not better: kept
    assert model.index(2, BEST).data() == "3.2500"
    assert changed and all(r == 2 for r, _, _ in changed)
    changed.clear()
    jobs.set_progress("c", 11, 50)
    assert changed == [(2, PROGRESS, PROGRESS)]  # only the cells that show what changed

    jobs.apply_record(record("a", JobState.PAUSED, step=40))
    assert kept.isValid() and kept.row() == 0 and model.index(0, STATE).data() == "Paused"

    jobs.remove("b")
    assert model.job_ids() == ["a", "c"] and kept.row() == 0
    jobs.begin_sync()  # reconnect: a full list is requested
    jobs.sync([row("c", JobState.COMPLETED), row("d")])  # a is gone, d is new
    assert model.job_ids() == ["c", "d"]
    assert not kept.isValid()
    assert resets == []
    assert proxy.rowCount() == 2


def test_events_win_over_an_older_full_list(tested):
    model, _proxy, _ = tested
    model.state.begin_sync()
    model.state.apply_record(
        record("a", JobState.RUNNING, step=3, total_steps=10)
    )  # while the list is in flight
    model.state.sync([row("a", JobState.QUEUED, eta_s=12.0)])
    assert model.job("a").state is JobState.RUNNING
    assert model.job("a").eta_s == 12.0  # fields the event lacked are filled in


def test_filter_by_state_and_text_and_sort(tested):
    model, proxy, _ = tested
    names = ["llama-lora", "gpt-full", "bert", "llama-full", "mistral"]
    states = [JobState.RUNNING, JobState.COMPLETED, JobState.FAILED, JobState.QUEUED, JobState.PAUSED]
    for i, state in enumerate(states):
        model.state.upsert(row(f"j{i}", state, name=names[i]))
    shown = lambda: sorted(proxy.index(r, NAME).data() for r in range(proxy.rowCount()))  # noqa: E731
    assert list(STATE_FILTERS)[:2] == ["All jobs", "Active"]
    assert [label for label in STATE_FILTERS][2:] == [s.label for s in JobState]  # from the contract
    proxy.set_state_filter("Active")
    assert shown() == ["llama-full", "llama-lora", "mistral"]
    proxy.set_text_filter("llama")
    assert shown() == ["llama-full", "llama-lora"]
    proxy.set_text_filter("llama full")
    assert shown() == ["llama-full"]
    proxy.set_state_filter("All jobs")
    proxy.set_text_filter("failed")  # the state is searchable too
    assert shown() == ["bert"]
    proxy.set_text_filter("")
    model.state.apply_record(record("j3", JobState.COMPLETED, name="llama-full"))  # leaves "Active"
    proxy.set_state_filter("Active")
    assert shown() == ["llama-lora", "mistral"]
    proxy.set_state_filter(JobState.FAILED.label)
    assert shown() == ["bert"]
    proxy.set_state_filter("All jobs")
    proxy.sort(STATE, Qt.SortOrder.AscendingOrder)
    assert proxy.index(0, STATE).data(STATE_ROLE) == JobState.RUNNING


def status(devices: dict) -> StatusView:
    return parse(StatusView, {
        "version": "0", "api": "v1", "pid": 1, "socket": "/s", "data_dir": "/d", "started": 0.0,
        "tracking_uri": "sqlite:///x", "devices": devices, "gpu": {"backend": None, "message": None},
        "store_id": "s", "jobs": {}, "mlflow": {"enabled": False},
    })  # fmt: skip


def test_formatting():
    assert fmt_duration(None) == "–"
    assert fmt_duration(42) == "42s"
    assert fmt_duration(3 * 60 + 5) == "3m 05s"
    assert fmt_duration(2 * 3600 + 61) == "2h 01m"
    slot = {"kind": "cpu", "name": "CPU", "memory_mb": 0, "gpu": None, "job": None}
    cpus = {"kind": "cpu", "total": 2, "busy": 1, "devices": [{"id": f"cpu:{i}", **slot} for i in (0, 1)]}
    assert device_summary(status(cpus)) == "2 CPU slots, 1 busy"
    gpu = {"name": "H100", "memory_mb": 81559, "job": None}
    whole = [{"id": f"GPU-{i}", "kind": "gpu", "gpu": f"GPU-{i}", **gpu} for i in range(8)]
    assert (
        device_summary(status({"kind": "gpu", "total": 8, "busy": 0, "devices": whole})) == "8 GPUs, all free"
    )
    slices = [{"id": f"MIG-{i}", "kind": "mig", "gpu": "GPU-1", **gpu} for i in range(3)]
    mixed = {"kind": "gpu", "total": 5, "busy": 2, "devices": [whole[0], whole[2], *slices]}
    assert device_summary(status(mixed)) == "3 GPUs (3 MIG slices), 2 busy"
    model = JobsTableModel()
    started = datetime.now(UTC) - timedelta(seconds=75)
    done = row(
        "a", JobState.COMPLETED, started_at=iso(started), finished_at=iso(started + timedelta(seconds=65))
    )
    model.state.upsert(done)
    assert model.index(0, 5).data() == "1m 05s"


def test_a_workers_health_is_shown_in_the_state_cell_and_follows_events(tested):
    from sparktrainer_gui.panels.jobs.table_model import HEALTH_ROLE

    model, proxy, resets = tested
    jobs = model.state
    stuck = HealthView(status="unresponsive", since=1_700_000_000.0, message="no event and no CPU for 120 s.")
    jobs.sync([row("a", JobState.RUNNING, health=stuck), row("b", JobState.RUNNING)])
    assert model.index(0, STATE).data() == "Not responding"
    assert model.index(0, STATE).data(HEALTH_ROLE) == stuck
    assert (
        model.index(0, STATE).data(Qt.ItemDataRole.ToolTipRole).endswith(", no event and no CPU for 120 s.")
    )
    assert model.index(1, STATE).data() == "Running" and model.index(1, STATE).data(HEALTH_ROLE) is None
    proxy.set_text_filter("responding")  # what the cell says is searchable
    assert proxy.rowCount() == 1
    proxy.set_text_filter("")

    stopped = HealthView(status="stopped", since=1.0, message="SIGSTOP")
    jobs.set_health("b", stopped)
    jobs.set_health("nobody", stopped)  # an event for a job not listed makes no row
    assert model.job_ids() == ["a", "b"] and model.index(1, STATE).data() == "Stopped"
    jobs.begin_sync()
    jobs.set_health("b", None)  # fine again, while a full list (older) is in flight
    jobs.sync([row("a", JobState.RUNNING, health=stuck), row("b", JobState.RUNNING, health=stopped)])
    assert model.index(1, STATE).data(HEALTH_ROLE) is None, "the event is newer than the list"
    jobs.apply_record(record("a", JobState.PAUSED))  # a state change: that worker is gone
    assert model.index(0, STATE).data() == "Paused" and model.index(0, STATE).data(HEALTH_ROLE) is None
    assert resets == []


def test_the_status_bar_tells_a_mirror_behind_from_one_that_gave_up():
    from sparktrainer_gui.widgets.runtime_status import mlflow_summary

    cpus = {"kind": "cpu", "total": 0, "busy": 0, "devices": []}

    def with_mirror(mirror: dict) -> StatusView:
        return status(cpus).model_copy(update={"mlflow": MlflowStatus(**mirror)})

    assert mlflow_summary(with_mirror({"enabled": False})) is None
    assert mlflow_summary(with_mirror({"enabled": True, "last_error": None})) is None
    behind = mlflow_summary(with_mirror({"enabled": True, "last_error": "the server is unreachable"}))
    assert behind == (
        JobState.PAUSED,
        "MLflow: behind",
        "MLflow is behind and retrying: the server is unreachable",
    )
    gave_up = {"enabled": True, "last_error": "x", "permanent_error": "the store is broken; repair it."}
    assert mlflow_summary(with_mirror(gave_up)) == (
        JobState.FAILED, "MLflow: not mirrored", "MLflow is not mirrored: the store is broken; repair it."
    )  # fmt: skip
