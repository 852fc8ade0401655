"""The OpenAPI 3.1 document of the API, built from the route declarations (``routes.ROUTES``).

``GET /v1/openapi.json`` serves it; ``python -m trainer_runtime.api.schema.openapi --markdown``
writes ``docs/api.md`` from it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from trainer_runtime.api.schema.base import adapter
from trainer_runtime.api.schema.routes import ROUTES, Route

REF = "#/components/schemas/{model}"
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "a sentence: what went wrong and what to do"},
        "problems": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                "required": ["field", "message"],
            },
        },
    },
    "required": ["error"],
}


def _load_routes() -> None:
    """Import every module that declares routes (the server imports them all)."""
    import trainer_runtime.api.server  # noqa: F401


def _schema(tp: Any, defs: dict[str, Any], mode: str, inline: bool = False) -> dict[str, Any]:
    """``tp``'s JSON schema; the models it names go to ``defs``, and a model itself is referred
    to by name (so the document and docs/api.md list it once, under its name)."""
    s = adapter(tp).json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
    defs.update(s.pop("$defs", {}))
    if not inline and s.get("type") == "object" and "title" in s and "properties" in s:
        defs[s["title"]] = s
        return {"$ref": REF.format(model=s["title"])}
    return s


def _parameters(route: Route, defs: dict[str, Any]) -> list[dict[str, Any]]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", route.path)
    ]
    if route.query is not None:
        qs = _schema(route.query, defs, "validation", inline=True)  # its fields are the parameters
        required = set(qs.get("required", []))
        for name, prop in qs.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    return params


def document() -> dict[str, Any]:
    from trainer_runtime import __version__

    _load_routes()
    defs: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for route in sorted(ROUTES.values(), key=lambda r: (r.path, r.method)):
        op: dict[str, Any] = {"summary": route.summary, "operationId": _operation_id(route)}
        params = _parameters(route, defs)
        if params:
            op["parameters"] = params
        if route.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema(route.body, defs, "validation")}},
            }
        if route.stream:
            content = {route.stream: {"schema": _schema(route.item, defs, "serialization")}}
        else:
            content = {"application/json": {"schema": _schema(route.response, defs, "serialization")}}
        op["responses"] = {
            str(route.status): {"description": "success", "content": content},
            "4XX": {
                "description": "refused",
                "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
            },
            "5XX": {
                "description": "the daemon could not answer",
                "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
            },
        }
        paths.setdefault(route.path, {})[route.method.lower()] = op
    defs["Error"] = ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {"title": "SparkTrainer runtime API", "version": __version__},
        "paths": paths,
        "components": {"schemas": dict(sorted(defs.items()))},
    }


def _operation_id(route: Route) -> str:
    words = [w for w in re.split(r"[/{}_-]+", route.path.removeprefix("/v1/")) if w]
    return route.method.lower() + "".join(w.capitalize() for w in words)


__all__ = ["document"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--markdown", action="store_true", help="print docs/api.md instead of the JSON")
    args = ap.parse_args(argv)
    doc = document()
    if args.markdown:
        from trainer_runtime.api.schema.markdown import render

        sys.stdout.write(render(doc))
    else:
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
