"""The recipe registry: one entry per recipe, read by the spec, the input checks, the daemon's
dataset resolution, the worker's dispatch, the API (``GET /v1/recipes``) and the wizard.

A recipe is one module that builds a :class:`Recipe` and calls :func:`register` at import. The
built-in ones live beside this module and are imported by the package; more are imported from
the modules named in ``SPARKTRAINER_RECIPE_MODULES`` (comma-separated module names, importable
on the Python path) when the package is first imported, in every process that reads the
registry (daemon, worker, CLI, GUI): set it where the daemon is started and its workers inherit
it. Adding a recipe never means editing an if/elif elsewhere.

This module imports neither torch nor the spec: an entry names its worker as an import string
(``"module:callable"``), loaded only in the worker, and its rules are plain functions the spec
calls with the parsed spec.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from trainer_runtime.jobs.spec import JobSpec

MODULES_ENV = "SPARKTRAINER_RECIPE_MODULES"
NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,39}")
ENTRY_RE = re.compile(r"[\w.]+:[\w.]+")
MODEL_SOURCES = ("builtin", "path", "hub_id", "graph")  # the fields of the spec's model section

FieldKind = Literal["int", "float", "text", "choice", "path", "folder"]


@dataclass(frozen=True)
class FormField:
    """One wizard field of a recipe, as data the GUI renders.

    ``key`` is the spec's dotted path (``train.lr``); a field the new-job form has no widget for
    is rendered from this data alone. Bounds left None are read from the spec's own model by the
    API (``api/schema/recipes.py``), so a bound is written once, in the spec."""

    key: str
    label: str
    kind: FieldKind
    default: str | int | float | None = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class DatasetRule:
    """What dataset a recipe reads and how the daemon materialises an imported one.

    ``materialize``: ``text`` (one read-only .txt/.jsonl corpus), ``images`` (a folder tree with
    ``labels.json`` beside it), ``files`` (the version's files as they are: a folder, or the one
    file). ``pick``: what a user chooses for ``dataset.path``, a file or a folder."""

    materialize: Literal["text", "images", "files"]
    pick: Literal["file", "folder"]
    modality: str | None = None  # imported datasets offered: text, image, or None for any
    hint: str = ""  # what dataset.path is, in a few words ("a .txt or .jsonl file")
    suffixes: tuple[str, ...] = ()  # a file pick: the suffixes offered in file dialogs and drops
    stored_only: bool = False  # only an imported dataset (dataset.name) will do
    formats: tuple[str, ...] = ()  # dataset.format values only this recipe reads (a spec naming one is its)


Rule = Callable[["JobSpec"], None]


@dataclass(frozen=True)
class Recipe:
    """A recipe. ``check_spec`` raises ValueError with a sentence for a spec this recipe cannot
    run (no disk access: it runs in every client's validation); ``claim`` returns the sentence
    that sends a spec naming another recipe here (its model is this recipe's kind), or None;
    ``check_inputs`` reads the disk (the daemon runs it on a thread, the worker at start) and
    raises SpecError. ``worker`` is ``"module:callable"``: called in the worker with ``(job,
    dist, events, credentials, pause)`` it returns a runner with ``run()`` and ``outcome``
    (``"completed"`` or ``"paused"``); a class is such a callable."""

    name: str
    title: str
    description: str
    worker: str
    dataset: DatasetRule
    model_sources: tuple[str, ...] = ("builtin", "path", "hub_id")
    builtin_models: tuple[str, ...] = ()
    model_noun: str = "a model"  # "an image model": in claim sentences
    methods: tuple[str, ...] = (
        "full",
    )  # "lora" when a LoRA adapter can be trained ("qlora": on a 4-bit base)
    scale: bool = False  # its trainer takes the workstation-scale settings (SCALE_SETTINGS)
    max_devices: int | None = None  # None: any number (DDP); 1: one process
    sections: tuple[str, ...] = ()  # optional spec sections only this recipe reads
    trains: bool = True  # False: a job that trains nothing (train.max_steps defaults to 1)
    metrics: tuple[str, ...] = ()  # the metric keys its worker reports
    fields: tuple[FormField, ...] = ()  # the wizard's fields, in order
    wizard: bool = True  # offered by the new-job wizard (False: submitted from its own panel)
    default: bool = False  # the recipe of a spec that names none and a new wizard
    check_spec: Rule | None = None
    claim: Callable[[JobSpec], str | None] | None = None
    check_inputs: Rule | None = None

    def field(self, key: str) -> FormField | None:
        return next((f for f in self.fields if f.key == key), None)


class UnknownRecipe(LookupError):
    def __init__(self, name: str):
        self.name = name
        shown = (
            name if len(name) <= 40 and name.isprintable() else name[:40].encode("unicode_escape").decode()
        )
        super().__init__(f"unknown recipe '{shown}': use one of {', '.join(names())}")


_RECIPES: dict[str, Recipe] = {}


def register(recipe: Recipe) -> Recipe:
    """Add ``recipe``; registering the same entry again (a module imported twice) is a no-op."""
    if not NAME_RE.fullmatch(recipe.name):
        raise ValueError(f"recipe name {recipe.name!r}: use 1-40 lower-case letters, digits or '-'")
    if not ENTRY_RE.fullmatch(recipe.worker):
        raise ValueError(f"recipe '{recipe.name}': worker must be 'module:callable', not {recipe.worker!r}")
    bad = [s for s in recipe.model_sources if s not in MODEL_SOURCES]
    if bad or not recipe.model_sources:
        raise ValueError(f"recipe '{recipe.name}': model sources are some of {', '.join(MODEL_SOURCES)}")
    old = _RECIPES.get(recipe.name)
    if old is not None and old != recipe:
        raise ValueError(f"recipe '{recipe.name}' is registered twice, by {old.worker} and {recipe.worker}")
    if recipe.default and any(r.default and r.name != recipe.name for r in _RECIPES.values()):
        raise ValueError(f"recipe '{recipe.name}' is marked default, but another recipe already is")
    _RECIPES[recipe.name] = recipe
    return recipe


def get(name: str) -> Recipe:
    try:
        return _RECIPES[name]
    except (KeyError, TypeError):
        raise UnknownRecipe(str(name)) from None


def names() -> tuple[str, ...]:
    return tuple(_RECIPES)


def recipes() -> tuple[Recipe, ...]:
    return tuple(_RECIPES.values())


def default() -> Recipe:
    found = [r for r in _RECIPES.values() if r.default]
    if not found:
        raise LookupError("no recipe is registered as the default")
    return found[0]


def builtin_models() -> tuple[str, ...]:
    """Every recipe's built-in models (a spec's model.builtin is one of them)."""
    return tuple(dict.fromkeys(m for r in _RECIPES.values() for m in r.builtin_models))


def infer(data: dict[str, Any]) -> str:
    """The recipe of a spec mapping that names none: the one that owns a section it has or reads
    its ``dataset.format``, else the only one that takes its model source or built-in model, else
    the default."""
    dataset = data.get("dataset")
    fmt = dataset.get("format") if isinstance(dataset, dict) else None
    for r in _RECIPES.values():
        if any(data.get(s) is not None for s in r.sections) or (fmt and fmt in r.dataset.formats):
            return r.name
    model = data.get("model")
    if isinstance(model, dict):
        for key in ("graph", "builtin"):
            value = model.get(key)
            if value is None:
                continue
            takers = [
                r
                for r in _RECIPES.values()
                if key in r.model_sources and (key != "builtin" or value in r.builtin_models)
            ]
            if len(takers) == 1:
                return takers[0].name
    return default().name


def load(ref: str) -> Any:
    """The object an import string ``"module:attr.path"`` names (the worker's entry point)."""
    module, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def check_spec(spec: JobSpec) -> None:
    """The recipe rules of a parsed spec; ValueError with the sentence of the first broken one."""
    own = get(spec.recipe)
    if own.check_spec is not None:
        own.check_spec(spec)
    for other in _RECIPES.values():
        if other is not own and other.claim is not None:
            sentence = other.claim(spec)
            if sentence:
                raise ValueError(sentence)
    source = next(s for s in MODEL_SOURCES if getattr(spec.model, s, None))
    if source not in own.model_sources:
        raise ValueError(
            f"recipe '{own.name}' does not take model.{source}: give model."
            + " or model.".join(own.model_sources)
        )
    builtin = spec.model.builtin
    if builtin and builtin not in own.builtin_models:
        owner = next((r for r in _RECIPES.values() if builtin in r.builtin_models), None)
        if owner is not None:
            raise ValueError(f"model.builtin '{builtin}' is {owner.model_noun}: use recipe '{owner.name}'")
        raise ValueError(f"recipe '{own.name}' has no built-in model '{builtin}'")
    for other in _RECIPES.values():
        for section in other.sections:
            if section not in own.sections and getattr(spec, section, None) is not None:
                raise ValueError(f"'{section}' settings belong to recipe '{other.name}'")
    if "lora" not in own.methods and spec.lora is not None:
        raise ValueError(f"'lora' settings do not apply to recipe '{own.name}'")
    if not own.scale:
        for key, value in scale_settings(spec).items():
            if value != SCALE_DEFAULTS[key]:
                raise ValueError(f"{key} does not apply to recipe '{own.name}': leave it out")
    if own.max_devices is not None and spec.resources.devices > own.max_devices:
        where = "one device" if own.max_devices == 1 else f"at most {own.max_devices} devices"
        raise ValueError(f"recipe '{own.name}' runs on {where}: set resources.devices to {own.max_devices}")


# The settings of the causal-LM trainer core (worker/causal_lm.py) and their defaults: a recipe
# without ``scale`` refuses any other value.
SCALE_DEFAULTS: dict[str, Any] = {
    "train.micro_batch_size": None,
    "train.gradient_checkpointing": False,
    "train.precision": "auto",
    "resources.strategy": "auto",
}


def scale_settings(spec: JobSpec) -> dict[str, Any]:
    return {key: getattr(getattr(spec, key.split(".")[0]), key.split(".")[1]) for key in SCALE_DEFAULTS}


def load_modules(env: dict[str, str] | None = None) -> list[str]:
    """Import the recipe modules named in ``SPARKTRAINER_RECIPE_MODULES``; returns their names.
    A module that cannot be imported is an error with its name: a daemon that silently lacked a
    recipe would fail its jobs with a stranger sentence later."""
    value = (env if env is not None else os.environ).get(MODULES_ENV, "")
    loaded = []
    for name in (n.strip() for n in value.split(",")):
        if not name:
            continue
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise ImportError(
                f"{MODULES_ENV} names the recipe module '{name}', which cannot be imported: {err}"
            ) from err
        loaded.append(name)
    return loaded


__all__ = [
    "MODULES_ENV",
    "SCALE_DEFAULTS",
    "DatasetRule",
    "FormField",
    "Recipe",
    "UnknownRecipe",
    "builtin_models",
    "check_spec",
    "default",
    "get",
    "infer",
    "load",
    "load_modules",
    "names",
    "recipes",
    "register",
    "scale_settings",
]
