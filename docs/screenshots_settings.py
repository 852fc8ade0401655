"""The Settings page refusing a tracking URI MLflow cannot use: ``docs/images/settings-refused.png``.

    .venv/bin/python docs/screenshots_settings.py

A real daemon on a throwaway data dir (Xvfb when DISPLAY is unset, as ``docs/screenshots.py``);
the page sends ``ftp://mlflow.example`` through ``PUT /v1/settings`` and shows the daemon's
sentence at the field. Everything it started is stopped at the end.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))
sys.path.insert(0, str(ROOT))

from screenshot_app import main_window, running_daemon  # noqa: E402
from screenshots import pump, save, screen_session  # noqa: E402

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
    with screen_session(), running_daemon(), main_window(Path(os.environ["SPARKTRAINER_HOME"])) as window:
        pump(30, lambda: window.conn.is_connected)
        capture_settings(window)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
