"""The new-job form as plain data: flat field values <-> a JobSpec mapping. No Qt.

The form holds one text value per field, keyed by the spec's dotted path (``train.max_steps``),
so a problem from ``parse_spec`` (``SpecError.problems``) or the daemon (``ApiError.problems``)
lands at the widget of the same key. Spec fields the form has no widget for (``tags``,
``train.weight_decay``, ...) are kept as ``extras`` and merged back, so a spec opened and saved
again loses nothing.

What a recipe sends (its fields, their kinds and defaults, its built-in models) is the recipe's
own data from the registry, as ``GET /v1/recipes`` describes it (``Catalog``): no recipe is
named here.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from trainer_runtime.api.schema.recipes import RecipeView, recipe_list
from trainer_runtime.jobs.spec import JobSpec, ResourcesSpec, SpecError, parse_spec

MODEL_SOURCES = ("builtin", "path", "hub_id")
# The keys of the form's own widgets (ui/new_job.ui) for recipe fields. Which of them a recipe
# shows, with which default, bounds and help, is the recipe's field data; a recipe field without
# a widget here is rendered from that data (recipe_fields.py).
RECIPE_WIDGET_FIELDS = (
    "method", "train.max_steps", "train.batch_size", "train.seq_len", "train.lr", "train.seed",
    "train.warmup_steps", "train.eval_every", "train.checkpoint_every", "lora.r", "lora.alpha",
    "lora.dropout", "resources.devices",
)  # fmt: skip
TEXT_FIELDS = ("name", "experiment", "recipe", "dataset.path")
MODEL_FIELDS = tuple(f"model.{s}" for s in MODEL_SOURCES)
# The dataset is a file (dataset.path) or an imported dataset (dataset.name at dataset.version);
# "dataset.source" says which. The picker for imported datasets is built in code, not in the form.
DATASET_SOURCES = ("path", "stored")
STORED_FIELDS = ("dataset.source", "dataset.name", "dataset.version")
# Every widget key of the form; "model.source" says which of the model fields is used.
FIELDS = (*TEXT_FIELDS, "model.source", *MODEL_FIELDS, *RECIPE_WIDGET_FIELDS, "priority")

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
    if isinstance(value, bool):  # a yes/no choice (sft.packing) is offered as "true" / "false"
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


# A new user's first job: the bundled sample corpus, ready to submit.
SAMPLE_CORPUS = Path(__file__).resolve().parents[3] / "resources" / "samples" / "corpus.txt"


class Catalog:
    """The recipes as the daemon describes them (``GET /v1/recipes``), in its order."""

    def __init__(self, views: Iterable[RecipeView]):
        self.views = list(views)
        self._by_name = {r.name: r for r in self.views}

    def get(self, name: str) -> RecipeView | None:
        return self._by_name.get(name)

    def names(self) -> list[str]:
        return [r.name for r in self.views]

    def offered(self) -> list[RecipeView]:
        """The recipes the wizard lists (the others are started from their own panels)."""
        return [r for r in self.views if r.wizard]

    def default(self) -> RecipeView:
        return next((r for r in self.views if r.default), (self.offered() or self.views)[0])

    def kind(self, key: str) -> str | None:
        """The kind (int, float, text...) of a field key, from any recipe that has it."""
        return next((f.kind for r in self.views for f in r.fields if f.key == key), None)

    def is_flag(self, key: str) -> bool:
        """Whether a field is a yes/no choice (its choices "true" and "false"): sent as a boolean."""
        return any(
            f.key == key and f.kind == "choice" and set(f.choices) == {"true", "false"}
            for r in self.views
            for f in r.fields
        )

    def keys(self) -> list[str]:
        """Every recipe field key, in first-seen order."""
        return list(dict.fromkeys(f.key for r in self.views for f in r.fields))


_LOCAL: list[Catalog] = []


def local_catalog() -> Catalog:
    """The registry of this process, described exactly as the daemon describes its own (the same
    code, ``api/schema/recipes.py``): it fills a new wizard until the daemon's answer arrives."""
    if not _LOCAL:
        _LOCAL.append(Catalog(recipe_list().recipes))
    return _LOCAL[0]


SAMPLES = SAMPLE_CORPUS.parent
_SAMPLE_SPECS: dict[str, dict[str, Any] | None] = {}


def sample_spec(recipe: str) -> dict[str, Any] | None:
    """The bundled sample spec of ``recipe`` (a ``resources/samples/*.yaml`` whose ``recipe`` is
    it), its dataset path made absolute, or None. A new wizard for a recipe with a sample starts
    with the sample's values, so what it opens with is the sample that is known to train."""
    if recipe not in _SAMPLE_SPECS:
        import yaml

        found = None
        for path in sorted(SAMPLES.glob("*.yaml")) if SAMPLES.is_dir() else []:
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue
            if isinstance(data, dict) and data.get("recipe") == recipe and found is None:
                ds = data.get("dataset")
                if isinstance(ds, dict) and isinstance(ds.get("path"), str):
                    ds["path"] = str((SAMPLES / ds["path"]).resolve())
                found = data
        _SAMPLE_SPECS[recipe] = found
    return copy.deepcopy(_SAMPLE_SPECS[recipe])


def _dotted(data: dict[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def recipe_defaults(recipe: RecipeView) -> dict[str, str]:
    """The values a recipe starts with: its first built-in model, its fields' defaults, and the
    sample corpus as the dataset of a recipe that reads a text file; over them, the values of
    the bundled sample spec (``sample_spec``) of a recipe that reads another kind of file."""
    text_file = recipe.dataset.materialize == "text" and recipe.dataset.pick == "file"
    out = {
        "model.builtin": recipe.builtin_models[0] if recipe.builtin_models else "",
        "dataset.path": str(SAMPLE_CORPUS) if text_file and SAMPLE_CORPUS.is_file() else "",
    }
    for f in recipe.fields:
        out[f.key] = _text(f.default)
    # a recipe reading a text file keeps the corpus and its fields' defaults (as before samples)
    sample = sample_spec(recipe.name) if recipe.dataset.pick == "file" and not text_file else None
    if sample is not None:
        for key in (*[f.key for f in recipe.fields], "dataset.path", "model.builtin"):
            value = _dotted(sample, key)
            if value is not None and not isinstance(value, (dict, list)):
                out[key] = _text(value)
    return out


def defaults(catalog: Catalog | None = None) -> dict[str, str]:
    """A new form: the default recipe's values over every other recipe field's default."""
    catalog = catalog or local_catalog()
    first = catalog.default()
    out: dict[str, str] = {
        "name": "tiny-lora",
        "experiment": _default(JobSpec, "experiment"),
        "recipe": first.name,
        "model.source": "builtin",
        "model.path": "",
        "model.hub_id": "",
        "dataset.source": "path",
        "dataset.name": "",
        "dataset.version": "latest",
        "resources.devices": _text(_default(ResourcesSpec, "devices")),
        "priority": _text(_default(JobSpec, "priority")),
    }
    for r in reversed(catalog.views):
        out.update({f.key: _text(f.default) for f in r.fields})
    out.update(recipe_defaults(first))
    return out


DEFAULTS: dict[str, str] = defaults()


def _value(kind: str | None, text: str) -> Any:
    """The value of a field's text by its kind: a number for ``int`` and ``float`` (or the text
    itself, so the spec's validation names the problem), the text otherwise."""
    s = text.strip()
    try:
        if kind == "int":
            return int(s)
        if kind == "float":
            return float(s)
    except ValueError:
        return s
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


def sent_keys(recipe: RecipeView | None, values: dict[str, str], catalog: Catalog) -> list[str]:
    """The recipe field keys the form sends: the recipe's own fields (for a recipe the catalog
    lacks, opened from a file: every field, and validation names the recipe), and LoRA's only
    with method lora."""
    keys = [f.key for f in recipe.fields] if recipe is not None else catalog.keys()
    lora = "method" in keys and values.get("method") == "lora"
    return [k for k in keys if lora or not k.startswith("lora.")]


def form_to_spec(
    values: dict[str, str], extras: dict[str, Any] | None = None, catalog: Catalog | None = None
) -> dict[str, Any]:
    """The spec mapping (not yet validated) for the form's values; empty optional fields are left out."""
    catalog = catalog or local_catalog()
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
    keys = sent_keys(catalog.get(values.get("recipe", "")), values, catalog)
    for key in (*keys, "priority"):
        text = values.get(key, "").strip()
        if text and catalog.is_flag(key) and text in ("true", "false"):
            _put(out, key, text == "true")
        elif text:  # an empty field takes the spec's default (max_steps has none: "Field required")
            _put(out, key, _value(catalog.kind(key) or "int", text))
    extra = copy.deepcopy(extras or {})
    if not any(k.startswith("lora.") for k in keys):
        extra.pop("lora", None)
    return _merge(out, extra)


def spec_to_form(
    data: dict[str, Any], catalog: Catalog | None = None
) -> tuple[dict[str, str], dict[str, Any]]:
    """Form values and extras for a spec mapping (valid or not: every value is shown as text).
    Only the fields its recipe shows are taken into the form; the rest stay in the extras."""
    catalog = catalog or local_catalog()
    values = defaults(catalog)
    recipe = catalog.get(str(data.get("recipe", "")))
    if recipe is not None:
        values.update(recipe_defaults(recipe))
        shown = [f.key for f in recipe.fields]
    else:
        shown = [*RECIPE_WIDGET_FIELDS, *catalog.keys()]
    extras = copy.deepcopy(data)

    def take(dotted: str) -> Any:
        *parents, leaf = dotted.split(".")
        node = extras
        for p in parents:
            node = node.get(p) if isinstance(node, dict) else None
        if not isinstance(node, dict) or leaf not in node:
            return None
        return node.pop(leaf)

    for key in dict.fromkeys((*TEXT_FIELDS, *MODEL_FIELDS, "priority", *shown)):
        value = take(key)
        if value is not None:
            values[key] = _text(value)
            if key in MODEL_FIELDS:
                values["model.source"] = key.split(".", 1)[1]
    if values["model.source"] != "builtin":
        values["model.builtin"] = recipe_defaults(recipe or catalog.default())["model.builtin"]
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


def validate(
    values: dict[str, str], extras: dict[str, Any] | None = None, catalog: Catalog | None = None
) -> tuple[JobSpec | None, list]:
    """The JobSpec for the form, or None and the problems [(field path, message)]."""
    try:
        return parse_spec(form_to_spec(values, extras, catalog)), []
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
