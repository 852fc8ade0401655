"""Python classes generated from the Qt Designer forms in ``ui/*.ui``.

Each ``ui/<name>.ui`` becomes ``sparktrainer_gui/forms/<name>_ui.py`` (class ``Ui_<Form>``),
composed by the widget that uses it (``self.form = Ui_NewJobForm(); self.form.setupUi(self)``).
The generated files are committed, so a clean checkout runs without a build step. After
editing a form in Designer, regenerate them with::

    .venv/bin/python -m sparktrainer_gui.forms          # write every *_ui.py
    .venv/bin/python -m sparktrainer_gui.forms --check  # exit 1 if one is out of date

Generation runs ``pyside6-uic`` and drops its version line, so the output depends only on
the .ui file (and the uic major version).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

FORMS_DIR = Path(__file__).resolve().parent
UI_DIR = FORMS_DIR.parents[1] / "ui"
HEADER = (
    "# fmt: off\n"
    "# ruff: noqa\n"
    "# Generated from ui/{ui} by `python -m sparktrainer_gui.forms`: edit the .ui file, not this one.\n"
)


def _uic() -> list[str]:
    exe = Path(sys.executable).with_name("pyside6-uic")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("pyside6-uic")
    if found:
        return [found]
    raise FileNotFoundError("pyside6-uic not found: install PySide6 in this Python environment")


def generated_source(ui_file: Path) -> str:
    out = subprocess.run(
        [*_uic(), "--generator", "python", str(ui_file)], check=True, capture_output=True, text=True
    ).stdout
    lines = [ln for ln in out.splitlines() if "Created by: Qt User Interface Compiler" not in ln]
    return HEADER.format(ui=ui_file.name) + "\n".join(lines).rstrip() + "\n"


def target_for(ui_file: Path) -> Path:
    return FORMS_DIR / f"{ui_file.stem}_ui.py"


def stale_forms() -> list[Path]:
    """The generated files that differ from what their .ui would generate now (or are missing)."""
    stale = []
    for ui_file in sorted(UI_DIR.glob("*.ui")):
        target = target_for(ui_file)
        if not target.exists() or target.read_text(encoding="utf-8") != generated_source(ui_file):
            stale.append(target)
    return stale


def generate() -> list[Path]:
    written = []
    for ui_file in sorted(UI_DIR.glob("*.ui")):
        target = target_for(ui_file)
        source = generated_source(ui_file)
        if not target.exists() or target.read_text(encoding="utf-8") != source:
            target.write_text(source, encoding="utf-8")
            written.append(target)
    return written
