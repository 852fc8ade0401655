"""A recipe registered from a module outside the runtime runs end to end against a real daemon
and a real worker, with no other file edited: the registry is the only place a recipe lives."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import ROOT, wait_job
from trainer_runtime.client.transport import ApiError
from trainer_runtime.jobs.recipes import MODULES_ENV


@pytest.fixture
def throwaway_daemon(daemon_with, monkeypatch: pytest.MonkeyPatch):
    """A daemon (and so its workers) started with the throwaway recipe module on the path."""
    monkeypatch.setenv(MODULES_ENV, "tests.throwaway_recipe")
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", f"{ROOT}{os.pathsep}{path}" if path else str(ROOT))
    return daemon_with()


def test_a_throwaway_recipe_runs_end_to_end(throwaway_daemon, corpus: Path) -> None:
    client = throwaway_daemon
    listed = {r.name: r for r in client.recipes()}
    assert "throwaway" in listed and listed["causal-lm"].default
    mine = listed["throwaway"]
    assert mine.builtin_models == ["counter"] and mine.dataset.materialize == "text"
    steps = mine.fields[0]
    assert (steps.key, steps.default, steps.maximum, steps.minimum) == ("train.max_steps", 3, 10, 0)

    spec = {"name": "count", "recipe": "throwaway", "model": {"builtin": "counter"},
            "dataset": {"path": str(corpus)}, "train": {"max_steps": 4}}  # fmt: skip
    with pytest.raises(ApiError) as refused:  # the recipe's own spec rule, said by the daemon
        client.submit({**spec, "train": {"max_steps": 11}})
    assert "counts to 10 at most" in str(refused.value)
    with pytest.raises(ApiError) as refused:  # the recipe's own input check
        client.submit({**spec, "dataset": {"path": str(corpus.parent / "missing.txt")}})
    assert "reads a file" in str(refused.value)

    job = client.submit(spec)
    done = wait_job(client, job.id, lambda j: j.is_terminal, timeout=120)
    assert done.state.value == "COMPLETED", done.reason
    assert done.spec["recipe"] == "throwaway" and done.step == 4
    points = client.metrics(job.id, "words_seen").points
    words = len(corpus.read_text(encoding="utf-8").split())
    assert [(p.step, p.value) for p in points] == [(s, float(words * s)) for s in range(1, 5)]
    assert done.metrics["loss"].last == pytest.approx(0.25)
    reports = [a for a in client.artifacts(job.id) if a.kind == "report"]
    assert len(reports) == 1
    assert json.loads(Path(reports[0].path).read_text()) == {"words": words, "steps": 4}


def test_a_daemon_without_the_module_refuses_the_recipe(daemon, corpus: Path) -> None:
    assert "throwaway" not in [r.name for r in daemon.recipes()]
    with pytest.raises(ApiError) as refused:
        daemon.submit({"name": "count", "recipe": "throwaway", "model": {"builtin": "tiny-gpt2"},
                       "dataset": {"path": str(corpus)}, "train": {"max_steps": 4}})  # fmt: skip
    assert "unknown recipe 'throwaway': use one of causal-lm" in str(refused.value)
