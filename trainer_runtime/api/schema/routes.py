"""Every route of the API, declared once with its models.

A module that serves routes declares them at import time::

    LIST_JOBS = declare("GET", "/v1/jobs", "List jobs", response=JobList, query=ListQuery)

and answers with ``reply(LIST_JOBS, value)``. The OpenAPI document (``openapi.py``) and the
contract test read ``ROUTES``; a route the server adds without declaring it is found by the
test that compares ``ROUTES`` with the aiohttp router.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from trainer_runtime.api.schema.base import dump


@dataclass(frozen=True)
class Route:
    method: str  # GET, POST, PUT, DELETE
    path: str  # aiohttp's form: /v1/jobs/{id}
    summary: str  # one line for the document
    response: Any  # the model (or list[...] / union) of a successful answer; None: a stream
    body: Any = None  # the request body's model
    query: Any = None  # the query string's model
    status: int = 200  # the status of a successful answer
    stream: str | None = None  # a streamed answer's media type (application/x-ndjson)
    item: Any = None  # a stream's item model (the Event union)


ROUTES: dict[tuple[str, str], Route] = {}


def declare(
    method: str,
    path: str,
    summary: str,
    *,
    response: Any,
    body: Any = None,
    query: Any = None,
    status: int = 200,
    stream: str | None = None,
    item: Any = None,
) -> Route:
    route = Route(method.upper(), path, summary, response, body, query, status, stream, item)
    key = (route.method, route.path)
    if key in ROUTES and ROUTES[key] != route:
        raise ValueError(f"route {method} {path} is declared twice")
    ROUTES[key] = route
    return route


def mount(router: web.UrlDispatcher, route: Route, handler: Any) -> None:
    """Serve ``route`` with ``handler`` under the method and path it was declared with."""
    router.add_route(route.method, route.path, handler)


def reply(route: Route, value: Any, status: int | None = None) -> web.Response:
    """The answer of ``route``: ``value`` serialised as its response model."""
    return web.Response(
        body=dump(route.response, value), status=status or route.status, content_type="application/json"
    )


__all__ = ["ROUTES", "Route", "declare", "mount", "reply"]
