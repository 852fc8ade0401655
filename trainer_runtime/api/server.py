"""The daemon's versioned HTTP/JSON API (``/v1``), served on a Unix socket.

Every request is validated; a bad field answers 4xx with ``problems`` naming the
field and why. ``GET /v1/events`` streams newline-delimited JSON events."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trainer_runtime import __version__
from trainer_runtime.api import gpus, graphs
from trainer_runtime.api.datasets import DatasetsApi
from trainer_runtime.api.labels import LabelsApi
from trainer_runtime.jobs.spec import SpecError, parse_spec, resolve_paths
from trainer_runtime.jobs.state import IllegalTransition, JobState
from trainer_runtime.store.store import JobNotFound

log = logging.getLogger(__name__)
API_VERSION = "v1"
MAX_BODY = 4 << 20


def _error(status: int, message: str, problems: list[tuple[str, str]] | None = None) -> web.Response:
    body: dict[str, Any] = {"error": message}
    if problems:
        body["problems"] = [{"field": f, "message": m} for f, m in problems]
    return web.json_response(body, status=status)


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MetricsQuery(_Query):
    key: str | None = Field(None, min_length=1, max_length=100)
    attempt: int | None = Field(None, ge=1)
    after_id: int = Field(0, ge=0)
    limit: int | None = Field(None, ge=1, le=1_000_000)


class LogsQuery(_Query):
    offset: int = Field(0, ge=0)
    limit: int = Field(256 * 1024, ge=1, le=16 << 20)
    attempt: int | None = Field(None, ge=1)


class ListQuery(_Query):
    state: list[JobState] | None = None


class EventsQuery(_Query):
    types: list[str] | None = None
    job_id: str | None = None


class SubmitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    spec: dict[str, Any]
    base_dir: str | None = Field(None, description="folder that relative dataset/model paths are relative to")


def _validate(model: type[BaseModel], data: dict[str, Any], where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            msg = "unknown field" if e["type"] == "extra_forbidden" else e["msg"]
            problems.append((".".join(str(p) for p in e["loc"]), msg))
        raise _Invalid(f"invalid {where}", problems) from None


class _Invalid(Exception):
    def __init__(self, message: str, problems: list[tuple[str, str]]):
        super().__init__(message)
        self.problems = problems


def _query(request: web.Request, multi: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in request.query:
        values = request.query.getall(key)
        out[key] = [v for raw in values for v in raw.split(",") if v] if key in multi else values[-1]
    return out


@web.middleware
async def errors_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
):
    try:
        return await handler(request)
    except _Invalid as err:
        return _error(400, str(err), err.problems)
    except SpecError as err:
        return _error(400, f"invalid job spec: {err}", err.problems)
    except JobNotFound as err:
        return _error(404, str(err))
    except IllegalTransition as err:
        return _error(409, str(err))
    except web.HTTPException:
        raise
    except Exception:  # the API must answer; the traceback goes to the daemon log
        log.exception("unhandled error in %s %s", request.method, request.path)
        return _error(500, "internal error in the daemon; see daemon.log in the data dir")


class Api:
    def __init__(self, daemon: Any):  # trainer_runtime.daemon.Daemon (kept loose to avoid a cycle)
        self.d = daemon
        self.datasets = DatasetsApi(daemon)
        self.labels = LabelsApi(daemon, self.datasets)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[errors_middleware], client_max_size=MAX_BODY)
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
        for action in ("pause", "resume", "cancel", "restart"):
            r.add_post(f"/v1/jobs/{{id}}/{action}", self._action(action))
        r.add_get("/v1/events", self.events)
        gpus.register(r, self.d)
        graphs.register(r)
        self.datasets.register(app)
        self.labels.register(app)
        return app

    # ------------------------------------------------------------------ basics
    async def status(self, request: web.Request) -> web.Response:
        return web.json_response(await self.d.status_view())

    async def shutdown(self, request: web.Request) -> web.Response:
        asyncio.get_running_loop().call_later(0.05, self.d.request_stop)
        return web.json_response({"stopping": True})

    async def _json(self, request: web.Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise _Invalid("request body is not valid JSON", [("", str(err))]) from None
        if not isinstance(data, dict):
            raise _Invalid("request body must be a JSON object", [("", f"got {type(data).__name__}")])
        return data

    async def _spec(self, request: web.Request):  # noqa: ANN202
        body = _validate(SubmitBody, await self._json(request), "request")
        spec = body.spec
        if body.base_dir:
            from pathlib import Path

            spec = resolve_paths(spec, Path(body.base_dir))
        return await self.datasets.resolve_spec(parse_spec(spec))

    async def validate_spec(self, request: web.Request) -> web.Response:
        from trainer_runtime.jobs.checks import check_inputs

        spec = await self._spec(request)
        check_inputs(spec)
        return web.json_response({"valid": True, "spec": spec.to_dict()})

    # -------------------------------------------------------------------- jobs
    async def list_jobs(self, request: web.Request) -> web.Response:
        q = _validate(ListQuery, _query(request, multi=("state",)), "query")
        body = await self.d.job_list_json([s.value for s in q.state] if q.state else None)
        return web.Response(body=body, content_type="application/json")

    async def submit(self, request: web.Request) -> web.Response:
        spec = await self._spec(request)
        job = self.d.supervisor.submit(spec)
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

    async def metrics(self, request: web.Request) -> web.Response:
        q = _validate(MetricsQuery, _query(request), "query")
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
        q = _validate(LogsQuery, _query(request), "query")
        job = self.d.store.get_job(request.match_info["id"])
        path = self.d.data.job_dir(job.id, q.attempt or job.attempt) / "log.txt"
        try:
            with path.open("rb") as fh:
                fh.seek(q.offset)
                chunk = fh.read(q.limit)
        except FileNotFoundError:
            chunk = b""
        text = self.d.supervisor.redactor(chunk.decode("utf-8", errors="replace"))
        return web.json_response({"text": text, "offset": q.offset + len(chunk), "state": job.state})

    # ------------------------------------------------------------------ events
    async def events(self, request: web.Request) -> web.StreamResponse:
        q = _validate(EventsQuery, _query(request, multi=("types",)), "query")
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
