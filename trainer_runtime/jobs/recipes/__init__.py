"""Recipes: the registry (``registry.py``) and one module per built-in recipe, each registering
itself on import. Importing this package registers the built-ins, then the modules named in
``SPARKTRAINER_RECIPE_MODULES`` (see ``registry``)."""

from __future__ import annotations

from trainer_runtime.jobs.recipes import (  # noqa: F401 - registers them
    causal_lm,
    graph,
    image_classification,
    prelabel,
    sft,
)
from trainer_runtime.jobs.recipes.registry import (
    MODULES_ENV,
    DatasetRule,
    FormField,
    Recipe,
    UnknownRecipe,
    builtin_models,
    check_spec,
    default,
    get,
    infer,
    load,
    load_modules,
    names,
    recipes,
    register,
)

load_modules()

__all__ = [
    "MODULES_ENV",
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
]
