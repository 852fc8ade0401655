"""``sparktrainer graph check / export / import`` through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import cli
from trainer_runtime.architecture.templates import TEMPLATES, chain


def test_check_prints_shapes_params_flops_and_totals(tmp_path: Path) -> None:
    path = tmp_path / "cnn.json"
    TEMPLATES["Small CNN"]().save(path)
    out = cli("graph", "check", str(path))
    assert out.returncode == 0, out.stderr
    assert "(16, 32, 32)" in out.stdout and "(10,)" in out.stdout
    assert "total: 5,450 parameters" in out.stdout and "graph is valid" in out.stdout
    data = json.loads(cli("graph", "check", str(path), "--json", check=True).stdout)
    assert data["ok"] and data["total_params"] == 5450 and data["total_flops"] > 0
    conv = data["nodes"][1]
    assert conv["type"] == "Conv2d" and conv["shape"] == [16, 32, 32] and conv["params"] == 448


def test_check_reports_errors_at_their_node(tmp_path: Path) -> None:
    g = chain([("Input", {"shape": (3, 8, 8)}), ("Flatten", {}), ("Conv2d", {}), ("Output", {})])
    path = tmp_path / "bad.json"
    g.save(path)
    out = cli("graph", "check", str(path))
    assert out.returncode == 1
    row = next(line for line in out.stdout.splitlines() if line.startswith("n3"))
    assert "Conv2d" in row and "expects a 3-D input" in row and "(192,)" in row
    data = json.loads(cli("graph", "check", str(path), "--json").stdout)
    (err,) = data["nodes"][2]["errors"]
    assert err["node"] == "n3" and err["type"] == "ShapeError"
    assert data["nodes"][3]["shape"] is None and data["nodes"][3]["errors"] == []  # no cascade
    (tmp_path / "future.json").write_text(
        '{"format": "sparktrainer-graph", "version": 3, "nodes": [], "edges": []}'
    )
    out = cli("graph", "check", str(tmp_path / "future.json"))
    assert out.returncode == 2 and "newer SparkTrainer" in out.stderr


def test_export_writes_code_that_runs_and_refuses_broken_graphs(tmp_path: Path) -> None:
    path = tmp_path / "res.json"
    TEMPLATES["Residual block"]().save(path)
    out_py = tmp_path / "model.py"
    cli("graph", "export", str(path), "--out", str(out_py), "--class-name", "ResNetBlock", check=True)
    run = subprocess.run(
        [sys.executable, "-c", "import torch, model; print(tuple(model.ResNetBlock()(torch.randn(2, 16, 32, 32)).shape))"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "(2, 10)"
    broken = tmp_path / "broken.json"
    chain(
        [("Input", {"shape": (4,)}), ("MultiheadAttention", {"num_heads": 3}), ("Output", {"loss": "mse"})]
    ).save(broken)
    out = cli("graph", "export", str(broken), "--out", str(tmp_path / "x.py"))
    assert out.returncode == 1 and "node 'n2'" in out.stderr
    assert not (tmp_path / "x.py").exists()


def test_import_in_process_writes_a_graph_file(tmp_path: Path) -> None:
    out_file = tmp_path / "cnn.json"
    out = cli(
        "graph",
        "import",
        "tests.unit.test_architecture_import:SmallCNN",
        "--input-shape",
        "3,16,16",
        "--out",
        str(out_file),
    )
    assert out.returncode == 0, out.stderr
    assert "via torch.fx" in out.stdout
    data = json.loads(cli("graph", "check", str(out_file), "--json", check=True).stdout)
    assert data["ok"] and data["total_params"] > 0
    out = cli(
        "graph",
        "import",
        "tests.unit.test_architecture_import:Branchy",
        "--input-shape",
        "4",
        "--out",
        str(tmp_path / "b.json"),
    )
    assert out.returncode == 1 and "cannot be imported" in out.stderr
    out = cli(
        "graph", "import", "no_such_module:make", "--input-shape", "4", "--out", str(tmp_path / "c.json")
    )
    assert out.returncode == 1 and "cannot import module 'no_such_module'" in out.stderr
    out = cli("graph", "import", "x:y", "--input-shape", "3,a", "--out", str(tmp_path / "d.json"))
    assert out.returncode == 2 and "--input-shape" in out.stderr
