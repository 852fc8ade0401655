"""The package split, checked in fresh interpreters (no QApplication here):
the GUI never imports the training stack, the runtime never imports Qt or the GUI."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

IMPORT_ALL = """
import importlib, json, pkgutil, sys
{first}
pkg = importlib.import_module("{package}")
names = []
for info in pkgutil.walk_packages(pkg.__path__, "{package}."):
    if info.name.rsplit(".", 1)[-1] == "__main__":
        continue  # running, not importing
    importlib.import_module(info.name)
    names.append(info.name)
print(json.dumps({{"imported": names, "modules": sorted(sys.modules)}}))
"""


def _import_in_fresh_python(package: str, first: str = "") -> dict:
    code = textwrap.dedent(IMPORT_ALL.format(package=package, first=first))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _top_level(modules: list[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_the_gui_never_imports_the_training_stack():
    result = _import_in_fresh_python(
        "sparktrainer_gui", first="import sparktrainer_gui.app, sparktrainer_gui.main_window"
    )
    assert "sparktrainer_gui.main_window" in result["modules"]
    assert "sparktrainer_gui.panels.jobs.panel" in result["imported"]
    loaded = _top_level(result["modules"]) & {"torch", "transformers", "peft", "mlflow"}
    assert not loaded, f"importing sparktrainer_gui loaded {sorted(loaded)}"


def test_the_runtime_never_imports_qt_or_the_gui():
    result = _import_in_fresh_python("trainer_runtime")
    assert "trainer_runtime.daemon" in result["imported"]
    assert any(m.startswith("trainer_runtime.worker") for m in result["imported"])
    loaded = _top_level(result["modules"]) & {
        "PySide6",
        "shiboken6",
        "sparktrainer_gui",
        "pyqtgraph",
        "qasync",
    }
    assert not loaded, f"importing trainer_runtime loaded {sorted(loaded)}"


def test_the_cli_entry_point_does_not_load_qt():
    code = (
        "import sys\n"
        "from sparktrainer_gui import launch\n"
        "try:\n    launch.main(['jobs', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('QT' if 'PySide6' in sys.modules else 'NO-QT')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.stdout.strip().splitlines()[-1] == "NO-QT", proc.stdout + proc.stderr
    assert "submit" in proc.stdout
