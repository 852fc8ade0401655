"""The daemon's versioned HTTP/JSON API (``/v1``), served on a Unix socket.

Every request passes the edge (``api/edge.py``): bounded bodies, bounded integers, no NULs,
and a 4xx with ``problems`` naming the field and why. Spec checks that read the disk run on a
thread pool. ``GET /v1/events`` streams newline-delimited JSON events."""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from trainer_runtime import __version__
from trainer_runtime.api import gpus, graphs
from trainer_runtime.api.datasets import DatasetsApi
from trainer_runtime.api.edge import (
    DATA_DIR,
    DESCRIBE_DB,
    MAX_JSON_BODY,
    AbsPath,
    Count,
    Id,
    Query,
    Strict,
    errors_middleware,
    json_body,
    query,
)
from trainer_runtime.api.labels import LabelsApi
from trainer_runtime.jobs.checks import check_inputs
from trainer_runtime.jobs.spec import JobSpec, SpecError, parse_spec, resolve_paths
from trainer_runtime.jobs.state import JobState
from trainer_runtime.userfiles import check_folder

log = logging.getLogger(__name__)
API_VERSION = "v1"
INPUT_CHECKERS = 2  # threads that check specs' inputs (they read and walk user-named files)
SPEC_PATHS = (("dataset", "path"), ("model", "path"), ("model", "graph"))


class MetricsQuery(Query):
    key: str | None = Field(None, min_length=1, max_length=100)
    attempt: Count | None = None
    after_id: Id = 0
    limit: int | None = Field(None, ge=1, le=1_000_000)


class LogsQuery(Query):
    offset: Id = 0
    limit: int = Field(256 * 1024, ge=1, le=16 << 20)
    attempt: Count | None = None


class ListQuery(Query):
    state: list[JobState] | None = Field(None, max_length=20)


class EventsQuery(Query):
    types: list[Annotated[str, Field(max_length=50)]] | None = Field(None, max_length=50)
    job_id: str | None = Field(None, max_length=100)


class SubmitBody(Strict):
    spec: dict[str, Any]
    base_dir: AbsPath | None = Field(
        None, description="folder that relative dataset/model paths are relative to"
    )


def parse_submitted(body: SubmitBody) -> JobSpec:
    """The spec of a submit or validate request (blocking: it looks at the disk). Relative
    paths resolve against ``base_dir``; without one they are refused (the daemon does not
    share the client's working directory)."""
    spec = body.spec
    if body.base_dir:
        check_folder(body.base_dir, "base_dir")
        spec = resolve_paths(spec, Path(body.base_dir))
    parsed = parse_spec(spec)
    for section, key in SPEC_PATHS:
        value = getattr(getattr(parsed, section), key)
        if value and not Path(value).is_absolute():
            raise SpecError([(f"{section}.{key}", "give an absolute path, or send base_dir with the spec")])
    return parsed


class Api:
    def __init__(self, daemon: Any):  # trainer_runtime.daemon.Daemon (kept loose to avoid a cycle)
        self.d = daemon
        self.datasets = DatasetsApi(daemon)
        self.labels = LabelsApi(daemon, self.datasets)
        self.checks = ThreadPoolExecutor(INPUT_CHECKERS, thread_name_prefix="input-checks")

    def app(self) -> web.Application:
        app = web.Application(middlewares=[errors_middleware], client_max_size=MAX_JSON_BODY)
        app[DATA_DIR] = str(self.d.data.root)
        app[DESCRIBE_DB] = self.d.store.describe_error
        r = app.router
        r.add_get("/v1/status", self.status)
        r.add_post("/v1/shutdown", self.shutdown)
        r.add_post("/v1/specs/validate", self.validate_spec)
        r.add_get("/v1/jobs", self.list_jobs)
        r.add_post("/v1/jobs", self.submit)
        r.add_get("/v1/jobs/{id}", self.show)
        r.add_delete("/v1/jobs/{id}", self.delete)
        r.add_get("/v1/jobs/{id}/metrics", self.metrics)
        r.add_get("/v1/jobs/{id}/transitions", self.transitions)
        r.add_get("/v1/jobs/{id}/artifacts", self.artifacts)
        r.add_get("/v1/jobs/{id}/logs", self.logs)
        for action in ("pause", "resume", "cancel"):
            r.add_post(f"/v1/jobs/{{id}}/{action}", self._action(action))
        r.add_post("/v1/jobs/{id}/restart", self.restart)
        r.add_get("/v1/events", self.events)
        gpus.register(r, self.d)
        graphs.register(r)
        self.datasets.register(app)
        self.labels.register(app)
        app.on_cleanup.append(self._close)
        return app

    async def _close(self, app: web.Application) -> None:
        self.checks.shutdown(wait=False, cancel_futures=True)

    async def _checking(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` on the input-check pool: never on the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.checks, fn, *args)

    # ------------------------------------------------------------------ basics
    async def status(self, request: web.Request) -> web.Response:
        return web.json_response(await self.d.status_view())

    async def shutdown(self, request: web.Request) -> web.Response:
        asyncio.get_running_loop().call_later(0.05, self.d.request_stop)
        return web.json_response({"stopping": True})

    async def _spec(self, request: web.Request) -> JobSpec:
        """The request's spec, resolved (a dataset name pinned to a version) and its inputs checked."""
        body = await json_body(request, SubmitBody)
        spec = await self.datasets.resolve_spec(await self._checking(parse_submitted, body))
        await self._checking(check_inputs, spec)
        return spec

    async def validate_spec(self, request: web.Request) -> web.Response:
        spec = await self._spec(request)
        return web.json_response({"valid": True, "spec": spec.to_dict()})

    # -------------------------------------------------------------------- jobs
    async def list_jobs(self, request: web.Request) -> web.Response:
        q = query(request, ListQuery, multi=("state",))
        body = await self.d.job_list_json([s.value for s in q.state] if q.state else None)
        return web.Response(body=body, content_type="application/json")

    async def submit(self, request: web.Request) -> web.Response:
        spec = await self._spec(request)
        job = self.d.supervisor.submit(spec, inputs_checked=True)
        self.d.wake()  # place it now, not at the next tick
        return web.json_response({"job": self.d.job_view(job)}, status=201)

    async def show(self, request: web.Request) -> web.Response:
        job = self.d.store.get_job(request.match_info["id"])
        return web.json_response({"job": self.d.job_view(job)})

    async def delete(self, request: web.Request) -> web.Response:
        self.d.supervisor.delete(request.match_info["id"])
        return web.json_response({"deleted": request.match_info["id"]})

    def _action(self, name: str):  # noqa: ANN202
        async def handler(request: web.Request) -> web.Response:
            job = getattr(self.d.supervisor, name)(request.match_info["id"])
            self.d.wake()
            return web.json_response({"job": self.d.job_view(job)})

        return handler

    async def restart(self, request: web.Request) -> web.Response:
        job_id = request.match_info["id"]
        spec = self.d.store.get_job(job_id).spec  # JobNotFound → 404
        problem = await self._checking(_inputs_problem, spec)
        job = self.d.supervisor.restart(job_id, inputs_checked=True, inputs_problem=problem)
        self.d.wake()
        return web.json_response({"job": self.d.job_view(job)})

    async def metrics(self, request: web.Request) -> web.Response:
        q = query(request, MetricsQuery)
        points = self.d.store.metrics(request.match_info["id"], q.key, q.attempt, q.after_id, q.limit)
        return web.json_response(
            {"points": [p.to_json() for p in points], "last_id": points[-1].id if points else q.after_id}
        )

    async def transitions(self, request: web.Request) -> web.Response:
        rows = self.d.store.transitions(request.match_info["id"])
        return web.json_response({"transitions": [t.to_json() for t in rows]})

    async def artifacts(self, request: web.Request) -> web.Response:
        rows = self.d.store.artifacts(request.match_info["id"])
        return web.json_response({"artifacts": [a.to_json() for a in rows]})

    async def logs(self, request: web.Request) -> web.Response:
        q = query(request, LogsQuery)
        job = self.d.store.get_job(request.match_info["id"])
        path = self.d.data.job_dir(job.id, q.attempt or job.attempt) / "log.txt"

        def read() -> tuple[int, str]:
            try:
                with path.open("rb") as fh:
                    fh.seek(q.offset)
                    chunk = fh.read(q.limit)
            except FileNotFoundError:
                chunk = b""
            return len(chunk), self.d.supervisor.redactor(chunk.decode("utf-8", errors="replace"))

        size, text = await asyncio.to_thread(read)
        return web.json_response({"text": text, "offset": q.offset + size, "state": job.state})

    # ------------------------------------------------------------------ events
    async def events(self, request: web.Request) -> web.StreamResponse:
        q = query(request, EventsQuery, multi=("types",))
        sub = self.d.bus.subscribe(set(q.types) if q.types else None, q.job_id)
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        try:
            await resp.write(
                json.dumps({"type": "hello", "version": __version__, "api": API_VERSION}).encode() + b"\n"
            )
            while True:
                try:
                    event = await asyncio.wait_for(sub.queue.get(), timeout=15)
                except TimeoutError:
                    event = {"type": "heartbeat"}
                if event is None:
                    if sub.lagged:
                        await resp.write(b'{"type": "lagged"}\n')
                    break
                await resp.write(json.dumps(event).encode() + b"\n")
        except ConnectionResetError:
            log.debug("event stream client went away")
        finally:
            sub.close()
        return resp


def _inputs_problem(spec: dict[str, Any]) -> str | None:
    """Why a stored spec's inputs cannot run again (blocking), or None."""
    try:
        check_inputs(parse_spec(spec))
    except SpecError as err:
        return str(err)
    return None
