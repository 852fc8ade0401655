"""The Settings page refusing a tracking URI MLflow cannot use: ``docs/images/settings-refused.png``.

    .venv/bin/python docs/screenshots_settings.py

A real daemon on a throwaway data dir (Xvfb when DISPLAY is unset, as ``docs/screenshots.py``);
the page sends ``ftp://mlflow.example`` through ``PUT /v1/settings`` and shows the daemon's
sentence at the field. Everything it started is stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))
sys.path.insert(0, str(ROOT))

from screenshot_app import main_window, running_daemon  # noqa: E402
from screenshots import pump, save, start_xvfb, stop_data_dir_processes  # noqa: E402

BAD_URI = "ftp://mlflow.example/runs"


def capture_settings(window) -> None:
    window.resize(1280, 860)
    window.show_panel("settings")
    panel = window.panels["settings"]
    if not pump(30, lambda: panel.form.save_tracking_button.isEnabled()):
        raise RuntimeError("the Settings page never got the daemon's settings")
    panel.form.tracking_uri_edit.setText(BAD_URI)
    panel.form.save_tracking_button.click()
    if not pump(30, lambda: panel.form.tracking_error.isVisible()):
        raise RuntimeError("the daemon's refusal never showed")
    pump(15, lambda: panel.keyring_usable is not None)
    print("refusal shown:", panel.form.tracking_error.text())
    save(window, "settings-refused")


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="sparktrainer-screens-"))
    os.environ["SPARKTRAINER_HOME"] = str(home)
    os.environ["SPARKTRAINER_KEYRING_SERVICE"] = f"sparktrainer-screenshots-{os.getpid()}"
    os.environ["XDG_CONFIG_HOME"] = str(home / "config")
    xvfb = start_xvfb()
    try:
        with running_daemon(), main_window(home) as window:
            pump(30, lambda: window.conn.is_connected)
            capture_settings(window)
    finally:
        stop_data_dir_processes(home)
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
