"""Graphs from the architecture builder train as ordinary jobs through the real CLI and daemon."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from tests.graph_helpers import image_cnn, make_csv, make_image_folder, tabular_mlp
from tests.helpers import cli

pytestmark = pytest.mark.e2e


def graph_spec(tmp_path: Path, graph: Path, dataset: Path, name: str, **train) -> Path:
    spec = {
        "name": name,
        "recipe": "graph",
        "model": {"graph": str(graph)},
        "dataset": {"path": str(dataset), "eval_fraction": 0.25},
        "train": {"max_steps": 60, "batch_size": 16, "lr": 0.01, "eval_every": 20, "seed": 0, **train},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def run_to_end(spec: Path) -> str:
    job_id = cli("jobs", "submit", str(spec), check=True).stdout.strip()
    out = cli("jobs", "wait", job_id, "--timeout", "240", "--json", timeout=270)
    assert out.returncode == 0, f"{out.stdout}{out.stderr}\n{cli('jobs', 'logs', job_id).stdout[-3000:]}"
    assert json.loads(out.stdout)["state"] == "COMPLETED"
    return job_id


def metric(job_id: str, key: str) -> list[tuple[int, float]]:
    out = cli("jobs", "metrics", job_id, "--key", key, "--json", check=True)
    return [(p["step"], p["value"]) for p in json.loads(out.stdout)]


def test_image_folder_graph_job_completes_with_accuracy_above_chance(daemon, tmp_path: Path) -> None:
    images = make_image_folder(tmp_path / "patterns")
    graph = tmp_path / "cnn.json"
    image_cnn(classes=3).save(graph)
    job_id = run_to_end(graph_spec(tmp_path, graph, images, "patterns-cnn"))
    assert [s for s, _ in metric(job_id, "loss")] == list(range(1, 61))
    acc = metric(job_id, "eval_accuracy")
    assert [s for s, _ in acc] == [0, 20, 40, 60]
    assert acc[-1][1] >= 0.8, f"accuracy stayed near chance (1/3): {acc}"
    evals = metric(job_id, "eval_loss")
    assert evals[-1][1] < evals[0][1]
    show = json.loads(cli("jobs", "show", job_id, "--json", check=True).stdout)
    final = Path(show["job_dir"]) / "final"
    assert json.loads((final / "classes.json").read_text()) == ["checks", "horizontal", "vertical"]
    assert "class Net(nn.Module)" in (final / "model.py").read_text()
    assert any(a.kind == "model" for a in daemon.artifacts(job_id))


def test_csv_regression_graph_job_learns(daemon, tmp_path: Path) -> None:
    data = make_csv(tmp_path / "table.csv")
    graph = tmp_path / "mlp.json"
    tabular_mlp(outputs=1, loss="mse").save(graph)
    job_id = run_to_end(graph_spec(tmp_path, graph, data, "table-mlp"))
    evals = metric(job_id, "eval_loss")
    assert all(math.isfinite(v) for _, v in evals)
    assert evals[-1][1] < 0.25 * evals[0][1], f"eval loss did not fall: {evals}"
    assert metric(job_id, "eval_accuracy") == []


def test_broken_graph_is_refused_at_submit_naming_the_node(daemon, tmp_path: Path) -> None:
    images = make_image_folder(tmp_path / "patterns", per_class=2)
    graph = image_cnn(classes=3)
    graph.rename_node("n9", "head")
    graph.set_param("n9", "out_features", 5)  # 5 logits for 3 class folders
    path = tmp_path / "wrong.json"
    graph.save(path)
    out = cli("jobs", "submit", str(graph_spec(tmp_path, path, images, "wrong-head")))
    assert out.returncode == 2
    assert "model.graph" in out.stderr and "3 class folders" in out.stderr and "(5,)" in out.stderr
    d = json.loads(path.read_text())
    d["edges"] = [e for e in d["edges"] if e[2] != "n5"]  # the second Conv2d loses its input
    path.write_text(json.dumps(d))
    out = cli("jobs", "submit", str(graph_spec(tmp_path, path, images, "unconnected")))
    assert out.returncode == 2
    assert "node 'n5'" in out.stderr and "not connected" in out.stderr
    assert daemon.jobs() == []
