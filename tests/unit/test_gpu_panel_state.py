"""The GPUs panel's plain data (no Qt): rows of a /v1/gpus snapshot, history merging, cell texts."""

from __future__ import annotations

import math

from sparktrainer_gui.panels.gpus.state import (
    DeviceHistory,
    HistoryStore,
    device_rows,
    memory_text,
    mig_text,
    power_text,
    process_rows,
)
from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.gpus import GpuHistory, GpuList


def snapshot(t: float, util: int = 10) -> GpuList:
    return parse(GpuList, {
        "backend": "sim", "message": None, "time": t,
        "gpus": [
            {"index": 0, "uuid": "GPU-a", "name": "NVIDIA H100 80GB HBM3", "model": "H100-80GB",
             "memory_total_mb": 81559, "memory_used_mb": 2048, "util_pct": util, "temp_c": 40,
             "power_w": 120.4, "power_limit_w": 700, "mig": {"current": True, "pending": True},
             "mig_devices": [
                 {"uuid": "MIG-2", "gpu_index": 0, "profile": "3g.40gb", "gi_id": 2, "ci_id": 0, "start": 4, "size": 4,
                  "memory_total_mb": 40448, "memory_used_mb": 0, "util_pct": None},
                 {"uuid": "MIG-1", "gpu_index": 0, "profile": "3g.40gb", "gi_id": 1, "ci_id": 0, "start": 0, "size": 4,
                  "memory_total_mb": 40448, "memory_used_mb": 900, "util_pct": None},
             ],
             "processes": [{"pid": 42, "user": "alice", "used_mb": 900, "device_uuid": "MIG-1", "job_id": "j-1"}]},
            {"index": 1, "uuid": "GPU-b", "name": "NVIDIA H100 80GB HBM3", "model": "H100-80GB",
             "memory_total_mb": 81559, "memory_used_mb": 0, "util_pct": 0, "temp_c": 30, "power_w": 70,
             "power_limit_w": 700, "mig": {"current": False, "pending": True}, "mig_devices": [],
             "processes": [{"pid": 7, "user": "bob", "used_mb": 100, "device_uuid": "GPU-b", "job_id": None}]},
        ],
    })  # fmt: skip


def test_rows_list_each_gpu_then_its_mig_devices_by_start():
    rows = device_rows(snapshot(1.0))
    assert [(r.uuid, r.kind, r.gpu_uuid) for r in rows] == [
        ("GPU-a", "gpu", "GPU-a"), ("MIG-1", "mig", "GPU-a"), ("MIG-2", "mig", "GPU-a"), ("GPU-b", "gpu", "GPU-b"),
    ]  # fmt: skip
    assert rows[0].label == "GPU 0" and rows[1].label.endswith("MIG 3g.40gb")
    assert rows[0].data.label == "GPU 0 · H100 80GB" and rows[1].data.label == "GPU 0 · 3g.40gb"
    assert mig_text(rows[0]) == "on · 2 instances"
    assert mig_text(rows[1]) == "GI 1 · CI 0 · slots 0–3"
    assert mig_text(rows[3]) == "off (→ on after a GPU reset)"
    assert memory_text(rows[0].data) == "2.0 / 79.6 GiB"
    assert power_text(rows[0].data) == "120 / 700 W"
    assert power_text(rows[1].data) == "–"


def test_processes_name_their_device_and_job():
    procs = process_rows(snapshot(1.0))
    assert [(p.pid, p.device_label, p.job_id, p.gpu_uuid) for p in procs] == [
        (42, "GPU 0 · MIG 3g.40gb", "j-1", "GPU-a"), (7, "GPU 1", None, "GPU-b"),
    ]  # fmt: skip


def test_snapshots_append_one_sample_per_time_and_history_merges_in_order():
    store = HistoryStore(maxlen=5)
    assert store.add_snapshot(snapshot(10.0, util=50)) == {"GPU-a", "MIG-1", "MIG-2", "GPU-b"}
    assert store.add_snapshot(snapshot(10.0, util=60)) == set()  # same sample time: not again
    store.add_snapshot(snapshot(11.0, util=70))
    # the history block arrives late and overlaps the live samples
    store.load(parse(GpuHistory, {"interval_s": 1.0, "devices": {"GPU-a": {
        "time": [7.0, 8.0, 9.0, 10.0], "util_pct": [1, 2, 3, 50], "memory_used_mb": [0, 0, 0, 2048],
        "temp_c": [30, 30, 30, 40], "power_w": [None, 80, 80, 120]}}}))  # fmt: skip
    gpu = store.devices["GPU-a"]
    assert list(gpu.time) == [7.0, 8.0, 9.0, 10.0, 11.0]
    assert list(gpu.values["util_pct"]) == [1, 2, 3, 50, 70]
    assert math.isnan(gpu.values["power_w"][0])
    assert gpu.recent("util_pct", seconds=2.5) == [3, 50, 70]
    store.add_snapshot(snapshot(12.0))
    assert list(gpu.time) == [8.0, 9.0, 10.0, 11.0, 12.0]  # bounded
    assert math.isnan(store.devices["MIG-1"].values["temp_c"][-1])  # MIG devices report no temperature


def test_an_empty_history_has_no_recent_values():
    assert DeviceHistory().recent("util_pct") == []
    assert HistoryStore().add_snapshot(GpuList(backend=None, message="no driver", time=1.0, gpus=[])) == set()


def test_apply_failures_read_as_sentences():
    from sparktrainer_gui.panels.gpus.geometry import Slot
    from sparktrainer_gui.panels.gpus.texts import apply_error_text, layout_text
    from trainer_runtime.client.client import ApiError, DaemonUnavailable

    busy = ApiError(409, "GPU 0 (GPU-a) is in use by pid 42 (alice); stop or wait for them, then apply again")
    assert apply_error_text(busy, "GPU 0") == (
        "GPU 0 is busy; nothing was changed. GPU 0 (GPU-a) is in use by pid 42 (alice); "
        "stop or wait for them, then apply again."
    )
    root = ApiError(
        403, "changing MIG partitions needs root. Run the privileged helper: sudo sparktrainer mig apply"
    )
    assert apply_error_text(root, "GPU 0").startswith("Applying a MIG layout needs administrator rights; ")
    assert apply_error_text(root, "GPU 0").endswith("Changing MIG partitions needs root. Run the privileged "
                                                    "helper: sudo sparktrainer mig apply.")  # fmt: skip
    bad = ApiError(
        400, "the layout does not fit", [{"field": "layout (4g.40gb)", "message": "4g.40gb only at 0"}]
    )
    assert apply_error_text(bad, "GPU 1") == (
        "The daemon refused this layout; nothing was changed. The layout does not fit. 4g.40gb only at 0."
    )
    assert apply_error_text(DaemonUnavailable("the daemon is not running"), "GPU 0").startswith(
        "Could not reach"
    )
    assert layout_text([]) == "whole GPU (MIG off)"
    assert layout_text([Slot("3g.40gb", 0), Slot("1g.10gb")]) == "3g.40gb@0 + 1g.10gb"
