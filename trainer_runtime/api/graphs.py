"""Architecture graph endpoints (``/v1/graphs/...``).

Import runs the user's model code and torch, so it runs in a child process
(``python -m trainer_runtime.architecture.import_target``) awaited without blocking the loop;
check is pure Python (a 500-node graph in a few ms) and runs on a thread, as a posted graph may
be far larger.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys

from aiohttp import web

from trainer_runtime.api.edge import error_response, json_body
from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.graphs import CheckBody, GraphImported, GraphSummary, ImportBody
from trainer_runtime.api.schema.routes import declare, mount, reply
from trainer_runtime.architecture.graph import Graph
from trainer_runtime.architecture.report import summary

log = logging.getLogger(__name__)
IMPORT_TIMEOUT_S = 300.0

IMPORT = declare(
    "POST", "/v1/graphs/import", "Import a PyTorch module (module:factory) as a graph",
    response=GraphImported, body=ImportBody,
)  # fmt: skip
CHECK = declare(
    "POST", "/v1/graphs/check", "Infer a graph's shapes, parameters and FLOPs, with its problems",
    response=GraphSummary, body=CheckBody,
)  # fmt: skip


async def import_graph(request: web.Request) -> web.Response:
    body: ImportBody = await json_body(request, ImportBody)
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
        return error_response(
            504, f"importing {body.target} took longer than {IMPORT_TIMEOUT_S:.0f} s and was stopped."
        )
    try:
        result = json.loads(out.decode("utf-8", "replace").strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        log.error(
            "graph import of %s crashed (exit %s): %s", body.target, proc.returncode, err.decode()[-4000:]
        )
        return error_response(  # the user's module took the process down: not a daemon fault
            422, f"the import process of {body.target} crashed ({tail[0][:300]}); see daemon.log."
        )
    if "error" in result:
        return error_response(422, result["error"])
    return reply(IMPORT, parse(GraphImported, result))


async def check_graph(request: web.Request) -> web.Response:
    body: CheckBody = await json_body(request, CheckBody)
    # GraphError → 400 naming the node; on a thread: a posted graph may hold thousands of nodes
    out = await asyncio.to_thread(lambda: summary(Graph.from_dict(body.graph, "the posted graph")))
    return reply(CHECK, parse(GraphSummary, out))


def register(router: web.UrlDispatcher) -> None:
    mount(router, IMPORT, import_graph)
    mount(router, CHECK, check_graph)
