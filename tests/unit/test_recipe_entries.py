"""The recipe registry: entries, the spec rules it holds, and the rule that a recipe is named only
in its own modules and the registry (no if/elif on recipe names anywhere else)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from trainer_runtime.api.schema.base import dump, parse
from trainer_runtime.api.schema.recipes import RecipeList, recipe_list
from trainer_runtime.jobs import recipes
from trainer_runtime.jobs.recipes import DatasetRule, Recipe
from trainer_runtime.jobs.spec import SpecError, parse_spec

ROOT = Path(__file__).resolve().parents[2]
SEARCHED = ["trainer_runtime/worker", "trainer_runtime/jobs", "trainer_runtime/api", "trainer_runtime/daemon.py",
            "sparktrainer_gui"]  # fmt: skip
BUILTIN = ("causal-lm", "graph", "image-classification", "prelabel")
# GUI modules that exist for one recipe's output. The Labeling panel starts pre-labelling jobs
# and shows their suggestions; it names its recipe until it asks the registry for it.
OWN_GUI = {"prelabel": ["sparktrainer_gui/panels/labeling/suggestions_ui.py"]}


def own_files(name: str) -> set[str]:
    """The registry, the recipe's registration module (named after it) and its worker's module."""
    entry = recipes.get(name)
    worker = entry.worker.split(":")[0].replace(".", "/") + ".py"
    module = f"trainer_runtime/jobs/recipes/{name.replace('-', '_')}.py"
    return {"trainer_runtime/jobs/recipes/registry.py", module, worker, *OWN_GUI.get(name, [])}


def spellings(name: str) -> re.Pattern[str]:
    """The name as a recipe: after "recipe" (``recipe == "x"``, ``"recipe": "x"``, ``recipe 'x'``,
    ``recipe: x``), and, for a name that is no spec key as well, any quoted use of it."""
    as_recipe = rf"recipe[\"']?\s*(?:==|!=|:|=|\s)\s*[\"']?{re.escape(name)}\b"
    quoted = rf"[\"']{re.escape(name)}[\"']"
    return re.compile(as_recipe if name in ("graph", "prelabel") else f"{as_recipe}|{quoted}")


def test_every_builtin_recipe_is_registered_by_its_own_module() -> None:
    assert set(BUILTIN) <= set(recipes.names())
    for name in BUILTIN:
        assert all((ROOT / f).is_file() for f in own_files(name) - set(OWN_GUI.get(name, []))), name
    assert recipes.default().name == "causal-lm"


@pytest.mark.parametrize("name", BUILTIN)
def test_a_recipe_is_spelled_only_in_its_own_modules_and_the_registry(name: str) -> None:
    pattern, allowed = spellings(name), own_files(name)
    files = [p for where in SEARCHED for p in ([ROOT / where] if where.endswith(".py") else
             sorted((ROOT / where).rglob("*.py")))]  # fmt: skip
    found = [
        f"{path.relative_to(ROOT)}:{lineno}: {line.strip()}"
        for path in files
        if path.relative_to(ROOT).as_posix() not in allowed
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == [], f"recipe '{name}' is spelled outside its modules:\n" + "\n".join(found)


def test_the_registry_refuses_a_second_entry_of_the_same_name_and_a_bad_worker() -> None:
    causal = recipes.get("causal-lm")
    with pytest.raises(ValueError, match="registered twice"):
        recipes.register(Recipe(**{**causal.__dict__, "worker": "elsewhere:Trainer", "default": False}))
    bad = Recipe(name="bad", title="b", description="b", worker="no colon",
                 dataset=DatasetRule(materialize="files", pick="file"))  # fmt: skip
    with pytest.raises(ValueError, match="module:callable"):
        recipes.register(bad)
    assert "bad" not in recipes.names()
    with pytest.raises(recipes.UnknownRecipe, match="unknown recipe 'nope': use one of causal-lm"):
        recipes.get("nope")


def test_a_spec_without_a_recipe_gets_the_one_its_section_or_model_implies() -> None:
    base = {"name": "x", "dataset": {"path": "/d.txt"}, "train": {"max_steps": 2}}
    assert parse_spec({**base, "model": {"builtin": "tiny-gpt2"}}).recipe == "causal-lm"
    assert parse_spec({**base, "model": {"graph": "/g.json"}}).recipe == "graph"
    assert parse_spec({**base, "model": {"builtin": "small-cnn"}}).recipe == "image-classification"
    pre = parse_spec({"name": "p", "model": {"path": "/m"}, "dataset": {"name": "d", "version": 1},
                      "prelabel": {"min_score": 0.5}})  # fmt: skip
    assert pre.recipe == "prelabel" and pre.train.max_steps == 1  # it trains nothing
    with pytest.raises(SpecError) as refused:
        parse_spec({**base, "recipe": "nope", "model": {"builtin": "tiny-gpt2"}})
    assert refused.value.problems[0][0] == "recipe"
    with pytest.raises(SpecError, match="model.builtin 'small-cnn' is an image model: use recipe"):
        parse_spec({**base, "recipe": "causal-lm", "model": {"builtin": "small-cnn"}})  # its owner's claim


def test_the_recipes_answer_carries_the_spec_bounds_and_round_trips() -> None:
    answer = recipe_list()
    again = parse(RecipeList, json.loads(dump(RecipeList, answer)))
    assert again == answer
    causal = next(r for r in answer.recipes if r.name == "causal-lm")
    lr = next(f for f in causal.fields if f.key == "train.lr")
    bounds = (lr.default, lr.minimum, lr.exclusive_minimum, lr.maximum, lr.exclusive_maximum)
    assert bounds == (3e-4, 0, True, 10, True)  # TrainSpec.lr: gt=0, lt=10
    image = next(r for r in answer.recipes if r.name == "image-classification")
    assert next(f for f in image.fields if f.key == "train.lr").default == 0.001
    assert {f.key for f in image.fields}.isdisjoint({"method", "train.seq_len", "lora.r"})
    assert [r.name for r in answer.recipes if r.wizard] == ["causal-lm", "image-classification", "sft"]
