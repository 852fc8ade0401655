"""The graph recipe in real worker subprocesses, and its spec checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.graph_helpers import make_csv, make_image_folder, tabular_mlp
from trainer_runtime.architecture.templates import chain
from trainer_runtime.jobs.checks import check_inputs
from trainer_runtime.jobs.spec import SpecError, parse_spec
from trainer_runtime.worker.testing import (
    log_text,
    metric_series,
    read_events,
    run_paused_then_resumed,
    run_worker,
    write_job,
)


def spec(graph: Path, data: Path, **train) -> dict:
    return {
        "name": "g",
        "recipe": "graph",
        "model": {"graph": str(graph)},
        "dataset": {"path": str(data), "eval_fraction": 0.25},
        "train": {"max_steps": 12, "batch_size": 8, "lr": 0.01, "eval_every": 4, "seed": 3, **train},
    }


def test_pause_and_resume_give_the_uninterrupted_losses(tmp_path: Path) -> None:
    images = make_image_folder(tmp_path / "imgs", per_class=8)
    graph = tmp_path / "g.json"
    chain(
        [
            ("Input", {"shape": (3, 16, 16)}),
            ("Conv2d", {"out_channels": 4}),
            ("BatchNorm2d", {}),  # running statistics must survive the pause
            ("ReLU", {}),
            ("Dropout", {"p": 0.3}),  # and so must the RNG
            ("AdaptiveAvgPool2d", {"output_size": 2}),
            ("Flatten", {}),
            ("Linear", {"out_features": 3}),
            ("Output", {}),
        ]
    ).save(graph)
    ref = write_job(tmp_path / "ref", spec(graph, images))
    assert run_worker(ref) == 0, log_text(ref)
    job = write_job(tmp_path / "job", spec(graph, images))
    events = run_paused_then_resumed(job, paused_at=1)
    assert events[-1]["type"] == "completed"
    assert metric_series(events, "loss") == metric_series(read_events(ref), "loss")
    assert metric_series(events, "eval_accuracy") == metric_series(read_events(ref), "eval_accuracy")


def test_csv_classification_reports_accuracy(tmp_path: Path) -> None:
    data = make_csv(tmp_path / "t.csv", rows=120, classify=True)
    graph = tmp_path / "g.json"
    tabular_mlp(outputs=2, loss="cross_entropy").save(graph)
    job = write_job(tmp_path / "job", spec(graph, data, max_steps=40, eval_every=20))
    assert run_worker(job) == 0, log_text(job)
    acc = metric_series(read_events(job), "eval_accuracy")
    assert [s for s, _ in acc] == [0, 20, 40] and acc[-1][1] > 0.75


def test_csv_with_wrong_number_of_classes_fails_with_a_sentence(tmp_path: Path) -> None:
    data = make_csv(tmp_path / "t.csv", rows=40, classify=True)
    graph = tmp_path / "g.json"
    tabular_mlp(outputs=3, loss="cross_entropy").save(graph)
    job = write_job(tmp_path / "job", spec(graph, data))
    assert run_worker(job) == 1
    assert "2 target classes but the graph's Output gets shape (3,)" in (job / "error.json").read_text()


def test_spec_rules_of_the_graph_recipe(tmp_path: Path) -> None:
    data = make_csv(tmp_path / "t.csv", rows=20)
    graph = tmp_path / "g.json"
    tabular_mlp().save(graph)
    ok = parse_spec(spec(graph, data))
    assert ok.method == "full" and ok.lora is None
    check_inputs(ok)
    with pytest.raises(SpecError, match="recipe 'graph' trains a model.graph"):
        parse_spec({**spec(graph, data), "recipe": "causal-lm"})
    with pytest.raises(SpecError, match="do not apply"):
        parse_spec({**spec(graph, data), "lora": {"r": 4}})
    with pytest.raises(SpecError, match="one device"):
        parse_spec({**spec(graph, data), "resources": {"devices": 2}})
    wide = tmp_path / "wide.json"
    g = tabular_mlp()
    g.set_param("n1", "shape", [5])
    g.save(wide)
    with pytest.raises(SpecError, match=r"model.graph: .*holds 5 values but t.csv has 4 feature columns"):
        check_inputs(parse_spec(spec(wide, data)))
    with pytest.raises(SpecError, match="dataset not found"):
        check_inputs(parse_spec(spec(graph, tmp_path / "nope.csv")))
    (tmp_path / "future.json").write_text(
        '{"format": "sparktrainer-graph", "version": 9, "nodes": [], "edges": []}'
    )
    with pytest.raises(SpecError, match="newer SparkTrainer"):
        check_inputs(parse_spec(spec(tmp_path / "future.json", data)))
    one = tmp_path / "one-class"
    make_image_folder(one, per_class=1)
    for sub in ("vertical", "checks"):
        for f in (one / sub).iterdir():
            f.unlink()
    with pytest.raises(SpecError, match="at least two sub-folders"):
        check_inputs(parse_spec(spec(graph, one)))
