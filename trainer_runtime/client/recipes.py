"""The client's calls for the recipe registry (``GET /v1/recipes``)."""

from __future__ import annotations

from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.recipes import RecipeList, RecipeView
from trainer_runtime.client.transport import Transport


class RecipeCalls(Transport):
    def recipes(self) -> list[RecipeView]:
        """Every recipe the daemon has registered, in its order (the default one is marked)."""
        return parse(RecipeList, self.request("GET", "/v1/recipes")).recipes


__all__ = ["RecipeCalls"]
