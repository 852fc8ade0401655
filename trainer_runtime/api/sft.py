"""``POST /v1/sft/preview``: what an SFT job would train on, before it is submitted.

The preview needs a tokenizer and the job's batching (transformers, torch), which the daemon
never imports, so the work runs in a child process (``python -m trainer_runtime.worker.sft_preview``)
started and awaited from the daemon's input-check threads (``Api._checking``): the event loop only
parses the body and sends the answer. An imported dataset is first built into its files as the
sft recipe's jobs get them (``DatasetRule.materialize``), so the preview reads what the job reads.

A problem the user must fix (a mapping naming fields that are not there, a template that does
not exist or cannot render an example, a model without a tokenizer) is a 400 whose ``problems``
name the spec field, so the wizard shows the daemon's sentence at that field.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from trainer_runtime.api.edge import BadRequest, json_body
from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.routes import declare, mount, reply
from trainer_runtime.api.schema.sft import SftPreview, SftPreviewRequest
from trainer_runtime.jobs import recipes
from trainer_runtime.userfiles import check_file

log = logging.getLogger(__name__)
PREVIEW_TIMEOUT_S = 180.0  # a built-in model's BPE is trained on the whole dataset, as the job does
RECIPE = "sft"
CHILD = "trainer_runtime.worker.sft_preview"

PREVIEW = declare(
    "POST", "/v1/sft/preview",
    "Render a few examples with their trained tokens, the length histogram and the first batch of an SFT job",
    response=SftPreview, body=SftPreviewRequest,
)  # fmt: skip

Checking = Callable[..., Awaitable[Any]]


def run_child(request: dict[str, Any], timeout: float = PREVIEW_TIMEOUT_S) -> dict[str, Any]:
    """The child's answer to ``request`` (blocking: run it on the input-check pool)."""
    path = Path(request["dataset"]["path"])
    check_file(path, "dataset file")  # not a FIFO, device or /proc file; readable
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", CHILD], input=json.dumps(request).encode(), capture_output=True,
            timeout=timeout, env=env, start_new_session=True, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise BadRequest(
            f"the preview of {path.name} took longer than {timeout:.0f} s and was stopped; preview a smaller "
            "file (the job itself is not limited)",
            status=504,
        ) from None
    lines = proc.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        return dict(json.loads(lines[-1]))
    except (IndexError, json.JSONDecodeError):
        err = proc.stderr.decode("utf-8", "replace")
        log.error("the SFT preview process failed (exit %s): %s", proc.returncode, err[-4000:])
        tail = (err.strip().splitlines() or ["no output"])[-1][:300]
        raise BadRequest(
            f"the preview process stopped without an answer ({tail}); see daemon.log", status=500
        ) from None


def register(router: web.UrlDispatcher, daemon: Any, checking: Checking, datasets: Any) -> None:
    """Serve the preview. ``checking(fn, *args)`` runs ``fn`` on the daemon's input-check pool
    (``Api._checking``); ``datasets`` (``DatasetsApi``) builds an imported dataset's files."""

    async def preview(request: web.Request) -> web.Response:
        body: SftPreviewRequest = await json_body(request, SftPreviewRequest)
        ds = body.dataset
        if (ds.path is None) == (ds.name is None):
            raise BadRequest(
                "give the dataset as a file (dataset.path) or an imported dataset (dataset.name), one of them",
                [("dataset.path", "give dataset.path or dataset.name")],
            )
        path = ds.path
        if ds.name is not None:
            build = f"materialize_{recipes.get(RECIPE).dataset.materialize}"
            _info, built = await datasets._run(build, ds.name, ds.version)  # DatasetError → 400/404
            path = str(built)
        if body.model.builtin is None and body.model.path is None and body.model.hub_id is None:
            raise BadRequest("choose a model to preview with", [("model.source", "choose a model")])
        req = body.model_dump()
        req["dataset"]["path"] = path
        answer = await checking(run_child, req)
        if "error" in answer:
            field = str(answer.get("field") or "")
            raise BadRequest(str(answer["error"]), [(field, str(answer["error"]))] if field else None)
        return reply(PREVIEW, parse(SftPreview, answer["preview"]))

    mount(router, PREVIEW, preview)


__all__ = ["PREVIEW", "register", "run_child"]
