""" "Train…" in the Builder: the graph is saved into the data folder and a ``recipe: graph``
job is submitted through the real daemon, which validates it like any other job."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from sparktrainer_gui.panels.builder import BuilderPanel
from sparktrainer_gui.panels.builder.train import TrainDialog

pytestmark = pytest.mark.e2e


def write_separable_csv(path: Path, rows: int = 320, features: int = 16, seed: int = 0) -> Path:
    """Sixteen features (the MLP template's input); the class is the sign of a fixed linear rule."""
    rng = random.Random(seed)
    weights = [rng.uniform(-1, 1) for _ in range(features)]
    lines = [",".join([f"f{i}" for i in range(features)] + ["target"])]
    for _ in range(rows):
        x = [rng.uniform(-1, 1) for _ in range(features)]
        label = "pos" if sum(w * v for w, v in zip(weights, x, strict=True)) > 0 else "neg"
        lines.append(",".join([f"{v:.4f}" for v in x] + [label]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_graph_from_the_editor_trains_to_completed_above_chance(
    qtbot, daemon, conn, home: Path, tmp_path: Path
):
    data = write_separable_csv(tmp_path / "table.csv")
    panel = BuilderPanel(conn)
    qtbot.addWidget(panel)
    panel.show()
    panel.new_from_template("MLP")
    panel.actions_.train.trigger()
    qtbot.waitUntil(lambda: panel.findChild(TrainDialog) is not None)
    dialog = panel.findChild(TrainDialog)
    dialog.name_edit.setText("mlp-from-builder")
    dialog.dataset_edit.setText(str(data))
    dialog.steps.setValue(150)
    with qtbot.waitSignal(panel.job_submitted, timeout=30_000) as submitted:
        qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
    job = daemon.job(submitted.args[0])
    spec = job.spec
    assert spec["recipe"] == "graph" and spec["name"] == "mlp-from-builder"
    graph_file = Path(spec["model"]["graph"])
    assert graph_file.is_relative_to(home) and graph_file.exists()
    assert json.loads(graph_file.read_text())["nodes"] == panel.editor.graph.to_dict()["nodes"]
    job = daemon.wait(job.id, timeout=240)
    assert job.state == "COMPLETED", job.reason
    accuracy = [p.value for p in daemon.metrics(job.id, key="eval_accuracy").points]
    assert accuracy and accuracy[-1] >= 0.75, f"eval accuracy stayed near chance (0.5): {accuracy}"


def test_train_reports_the_daemons_refusal_in_the_dialog(qtbot, daemon, conn):
    panel = BuilderPanel(conn)
    qtbot.addWidget(panel)
    panel.show()
    panel.new_from_template("MLP")
    panel.actions_.train.trigger()
    dialog = panel.findChild(TrainDialog)
    dialog.name_edit.setText("bad name with spaces!")
    dialog.dataset_edit.setText("/nonexistent.csv")
    qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.submit_button.isEnabled(), timeout=30_000)
    assert "not submitted" in dialog.error.text() and "name" in dialog.error.text()
    assert dialog.isVisible()
