"""The GPUs panel and MIG planner screenshots (used by ``docs/screenshots.py``).

The daemon runs with the simulated 8×H100 set (``SPARKTRAINER_GPU_SIM``). GPU 1 gets a real
(simulated) MIG layout through the daemon's apply; a few small processes pinned to simulated
devices with ``CUDA_VISIBLE_DEVICES`` make load the simulated set turns into utilisation,
memory, temperature and power; a job running on a simulated GPU shows up the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from screenshot_app import main_window, running_daemon

SIM = "8xH100-80GB"
GPU1_LAYOUT = [{"profile": "3g.40gb", "start": 0}, {"profile": "2g.20gb", "start": 4},
               {"profile": "1g.10gb", "start": 6}]  # fmt: skip
# A process that keeps a CPU busy part of the time, in slow waves (duty 10–60 %).
LOAD = """
import math, sys, time
phase, end = float(sys.argv[1]), time.time() + float(sys.argv[2])
while time.time() < end:
    duty = 0.35 + 0.25 * math.sin(time.time() / 9 + phase)
    t = time.time()
    while time.time() - t < 0.1 * duty:
        pass
    time.sleep(0.1 * (1 - duty))
"""


def ensure_mig_layout(client: Any) -> list[Any]:
    """GPU 1 split into 3g + 2g + 1g (applied through the daemon); returns the GPUs (GpuView)."""
    gpus = client.gpus().gpus
    if not gpus[1].mig_devices:
        client.mig_apply(gpus[1].uuid, GPU1_LAYOUT, dry_run=False)
        gpus = client.gpus().gpus
    return gpus


def start_load(client: Any, seconds: float) -> list[subprocess.Popen]:
    """Load on GPUs 0, 3 and GPU 1's first MIG device."""
    gpus = ensure_mig_layout(client)
    mig = min(gpus[1].mig_devices, key=lambda m: m.start).uuid
    targets = [(gpus[0].uuid, 0.0), (gpus[3].uuid, 2.0), (mig, 4.0)]
    return [
        subprocess.Popen(
            [sys.executable, "-c", LOAD, str(phase), str(seconds)],
            env={**os.environ, "CUDA_VISIBLE_DEVICES": uuid},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for uuid, phase in targets
    ]


def capture_gpus(window: Any, pump: Callable[..., bool], save: Callable[..., Any]) -> None:
    """The GPUs panel (GPU 0 selected) and the planner on GPU 2 with a checked layout."""
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    from sparktrainer_gui.panels.gpus.strip import BAR_H, BAR_TOP

    if window.conn.client.gpus().backend is None:
        print("the daemon has no GPU back end (SPARKTRAINER_GPU_SIM is empty?): no GPU screenshots")
        return
    ensure_mig_layout(window.conn.client)
    window.resize(1600, 940)
    window.show_panel("gpus")
    panel = window.panels["gpus"]
    if not pump(30, lambda: panel.model.rowCount() >= 8 and panel.detail is not None):
        raise RuntimeError("the GPUs panel did not fill in")
    panel.table.selectRow(0)
    pump(2)
    save(window, "gpus")

    panel.table.selectRow(panel.model.row_of(panel.snapshot.gpus[2].uuid))
    planner = panel.open_planner()
    planner.resize(900, 640)
    if not pump(20, lambda: planner.strip.slots > 0):
        raise RuntimeError("the planner did not load the MIG profiles")
    for profile, slot in (("3g.40gb", 0), ("2g.20gb", 4), ("1g.10gb", 6)):
        planner.choose_profile(profile)
        planner.strip.place(slot)
    planner.check()
    if not pump(20, lambda: planner.apply_button.isEnabled()):
        raise RuntimeError(f"the planner's check did not pass: {planner.result_view.toPlainText()}")
    # The pointer over a place where 1g.10gb does not fit: the red ghost and its reason.
    planner.choose_profile("1g.10gb")
    strip = planner.strip
    x0, x1 = strip.strip_geometry().span(7, 1)
    pos = QPointF((x0 + x1) / 2, BAR_TOP + BAR_H / 2)
    move = QMouseEvent(QMouseEvent.Type.MouseMove, pos, strip.mapToGlobal(pos),
                       Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)  # fmt: skip
    QApplication.sendEvent(strip, move)
    pump(1)
    save(planner, "mig-planner")
    planner.close()


def capture_gpus_only(home: Any, pump: Callable[..., bool], save: Callable[..., Any]) -> None:
    """Just the GPU screenshots: a daemon with the simulated set and ~40 s of load history."""
    with running_daemon() as client:
        procs = start_load(client, seconds=180)
        try:
            time.sleep(45)  # the daemon samples every second: enough history for the sparklines
            with main_window(home, size=None) as window:
                pump(30, lambda: window.conn.is_connected)
                capture_gpus(window, pump, save)
        finally:
            for p in procs:
                p.kill()
