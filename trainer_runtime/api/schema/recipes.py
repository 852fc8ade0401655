"""The contract of ``GET /v1/recipes``: every registered recipe with what a client needs to offer
it (title, description, the model sources and built-in models it takes, the dataset it reads)
and the wizard's fields as data (label, kind, default, bounds, help).

A field's default and bounds come from the recipe's entry where it sets them, else from the
spec's own model (``JobSpec``'s pydantic field constraints): a bound is written once, in the
spec, and the wizard shows the same one the daemon enforces.
"""

from __future__ import annotations

from typing import Any, Literal

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, Field

from trainer_runtime.api.schema.base import View
from trainer_runtime.jobs import recipes
from trainer_runtime.jobs.recipes.registry import FormField, Recipe
from trainer_runtime.jobs.spec import Method

FieldKind = Literal["int", "float", "text", "choice", "path", "folder"]


class RecipeField(View):
    key: str = Field(description="the spec's dotted path, e.g. train.lr")
    label: str
    kind: FieldKind
    default: str | int | float | None = Field(description="null: the spec has no default (required)")
    minimum: float | None = Field(description="the smallest value allowed (inclusive), if bounded")
    maximum: float | None = Field(description="the largest value allowed (inclusive), if bounded")
    exclusive_minimum: bool = Field(False, description="minimum itself is refused")
    exclusive_maximum: bool = Field(False, description="maximum itself is refused")
    choices: list[str] = Field(description="the values of a choice field")
    help: str


class RecipeDataset(View):
    materialize: Literal["text", "images", "files"] = Field(
        description="how the daemon builds an imported version for the worker: one text corpus, "
        "an image folder with labels.json, or the files as they are"
    )
    pick: Literal["file", "folder"] = Field(description="what dataset.path names")
    modality: str | None = Field(description="the imported datasets offered (text, image); null: any")
    hint: str = Field(description="what dataset.path is, in a few words")
    suffixes: list[str] = Field(description="a file pick: the suffixes its file dialog and drops take")
    stored_only: bool = Field(description="only an imported dataset (dataset.name) will do")


class RecipeView(View):
    name: str
    title: str
    description: str
    default: bool = Field(description="the recipe of a spec that names none, and of a new wizard")
    wizard: bool = Field(description="offered by the new-job wizard (else started from its own panel)")
    model_sources: list[Literal["builtin", "path", "hub_id", "graph"]]
    builtin_models: list[str]
    methods: list[Method]
    scale: bool = Field(
        description="its trainer takes train.micro_batch_size, gradient_checkpointing, precision and "
        "resources.strategy"
    )
    max_devices: int | None = Field(description="null: any number (DDP)")
    trains: bool = Field(description="false: the job trains nothing (it runs a model)")
    metrics: list[str] = Field(description="the metric keys its worker reports")
    dataset: RecipeDataset
    fields: list[RecipeField] = Field(description="the wizard's fields, in order")


class RecipeList(View):
    recipes: list[RecipeView]


def _spec_field(key: str) -> Any:
    """The pydantic FieldInfo of a dotted spec path, or None (a recipe's own key)."""
    from trainer_runtime.jobs.spec import JobSpec

    model: Any = JobSpec
    info = None
    for part in key.split("."):
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return None
        info = fields[part]
        ann = info.annotation
        model = next(
            (a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)),
            None,
        )
    return info


def field_view(f: FormField) -> RecipeField:
    info = _spec_field(f.key)
    bounds: dict[str, Any] = {"minimum": f.minimum, "maximum": f.maximum}
    exclusive = {"exclusive_minimum": False, "exclusive_maximum": False}
    default = f.default
    if info is not None:
        for m in info.metadata:
            if isinstance(m, (Ge, Gt)) and bounds["minimum"] is None:
                bounds["minimum"] = m.ge if isinstance(m, Ge) else m.gt
                exclusive["exclusive_minimum"] = isinstance(m, Gt)
            elif isinstance(m, (Le, Lt)) and bounds["maximum"] is None:
                bounds["maximum"] = m.le if isinstance(m, Le) else m.lt
                exclusive["exclusive_maximum"] = isinstance(m, Lt)
        if default is None and not info.is_required() and isinstance(info.default, (str, int, float)):
            default = info.default
    return RecipeField(
        key=f.key, label=f.label, kind=f.kind, default=default, choices=list(f.choices), help=f.help,
        **bounds, **exclusive,
    )  # fmt: skip


def recipe_view(r: Recipe) -> RecipeView:
    d = r.dataset
    return RecipeView(
        name=r.name, title=r.title, description=r.description, default=r.default, wizard=r.wizard,
        model_sources=list(r.model_sources), builtin_models=list(r.builtin_models),  # type: ignore[arg-type]
        methods=list(r.methods), scale=r.scale, max_devices=r.max_devices, trains=r.trains,  # type: ignore[arg-type]
        metrics=list(r.metrics), fields=[field_view(f) for f in r.fields],
        dataset=RecipeDataset(materialize=d.materialize, pick=d.pick, modality=d.modality, hint=d.hint,
                              suffixes=list(d.suffixes), stored_only=d.stored_only),
    )  # fmt: skip


def recipe_list() -> RecipeList:
    """Every registered recipe, in registration order (the built-ins first)."""
    return RecipeList(recipes=[recipe_view(r) for r in recipes.recipes()])


__all__ = [
    "RecipeDataset",
    "RecipeField",
    "RecipeList",
    "RecipeView",
    "field_view",
    "recipe_list",
    "recipe_view",
]
