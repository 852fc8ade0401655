"""The new-job form as plain data: flat field values <-> a JobSpec mapping. No Qt.

The form holds one text value per field, keyed by the spec's dotted path (``train.max_steps``),
so a problem from ``parse_spec`` (``SpecError.problems``) or the daemon (``ApiError.problems``)
lands at the widget of the same key. Spec fields the form has no widget for (``tags``,
``train.weight_decay``, ...) are kept as ``extras`` and merged back, so a spec opened and saved
again loses nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from trainer_runtime.jobs.spec import (
    BUILTIN_MODELS,
    IMAGE_BUILTIN_MODELS,
    IMAGE_RECIPES,
    JobSpec,
    LoraSpec,
    ResourcesSpec,
    SpecError,
    TrainSpec,
    parse_spec,
)

MODEL_SOURCES = ("builtin", "path", "hub_id")
# The recipes the form builds, with what each trains and reads. Image classification trains
# every weight of a small CNN or a local image model folder on an image folder (one sub-folder
# per class) or an imported image dataset: no method, no LoRA, no sequence length, no hub id.
RECIPES = ("causal-lm", "image-classification")
RECIPE_MODELS = {"causal-lm": BUILTIN_MODELS, "image-classification": IMAGE_BUILTIN_MODELS}
TEXT_ONLY_FIELDS = ("method", "train.seq_len", "lora.r", "lora.alpha", "lora.dropout")
INT_FIELDS = (
    "train.max_steps", "train.batch_size", "train.seq_len", "train.seed", "train.warmup_steps",
    "train.eval_every", "train.checkpoint_every", "lora.r", "resources.devices", "priority",
)  # fmt: skip
FLOAT_FIELDS = ("train.lr", "lora.alpha", "lora.dropout")
TEXT_FIELDS = ("name", "experiment", "recipe", "method", "dataset.path")
MODEL_FIELDS = tuple(f"model.{s}" for s in MODEL_SOURCES)
# The dataset is a file (dataset.path) or an imported dataset (dataset.name at dataset.version);
# "dataset.source" says which. The picker for imported datasets is built in code, not in the form.
DATASET_SOURCES = ("path", "stored")
STORED_FIELDS = ("dataset.source", "dataset.name", "dataset.version")
# Every key of the form; "model.source" says which of the model fields is used.
FIELDS = (*TEXT_FIELDS, "model.source", *MODEL_FIELDS, *INT_FIELDS, *FLOAT_FIELDS)

# Where a problem about a whole section is shown.
SECTION_FIELD = {
    "model": "model.source",
    "lora": "lora.r",
    "train": "train.max_steps",
    "dataset": "dataset.path",
}


def _default(model: type, field: str) -> Any:
    return model.model_fields[field].default


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


# A new user's first job: the bundled sample corpus, ready to submit.
SAMPLE_CORPUS = Path(__file__).resolve().parents[3] / "resources" / "samples" / "corpus.txt"

DEFAULTS: dict[str, str] = {
    "name": "tiny-lora",
    "experiment": _default(JobSpec, "experiment"),
    "recipe": _default(JobSpec, "recipe"),
    "method": _default(JobSpec, "method"),
    "model.source": "builtin",
    "model.builtin": BUILTIN_MODELS[0],
    "model.path": "",
    "model.hub_id": "",
    "dataset.path": str(SAMPLE_CORPUS) if SAMPLE_CORPUS.is_file() else "",
    "dataset.source": "path",
    "dataset.name": "",
    "dataset.version": "latest",
    "train.max_steps": "200",  # the only training field without a spec default
    **{
        f"train.{k}": _text(_default(TrainSpec, k))
        for k in ("batch_size", "seq_len", "lr", "seed", "warmup_steps", "eval_every", "checkpoint_every")
    },  # fmt: skip
    "lora.r": _text(_default(LoraSpec, "r")),
    "lora.alpha": _text(_default(LoraSpec, "alpha")),
    "lora.dropout": _text(_default(LoraSpec, "dropout")),
    "resources.devices": _text(_default(ResourcesSpec, "devices")),
    "priority": _text(_default(JobSpec, "priority")),
}

# Fields set for a recipe when the user switches to it, unless they hold a value of the user's
# own (one that is no recipe's default).
# (The sample corpus is no image folder: an image job starts with an empty dataset field.)
RECIPE_DEFAULTS = {
    "causal-lm": {
        "model.builtin": BUILTIN_MODELS[0],
        "train.lr": DEFAULTS["train.lr"],
        "dataset.path": DEFAULTS["dataset.path"],
    },
    "image-classification": {
        "model.builtin": IMAGE_BUILTIN_MODELS[0],
        "train.lr": "0.001",
        "dataset.path": "",
    },
}


def _number(key: str, text: str) -> Any:
    """The number in ``text``, or the text itself so the spec's validation names the problem."""
    s = text.strip()
    try:
        if key in INT_FIELDS:
            return int(s)
        return float(s)
    except ValueError:
        return s


def _put(out: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = out
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def form_to_spec(values: dict[str, str], extras: dict[str, Any] | None = None) -> dict[str, Any]:
    """The spec mapping (not yet validated) for the form's values; empty optional fields are left out."""
    out: dict[str, Any] = {}
    stored = values.get("dataset.source") == "stored"
    for key in TEXT_FIELDS:
        if key == "dataset.path" and stored:
            continue
        text = values.get(key, "").strip()
        if text or key in ("name", "dataset.path"):  # required: validation names them when empty
            _put(out, key, text)
    if stored:
        version = values.get("dataset.version", "latest").strip() or "latest"
        out["dataset"] = {"name": values.get("dataset.name", "").strip(),
                          "version": int(version) if version.isdigit() else version}  # fmt: skip
    source = values.get("model.source", "builtin")
    out["model"] = {source: values.get(f"model.{source}", "").strip()}
    language = is_text_recipe(values.get("recipe", ""))
    if not language:
        out.pop("method", None)
    lora = language and values.get("method") == "lora"
    for key in (*INT_FIELDS, *FLOAT_FIELDS):
        if (key.startswith("lora.") and not lora) or (key in TEXT_ONLY_FIELDS and not language):
            continue
        text = values.get(key, "").strip()
        if text:  # an empty field takes the spec's default (max_steps has none: "Field required")
            _put(out, key, _number(key, text))
    extra = copy.deepcopy(extras or {})
    if not lora:
        extra.pop("lora", None)
    return _merge(out, extra)


def is_text_recipe(recipe: str) -> bool:
    """Whether the recipe trains a language model (method, LoRA and sequence length apply)."""
    return recipe not in (*IMAGE_RECIPES, "graph")


def spec_to_form(data: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """Form values and extras for a spec mapping (valid or not: every value is shown as text)."""
    values = dict(DEFAULTS)
    extras = copy.deepcopy(data)

    def take(dotted: str) -> Any:
        *parents, leaf = dotted.split(".")
        node = extras
        for p in parents:
            node = node.get(p) if isinstance(node, dict) else None
        if not isinstance(node, dict) or leaf not in node:
            return None
        return node.pop(leaf)

    for key in FIELDS:
        if key == "model.source":
            continue
        value = take(key)
        if value is not None:
            values[key] = _text(value)
            if key in MODEL_FIELDS:
                values["model.source"] = key.split(".", 1)[1]
    if values["model.source"] != "builtin":
        values["model.builtin"] = DEFAULTS["model.builtin"]
    dataset = extras.get("dataset")
    if isinstance(dataset, dict) and dataset.get("name") is not None:
        version = dataset.pop("version", None)
        values.update({"dataset.source": "stored", "dataset.name": _text(dataset.pop("name")),
                       "dataset.version": _text(version) or "latest"})  # fmt: skip
        dataset.pop("hash", None)  # pinned again at submit
    for section in ("model", "lora", "dataset", "train", "resources"):
        if extras.get(section) == {}:
            del extras[section]
    train = data.get("train")
    if not (isinstance(train, dict) and "max_steps" in train):
        values["train.max_steps"] = ""  # required: validation says so at the field
    return values, extras


def validate(values: dict[str, str], extras: dict[str, Any] | None = None) -> tuple[JobSpec | None, list]:
    """The JobSpec for the form, or None and the problems [(field path, message)]."""
    try:
        return parse_spec(form_to_spec(values, extras)), []
    except SpecError as err:
        return None, list(err.problems)


def field_for(path: str) -> str | None:
    """The form key a problem's field path is shown at, or None (shown in the general area)."""
    if path in FIELDS:
        return path
    if path.startswith("dataset."):  # dataset.name / dataset.version: shown at the dataset row
        return "dataset.path"
    if path in SECTION_FIELD:
        return SECTION_FIELD[path]
    if path.startswith("model."):
        return "model.source"
    return None


def place_problems(problems: Iterable[tuple[str, str]]) -> tuple[dict[str, list[str]], list[str]]:
    """Split problems into {form key: [messages]} and sentences for the general area."""
    at: dict[str, list[str]] = {}
    general: list[str] = []
    for path, message in problems:
        key = field_for(path)
        if key is None:
            general.append(f"{path}: {message}" if path else message)
        elif message not in at.setdefault(key, []):
            at[key].append(message)
    return at, general
