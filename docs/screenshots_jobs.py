"""The Jobs panel on the typed contract: a finished and a running job, their states' labels, the
devices' labels and the toolbar's actions as the jobs' ``allowed_actions`` say
(``docs/images/jobs-typed.png``).

    .venv/bin/python docs/screenshots_jobs.py

Starts Xvfb when DISPLAY is unset, a throwaway SPARKTRAINER_HOME with a real daemon and the
sample jobs of ``docs/screenshots.py``; everything it started is stopped at the end."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))
sys.path.insert(0, str(ROOT))


def main() -> int:
    import screenshots as s
    from screenshot_app import main_window, running_daemon

    with s.screen_session("sparktrainer-jobs-shot-") as home, running_daemon() as client:
        running_id = s.start_sample_jobs(client)
        try:
            with main_window(home) as window:
                jobs = window.panels["jobs"]
                s.pump(30, lambda: window.conn.is_connected and jobs.model.rowCount() >= 2)
                s.pump(10, lambda: jobs.select_job(running_id))
                row = jobs.model.row_of(running_id)
                s.pump(15, lambda: jobs.model.index(row, 3).data() == "CPU")  # the device's label
                s.pump(4)  # curves and log fill in
                s.save(window, "jobs-typed")
        finally:
            s.cancel_active_jobs(client)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
