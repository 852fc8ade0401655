"""``GET /v1/recipes``: the recipe registry as the clients see it (``schema/recipes.py``). The
wizard builds its recipe list and its fields from this answer, so a recipe registered in the
daemon (built-in or from ``SPARKTRAINER_RECIPE_MODULES``) is offered without a GUI change."""

from __future__ import annotations

from aiohttp import web

from trainer_runtime.api.schema.recipes import RecipeList, recipe_list
from trainer_runtime.api.schema.routes import declare, mount, reply

LIST = declare("GET", "/v1/recipes", "Every registered recipe, with its wizard fields", response=RecipeList)


async def list_recipes(request: web.Request) -> web.Response:
    return reply(LIST, recipe_list())


def register(router: web.UrlDispatcher) -> None:
    mount(router, LIST, list_recipes)


__all__ = ["LIST", "register"]
