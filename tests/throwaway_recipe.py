"""A recipe registered from outside the runtime (``SPARKTRAINER_RECIPE_MODULES=tests.throwaway_recipe``):
the registry test runs it end to end to show that a recipe is one module plus one registration.

Its worker trains nothing real: it reads the dataset file, writes a few metric events and a
final report through the worker's event writer, and completes. It imports no spec at module
level (the spec imports the registry, which imports this module)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trainer_runtime.jobs.recipes import DatasetRule, FormField, Recipe, register

NAME = "throwaway"
REPORT = "report.json"


def check_spec(spec: Any) -> None:
    if spec.train.max_steps > 10:
        raise ValueError(f"recipe '{NAME}' counts to 10 at most: set train.max_steps to 10 or less")


def check_inputs(spec: Any) -> None:
    from trainer_runtime.jobs.spec import SpecError

    if not Path(spec.dataset.path or "").is_file():
        raise SpecError([("dataset.path", f"recipe '{NAME}' reads a file: {spec.dataset.path} is none")])


class CountingRunner:
    """The worker side: ``(job, dist, events, credentials, pause)`` -> ``run()`` and ``outcome``."""

    def __init__(self, job: Any, dist: Any, events: Any, credentials: list[str], pause: Any):
        self.job, self.events = job, events
        self.outcome: str | None = None

    def run(self) -> None:
        spec = self.job.spec
        words = len(Path(spec.dataset.path).read_text(encoding="utf-8").split())
        steps = spec.train.max_steps
        self.events.emit("started", flush=True, step=0, total_steps=steps, world_size=1, device="cpu")
        for step in range(1, steps + 1):
            self.events.metrics(step, {"loss": 1.0 / step, "words_seen": float(words * step)})
        (self.job.job_dir / REPORT).write_text(json.dumps({"words": words, "steps": steps}), encoding="utf-8")
        self.events.emit("completed", flush=True, step=steps, artifact={"kind": "report", "path": REPORT})
        self.outcome = "completed"


RECIPE = register(
    Recipe(
        name=NAME,
        title="Throwaway counter",
        description="Counts the words of a text file; exists only for the registry's tests.",
        worker="tests.throwaway_recipe:CountingRunner",
        dataset=DatasetRule(materialize="text", pick="file", modality="text", hint="any text file"),
        model_sources=("builtin",),
        builtin_models=("counter",),
        model_noun="a counter",
        max_devices=1,
        metrics=("loss", "words_seen"),
        fields=(
            FormField("train.max_steps", "Steps", "int", default=3, maximum=10, help="how far to count"),
        ),
        check_spec=check_spec,
        check_inputs=check_inputs,
    )
)
