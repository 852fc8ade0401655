"""Architecture graph endpoints (``/v1/graphs/...``).

Import runs the user's model code and torch, so it runs in a child process
(``python -m trainer_runtime.architecture.import_target``) awaited without blocking the loop;
check is pure Python and fast (a 500-node graph in a few ms), so it runs inline.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trainer_runtime.architecture.errors import GraphError
from trainer_runtime.architecture.graph import Graph
from trainer_runtime.architecture.report import summary

log = logging.getLogger(__name__)
IMPORT_TIMEOUT_S = 300.0


class ImportBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: str = Field(..., min_length=3, max_length=500, pattern=r"^[\w.]+:[\w.]+$")
    input_shape: list[int] = Field(..., min_length=1, max_length=8)
    input_dtype: Literal["float", "long"] = "float"
    cwd: str | None = Field(None, description="folder added to the Python path to find the module")


class CheckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    graph: dict[str, Any]


def _fail(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


async def _body(request: web.Request, model: type[BaseModel]) -> BaseModel | web.Response:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return _fail(400, "request body is not valid JSON", problems=[{"field": "", "message": str(err)}])
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = [
            {
                "field": ".".join(str(p) for p in e["loc"]),
                "message": "unknown field" if e["type"] == "extra_forbidden" else e["msg"],
            }
            for e in err.errors()
        ]
        return _fail(400, "invalid request", problems=problems)


async def import_graph(request: web.Request) -> web.Response:
    body = await _body(request, ImportBody)
    if isinstance(body, web.Response):
        return body
    assert isinstance(body, ImportBody)
    if any(s < 1 or s > 1_000_000 for s in body.input_shape):
        return _fail(
            400,
            "invalid request",
            problems=[{"field": "input_shape", "message": "sizes must be 1 to 1000000"}],
        )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "trainer_runtime.architecture.import_target",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    req = json.dumps(body.model_dump()).encode()
    try:
        out, err = await asyncio.wait_for(proc.communicate(req), IMPORT_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return _fail(
            504, f"importing {body.target} took longer than {IMPORT_TIMEOUT_S:.0f} s and was stopped."
        )
    try:
        result = json.loads(out.decode("utf-8", "replace").strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        log.error(
            "graph import of %s crashed (exit %s): %s", body.target, proc.returncode, err.decode()[-4000:]
        )
        return _fail(500, f"the import process of {body.target} crashed ({tail[0][:300]}); see daemon.log.")
    if "error" in result:
        return _fail(422, result["error"])
    return web.json_response(result)


async def check_graph(request: web.Request) -> web.Response:
    body = await _body(request, CheckBody)
    if isinstance(body, web.Response):
        return body
    assert isinstance(body, CheckBody)
    try:
        graph = Graph.from_dict(body.graph, "the posted graph")
    except GraphError as err:
        return _fail(400, err.message, node=err.node_id)
    return web.json_response(summary(graph))


def register(router: web.UrlDispatcher) -> None:
    router.add_post("/v1/graphs/import", import_graph)
    router.add_post("/v1/graphs/check", check_graph)
