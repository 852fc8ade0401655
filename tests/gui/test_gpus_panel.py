"""The GPUs panel and the MIG planner against a real daemon with the simulated 8×H100 set
(load comes from a real process pinned to a simulated GPU), plus the table model under Qt's
model tester and the no-driver banner."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, Qt

from sparktrainer_gui.panels.gpus.panel import NO_DRIVER, GpusPanel
from sparktrainer_gui.panels.gpus.state import device_rows
from sparktrainer_gui.panels.gpus.strip import BAR_H, BAR_TOP
from sparktrainer_gui.panels.gpus.table_model import MIG, UTIL, DeviceTableModel
from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.gpus import GpuList

SIM = "8xH100-80GB"
BURN = "import time\nend = time.time() + 120\nwhile time.time() < end:\n    pass\n"


@pytest.fixture
def sim_client(daemon_with, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SPARKTRAINER_GPU_SIM", SIM)
    return daemon_with()


@pytest.fixture
def burner(sim_client) -> Iterator:
    """A busy process pinned to simulated GPU 3 (the simulated set turns its CPU into GPU load)."""
    uuid = sim_client.gpus().gpus[3].uuid
    proc = subprocess.Popen([sys.executable, "-c", BURN], env={**os.environ, "CUDA_VISIBLE_DEVICES": uuid})
    yield proc
    proc.kill()
    proc.wait(10)


def make_panel(qtbot, conn) -> GpusPanel:
    panel = GpusPanel(conn)
    qtbot.addWidget(panel)
    panel.resize(1300, 800)
    conn.start()
    qtbot.waitUntil(lambda: conn.is_connected, timeout=30_000)
    panel.show()
    return panel


def test_the_panel_shows_the_simulated_gpus_live(qtbot, conn, burner):
    panel = make_panel(qtbot, conn)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 8, timeout=20_000)
    names = [panel.model.index(r, 0).data() for r in range(8)]
    assert names == [f"GPU {i}" for i in range(8)]
    assert panel.model.index(0, 2).data() == "H100-80GB"
    assert panel.model.index(0, 3).data() == "0.0 / 79.6 GiB"
    assert not panel.banner.isVisible()
    assert panel.summary.text().startswith("8 GPUs")

    # GPU 3 carries the busy process: its utilisation cell and temperature move, and its row
    # in the processes table names the pid and says no job of ours started it.
    first = panel.model.index(3, UTIL).data()
    seen: set[str] = {first}
    qtbot.waitUntil(lambda: seen.add(panel.model.index(3, UTIL).data()) or len(seen) > 1, timeout=30_000)
    gpu3 = panel.snapshot.gpus[3]
    history = panel.history.devices[gpu3.uuid]
    assert len(history) >= 2 and history.time[-1] > history.time[0]
    panel.table.selectRow(3)

    def gpu3_processes() -> list[list[str]]:
        rows = [
            [panel.process_filter.index(r, c).data() for c in range(5)]
            for r in range(panel.process_filter.rowCount())
        ]
        return [[r[0], r[3], r[4]] for r in rows]

    # wait for this burner's own row (another process on the machine may show up first)
    qtbot.waitUntil(lambda: [str(burner.pid), "GPU 3", "external"] in gpu3_processes(), timeout=30_000)
    panel.table.selectRow(0)
    assert panel.process_filter.rowCount() == 0  # GPU 0 runs nothing

    # the detail plot shows the selected GPU's history
    panel.table.selectRow(3)
    qtbot.waitUntil(lambda: panel.detail is not None and len(panel.detail.displayed("util_pct")[0]) >= 2,
                    timeout=20_000)  # fmt: skip


def open_planner(qtbot, panel: GpusPanel):
    qtbot.waitUntil(lambda: panel.model.rowCount() == 8, timeout=20_000)
    panel.table.selectRow(0)
    planner = panel.open_planner()
    qtbot.waitUntil(lambda: planner.strip.slots == 8, timeout=20_000)
    return planner


def click_slot(qtbot, strip, slot: int, button=Qt.MouseButton.LeftButton) -> None:
    x0, x1 = strip.strip_geometry().span(slot, 1)
    qtbot.mouseClick(strip, button, pos=QPoint(int((x0 + x1) / 2), BAR_TOP + BAR_H // 2))


def test_the_planner_refuses_an_invalid_layout_with_the_reason(qtbot, conn, sim_client):
    panel = make_panel(qtbot, conn)
    planner = open_planner(qtbot, panel)
    planner.choose_profile("4g.40gb")
    click_slot(qtbot, planner.strip, 5)  # 4g.40gb may only start at 0
    assert planner.entries == []
    assert "4g.40gb can only start at slot 0, not at slot 5" in planner.hint.text()
    click_slot(qtbot, planner.strip, 1)
    assert [(e.profile, e.start) for e in planner.entries] == [("4g.40gb", 0)]

    # A second 4g.40gb has no place left: it is added unplaced, and the daemon says why.
    qtbot.mouseClick(planner.add_button, Qt.MouseButton.LeftButton)
    assert [(e.profile, e.start) for e in planner.entries] == [("4g.40gb", 0), ("4g.40gb", None)]
    with qtbot.waitSignal(planner.checked, timeout=20_000) as answer:
        qtbot.mouseClick(planner.check_button, Qt.MouseButton.LeftButton)
    assert answer.args[0].valid is False
    text = planner.result_view.toPlainText()
    assert "does not fit" in text
    assert "4g.40gb" in text
    assert any(e.reason.rstrip(".") in text for e in answer.args[0].errors)
    assert not planner.apply_button.isEnabled()


def test_the_planner_shows_the_dry_run_operations_and_applies(qtbot, conn, sim_client):
    panel = make_panel(qtbot, conn)
    planner = open_planner(qtbot, panel)
    planner.choose_profile("3g.40gb")
    click_slot(qtbot, planner.strip, 1)
    click_slot(qtbot, planner.strip, 6)
    assert [(e.profile, e.start) for e in planner.entries] == [("3g.40gb", 0), ("3g.40gb", 4)]
    assert "add: 3g.40gb@0, 3g.40gb@4" in planner.diff_label.text()
    with qtbot.waitSignal(planner.checked, timeout=20_000) as answer:
        qtbot.mouseClick(planner.check_button, Qt.MouseButton.LeftButton)
    plan = answer.args[0]
    assert plan.valid is True
    text = planner.result_view.toPlainText()
    assert "The layout fits" in text
    assert plan.operations and all(op in text for op in plan.operations)
    assert "nvmlDeviceCreateGpuInstanceWithPlacement" in text
    assert planner.apply_button.isEnabled()

    with qtbot.waitSignal(planner.applied, timeout=30_000):
        planner.apply(confirm=False)
    assert "Applied" in planner.result_view.toPlainText()
    # the panel shows GPU 0's two new MIG devices under it
    qtbot.waitUntil(lambda: panel.model.rowCount() == 10, timeout=20_000)
    assert [panel.model.index(r, 2).data() for r in (1, 2)] == ["3g.40gb", "3g.40gb"]
    assert panel.model.index(1, MIG).data().endswith("slots 0–3")


def test_no_driver_shows_the_banner_and_the_panel_stays_usable(qtbot, conn, daemon_with, monkeypatch):
    monkeypatch.delenv("SPARKTRAINER_GPU_SIM", raising=False)
    client = daemon_with()
    if client.gpus().backend is not None:
        pytest.skip("this machine has an NVIDIA driver: the no-driver banner cannot be shown here")
    panel = make_panel(qtbot, conn)
    qtbot.waitUntil(panel.banner.isVisible, timeout=20_000)
    assert panel.banner_text.text().startswith(NO_DRIVER)
    assert panel.model.rowCount() == 0
    assert not panel.plan_action.isEnabled()
    assert panel.open_planner() is None
    first = panel.snapshot
    panel.poll()  # polling goes on without errors
    qtbot.waitUntil(lambda: not panel._in_flight and panel.snapshot is not first, timeout=10_000)
    assert panel.snapshot.gpus == [] and panel.banner.isVisible()


def _snapshot(t: float, util: float, migs: int = 0, gpus: int = 2, processes: list | None = None) -> GpuList:
    out = []
    for i in range(gpus):
        devices = [
            {"uuid": f"MIG-{i}-{k}", "gpu_index": i, "profile": "1g.10gb", "gi_id": k, "ci_id": 0, "start": k, "size": 1,
             "memory_total_mb": 9984, "memory_used_mb": 0, "util_pct": None}
            for k in range(migs if i == 0 else 0)
        ]  # fmt: skip
        out.append({"index": i, "uuid": f"GPU-{i}", "name": "NVIDIA H100 80GB HBM3", "model": "H100-80GB",
                    "memory_total_mb": 81559, "memory_used_mb": 0, "util_pct": util if i == 1 else 0,
                    "temp_c": 30, "power_w": 70, "power_limit_w": 700,
                    "mig": {"current": bool(migs), "pending": bool(migs)},
                    "mig_devices": devices, "processes": processes if i == 1 and processes else []})  # fmt: skip
    return parse(GpuList, {"backend": "sim", "message": None, "time": t, "gpus": out})


def test_the_device_model_updates_in_place(qtbot, model_tester):
    from sparktrainer_gui.panels.gpus.state import HistoryStore

    history = HistoryStore()
    model = DeviceTableModel(history)
    model_tester(model)
    changed: list[tuple[int, int, int]] = []
    resets: list[bool] = []
    model.dataChanged.connect(lambda a, b, _roles=(): changed.append((a.row(), a.column(), b.column())))
    model.modelReset.connect(lambda: resets.append(True))

    def feed(snap: GpuList) -> None:
        model.set_devices(device_rows(snap), sampled=bool(history.add_snapshot(snap)))

    feed(_snapshot(1.0, 10))
    assert model.rowCount() == 2
    changed.clear()
    feed(_snapshot(1.0, 55))  # same sample time: only GPU 1's utilisation cell moved
    assert changed == [(1, UTIL, UTIL)]
    feed(_snapshot(2.0, 55, migs=3))  # MIG devices appear under GPU 0
    assert [model.index(r, 0).data() for r in range(model.rowCount())] == [
        "GPU 0", "  └ MIG 1g.10gb", "  └ MIG 1g.10gb", "  └ MIG 1g.10gb", "GPU 1",
    ]  # fmt: skip
    feed(_snapshot(3.0, 55, migs=1))
    feed(_snapshot(4.0, 20, migs=0, gpus=1))  # a GPU fell off the bus
    assert [model.index(r, 0).data() for r in range(model.rowCount())] == ["GPU 0"]
    assert not resets


def test_apply_on_a_busy_gpu_is_refused_naming_the_process(qtbot, conn, burner):
    panel = make_panel(qtbot, conn)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 8, timeout=20_000)
    panel.table.selectRow(3)  # the burner runs there
    planner = panel.open_planner()
    qtbot.waitUntil(lambda: planner.strip.slots == 8, timeout=20_000)
    assert planner.gpu.index == 3
    planner.choose_profile("7g.80gb")
    click_slot(qtbot, planner.strip, 2)
    with qtbot.waitSignal(planner.checked, timeout=20_000):
        planner.check()
    assert planner.apply_button.isEnabled()
    planner.apply(confirm=False)
    qtbot.waitUntil(lambda: "busy" in planner.result_view.toPlainText(), timeout=20_000)
    text = planner.result_view.toPlainText()
    assert text.startswith("GPU 3 · H100 80GB is busy; nothing was changed.")
    assert str(burner.pid) in text
    assert not planner.gpus[planner.gpu.uuid].mig_devices


def test_a_process_of_a_job_opens_that_job(qtbot, conn):
    panel = GpusPanel(conn)
    qtbot.addWidget(panel)
    snap = _snapshot(1.0, 10, processes=[
        {"pid": 4242, "user": "alice", "used_mb": 2048, "device_uuid": "GPU-1", "job_id": "j-abc"},
        {"pid": 77, "user": "bob", "used_mb": 10, "device_uuid": "GPU-1", "job_id": None},
    ])  # fmt: skip
    panel.apply_snapshot(snap)
    panel.show()
    panel.processes.set_job_names({"j-abc": "tiny-lora"})
    panel.table.selectRow(0)
    assert panel.process_filter.rowCount() == 0
    panel.table.selectRow(1)
    assert [panel.process_filter.index(r, 4).data() for r in range(2)] == ["tiny-lora", "external"]
    index = panel.process_filter.index(0, 0)
    rect = panel.process_table.visualRect(index)
    with qtbot.waitSignal(panel.job_open_requested, timeout=5_000) as opened:
        qtbot.mouseClick(panel.process_table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(panel.process_table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened.args == ["j-abc"]
    with qtbot.waitSignal(panel.message_posted, timeout=5_000) as said:
        panel._on_process_table_double_clicked(panel.process_filter.index(1, 0))
    assert "not started by SparkTrainer" in said.args[0]


def test_recommend_with_no_queued_jobs_keeps_the_whole_gpu_and_says_why(qtbot, conn, sim_client):
    panel = make_panel(qtbot, conn)
    planner = open_planner(qtbot, panel)
    planner.choose_profile("1g.10gb")
    click_slot(qtbot, planner.strip, 0)
    assert len(planner.entries) == 1
    with qtbot.waitSignal(planner.checked, timeout=20_000) as answer:
        qtbot.mouseClick(planner.recommend_button, Qt.MouseButton.LeftButton)
    assert planner.entries == []
    assert "no queued single-device job" in planner.hint.text()
    assert answer.args[0].valid is True
    shown = planner.diff_label.text().replace("<b>", "").replace("</b>", "")
    assert "Current whole GPU (MIG off) → planned whole GPU (MIG off)" in shown
