"""The new-job wizard for recipe sft with the daemon's preview: ``docs/images/sft-wizard.png``.

    .venv/bin/python docs/screenshots_sft.py

A real daemon on a throwaway data dir (Xvfb when DISPLAY is unset, as ``docs/screenshots.py``);
the wizard opens on the sft recipe with the bundled instruction sample, seq_len lowered so some
examples are cut, and waits for ``POST /v1/sft/preview`` to answer: the rendered examples with the
trained answers highlighted, then the length histogram. Everything it started is stopped at the end.
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

SEQ_LEN = "24"  # the sample's examples are 20-30 tokens: at 24 some of them are cut


def capture_sft_wizard(window) -> None:
    from sparktrainer_gui.panels.jobs.wizard import NewJobWizard

    wizard = NewJobWizard(window.conn, window)
    wizard.resize(1640, 900)
    wizard.show()
    if not pump(30, lambda: wizard.recipes_listed):
        raise RuntimeError("the wizard never got the daemon's recipes")
    combo = wizard.form.recipe_combo
    combo.setCurrentIndex(combo.findData("sft"))
    combo.activated.emit(combo.currentIndex())
    wizard.form.train_seq_len_edit.setText(SEQ_LEN)
    panel = wizard.preview_panel
    if not pump(120, lambda: panel.preview is not None and panel.preview.seq_len == int(SEQ_LEN)):
        raise RuntimeError(f"the preview never came: {panel.summary.text()} {panel.message.text()}")
    print("preview:", panel.summary.text(), "|", panel.message.text())
    save(wizard, "sft-wizard")
    panel.tabs.setCurrentIndex(1)
    save(wizard, "sft-wizard-lengths")
    wizard.close()


def main() -> int:
    with screen_session(), running_daemon(), main_window(Path(os.environ["SPARKTRAINER_HOME"])) as window:
        pump(30, lambda: window.conn.is_connected)
        capture_sft_wizard(window)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
