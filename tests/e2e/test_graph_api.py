"""Graph import and check run in the real daemon (import in a child process, the loop stays free)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT, cli
from trainer_runtime.architecture.graph import Graph
from trainer_runtime.architecture.infer import infer
from trainer_runtime.architecture.templates import TEMPLATES, chain
from trainer_runtime.client.client import ApiError

pytestmark = pytest.mark.e2e


def test_import_runs_in_the_daemon_without_blocking_it(daemon) -> None:
    result: dict = {}
    worker = threading.Thread(
        target=lambda: result.update(
            answer=daemon.graph_import(
                "tests.unit.test_architecture_import:SmallCNN", [3, 16, 16], cwd=str(ROOT)
            )
        )
    )
    worker.start()
    slowest = 0.0
    while worker.is_alive():  # the daemon answers other calls while the import runs
        t0 = time.perf_counter()
        daemon.status()
        slowest = max(slowest, time.perf_counter() - t0)
        worker.join(timeout=0.05)
    assert slowest < 1.0
    g = Graph.from_dict(result["answer"].graph)
    assert result["answer"].method == "torch.fx" and infer(g).ok
    assert any(n.type == "Opaque" and n.params["label"] == "LeakyReLU" for n in g.nodes.values())


def test_import_errors_are_sentences(daemon) -> None:
    with pytest.raises(ApiError) as info:
        daemon.graph_import("tests.unit.test_architecture_import:Branchy", [4], cwd=str(ROOT))
    assert info.value.status == 422 and "Branchy cannot be imported" in info.value.message
    with pytest.raises(ApiError) as info:
        daemon.graph_import("not a target", [4])
    assert info.value.status == 400 and info.value.problems[0]["field"] == "target"
    with pytest.raises(ApiError) as info:
        daemon.graph_import("x:y", [0])
    assert info.value.status == 400


def test_check_endpoint_summarises_and_names_bad_nodes(daemon) -> None:
    s = daemon.graph_check(TEMPLATES["MLP"]().to_dict())
    assert s.ok and s.total_params == 5378 and s.nodes[1].shape == [64]
    g = chain([("Input", {"shape": (6,)}), ("ReLU", {}), ("Output", {"loss": "mse"})])
    g.disconnect(g.in_edges("n2")[0])
    bad = g.to_dict()
    s = daemon.graph_check(bad)
    relu = next(n for n in s.nodes if n.id == "n2")
    assert not s.ok and relu.errors[0].type == "UnconnectedPortError"
    future = {**bad, "version": 99}
    with pytest.raises(ApiError) as info:
        daemon.graph_check(future)
    assert info.value.status == 400 and "newer SparkTrainer" in info.value.message


def test_cli_import_through_the_daemon(daemon, tmp_path: Path) -> None:
    out_file = tmp_path / "cnn.json"
    out = cli(
        "graph", "import", "tests.unit.test_architecture_import:SmallCNN",
        "--input-shape", "3,16,16", "--out", str(out_file), "--daemon",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out_file.read_text())["format"] == "sparktrainer-graph"
