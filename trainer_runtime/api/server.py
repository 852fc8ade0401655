"""The daemon's versioned HTTP/JSON API (``/v1``), served on a Unix socket.

Every request passes the edge (``api/edge.py``): bounded bodies, bounded integers, no NULs,
and a 4xx with ``problems`` naming the field and why. Spec checks that read the disk run on a
thread pool. ``GET /v1/events`` streams newline-delimited JSON events.

Every route is declared with its models (``schema/routes.declare``) and answers with
``reply``; ``GET /v1/openapi.json`` serves the document built from those declarations."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from trainer_runtime import __version__
from trainer_runtime.api import gpus, graphs, recipes, settings, sft
from trainer_runtime.api.datasets import DatasetsApi
from trainer_runtime.api.edge import DATA_DIR, DESCRIBE_DB, MAX_JSON_BODY, errors_middleware, json_body, query
from trainer_runtime.api.labels import LabelsApi
from trainer_runtime.api.schema.base import dump, parse
from trainer_runtime.api.schema.events import Event, Heartbeat, Hello, Lagged
from trainer_runtime.api.schema.jobs import (
    ArtifactList,
    ArtifactView,
    DeleteAnswer,
    EventsQuery,
    Generation,
    GenerationList,
    GenerationsQuery,
    JobAnswer,
    JobList,
    ListQuery,
    LogChunk,
    LogsQuery,
    MetricPoint,
    MetricsPage,
    MetricsQuery,
    ShutdownAnswer,
    StatusView,
    SubmitBody,
    TransitionList,
    TransitionView,
    ValidateAnswer,
)
from trainer_runtime.api.schema.routes import declare, mount, reply
from trainer_runtime.jobs.checks import check_inputs
from trainer_runtime.jobs.spec import JobSpec, SpecError, parse_spec, resolve_paths
from trainer_runtime.jobs.state import JobState
from trainer_runtime.jsontext import gc_paused
from trainer_runtime.userfiles import check_folder

log = logging.getLogger(__name__)
API_VERSION = "v1"
INPUT_CHECKERS = 2  # threads that check specs' inputs (they read and walk user-named files)
SPEC_PATHS = (("dataset", "path"), ("model", "path"), ("model", "graph"))


NDJSON = "application/x-ndjson"
STATUS = declare(
    "GET", "/v1/status", "The daemon: version, devices, job counts, MLflow mirror", response=StatusView
)
SHUTDOWN = declare("POST", "/v1/shutdown", "Stop the daemon (workers keep running)", response=ShutdownAnswer)
OPENAPI = declare("GET", "/v1/openapi.json", "This API's OpenAPI 3.1 document", response=dict[str, Any])
VALIDATE = declare(
    "POST", "/v1/specs/validate", "Check a job spec and its inputs", response=ValidateAnswer, body=SubmitBody
)
LIST = declare(
    "GET", "/v1/jobs", "List jobs (newest last), without their specs", response=JobList, query=ListQuery
)
SUBMIT = declare(
    "POST", "/v1/jobs", "Submit a job: checked, created and queued", response=JobAnswer, body=SubmitBody,
    status=201,
)  # fmt: skip
SHOW = declare("GET", "/v1/jobs/{id}", "One job with its spec and metric summaries", response=JobAnswer)
DELETE = declare("DELETE", "/v1/jobs/{id}", "Delete a finished job and its files", response=DeleteAnswer)
METRICS = declare(
    "GET",
    "/v1/jobs/{id}/metrics",
    "A page of a job's metric points",
    response=MetricsPage,
    query=MetricsQuery,
)
TRANSITIONS = declare(
    "GET", "/v1/jobs/{id}/transitions", "A job's state changes, oldest first", response=TransitionList
)
ARTIFACTS = declare(
    "GET", "/v1/jobs/{id}/artifacts", "A job's checkpoints and results", response=ArtifactList
)
LOGS = declare(
    "GET", "/v1/jobs/{id}/logs", "A job's log text from an offset", response=LogChunk, query=LogsQuery
)
GENERATIONS = declare(
    "GET", "/v1/jobs/{id}/generations", "An sft job's answers to its eval prompts, oldest first",
    response=GenerationList, query=GenerationsQuery,
)  # fmt: skip
MAX_GENERATIONS_FILE = 64 << 20  # bytes of generations.jsonl read (8 prompts x 64 tokens: ~1 KiB per eval)
ACTIONS = {
    name: declare("POST", f"/v1/jobs/{{id}}/{name}", summary, response=JobAnswer)
    for name, summary in (
        ("pause", "Pause a running job at its next checkpoint"),
        ("resume", "Queue a paused job again; it resumes from its checkpoint"),
        ("cancel", "Cancel a job (a running worker is stopped)"),
        ("restart", "Run a finished job again as a new attempt"),
    )
}
EVENTS = declare(
    "GET", "/v1/events", "The event stream (one JSON event per line)", response=None, query=EventsQuery,
    stream=NDJSON, item=Event,
)  # fmt: skip


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
    """The jobs routes, and the composition of every domain's routes into one application."""

    def __init__(self, daemon: Any):  # trainer_runtime.daemon.Daemon (kept loose to avoid a cycle)
        self.d = daemon
        self.datasets = DatasetsApi(daemon)
        self.labels = LabelsApi(daemon, self.datasets)
        self.checks = ThreadPoolExecutor(INPUT_CHECKERS, thread_name_prefix="input-checks")
        self._openapi: bytes | None = None

    def app(self) -> web.Application:
        app = web.Application(middlewares=[errors_middleware], client_max_size=MAX_JSON_BODY)
        app[DATA_DIR] = str(self.d.data.root)
        app[DESCRIBE_DB] = self.d.store.describe_error
        r = app.router
        for route, handler in (
            (STATUS, self.status), (SHUTDOWN, self.shutdown), (OPENAPI, self.openapi),
            (VALIDATE, self.validate_spec), (LIST, self.list_jobs), (SUBMIT, self.submit),
            (SHOW, self.show), (DELETE, self.delete), (METRICS, self.metrics),
            (TRANSITIONS, self.transitions), (ARTIFACTS, self.artifacts), (LOGS, self.logs),
            (GENERATIONS, self.generations), (ACTIONS["restart"], self.restart), (EVENTS, self.events),
        ):  # fmt: skip
            mount(r, route, handler)
        for action in ("pause", "resume", "cancel"):
            mount(r, ACTIONS[action], self._action(action))
        gpus.register(r, self.d)
        settings.register(r, self.d)
        graphs.register(r)
        recipes.register(r)
        sft.register(r, self.d, self._checking, self.datasets)
        self.datasets.register(app)
        self.labels.register(app)
        app.on_cleanup.append(self._close)
        return app

    async def _close(self, app: web.Application) -> None:
        self.checks.shutdown(wait=False, cancel_futures=True)

    async def _checking(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` on the input-check pool: never on the event loop. The cyclic collector is
        paused meanwhile: a walk of a 50,000-file folder makes a Path per file, and the full
        collections they set off ran on the checking thread holding the GIL for up to a second
        over the daemon's heap, which stalled the loop as surely as walking on it (the walk's
        objects hold no cycles; they are freed by reference counting)."""
        return await asyncio.get_running_loop().run_in_executor(self.checks, _gc_paused, fn, *args)

    # ------------------------------------------------------------------ basics
    async def status(self, request: web.Request) -> web.Response:
        return reply(STATUS, await self.d.status_view())

    async def shutdown(self, request: web.Request) -> web.Response:
        asyncio.get_running_loop().call_later(0.05, self.d.request_stop)
        return reply(SHUTDOWN, ShutdownAnswer(stopping=True))

    async def openapi(self, request: web.Request) -> web.Response:
        """The document is the same for the daemon's life: built once, on a thread (every
        model's JSON schema takes a while)."""
        if self._openapi is None:
            from trainer_runtime.api.schema.openapi import document

            self._openapi = dump(OPENAPI.response, await asyncio.to_thread(document))
        return web.Response(body=self._openapi, content_type="application/json")

    async def _spec(self, request: web.Request) -> JobSpec:
        """The request's spec, resolved (a dataset name pinned to a version) and its inputs checked."""
        body = await json_body(request, SubmitBody)
        spec = await self.datasets.resolve_spec(await self._checking(parse_submitted, body))
        await self._checking(check_inputs, spec)
        return spec

    async def validate_spec(self, request: web.Request) -> web.Response:
        spec = await self._spec(request)
        return reply(VALIDATE, ValidateAnswer(valid=True, spec=spec.to_dict()))

    # -------------------------------------------------------------------- jobs
    async def list_jobs(self, request: web.Request) -> web.Response:
        """Rendered by the daemon (``JobList``'s shape, checked by the contract test): building
        5,000 models would cost the list its 100 ms."""
        q = query(request, ListQuery, multi=("state",))
        body = await self.d.job_list_json([s.value for s in q.state] if q.state else None)
        return web.Response(body=body, content_type="application/json")

    async def submit(self, request: web.Request) -> web.Response:
        spec = await self._spec(request)
        await self._checking(self.d.credentials.refresh)  # the keyring, read off the loop
        job = self.d.supervisor.submit(spec, inputs_checked=True)
        self.d.wake()  # place it now, not at the next tick
        return reply(SUBMIT, JobAnswer(job=self.d.job_view(job)))

    async def show(self, request: web.Request) -> web.Response:
        job = self.d.store.get_job(request.match_info["id"])
        return reply(SHOW, JobAnswer(job=self.d.job_view(job)))

    async def delete(self, request: web.Request) -> web.Response:
        self.d.supervisor.delete(request.match_info["id"])
        return reply(DELETE, DeleteAnswer(deleted=request.match_info["id"]))

    def _action(self, name: str):
        route = ACTIONS[name]

        async def handler(request: web.Request) -> web.Response:
            job = getattr(self.d.supervisor, name)(request.match_info["id"])
            self.d.wake()
            return reply(route, JobAnswer(job=self.d.job_view(job)))

        return handler

    async def restart(self, request: web.Request) -> web.Response:
        job_id = request.match_info["id"]
        spec = self.d.store.get_job(job_id).spec  # JobNotFound → 404
        problem = await self._checking(_inputs_problem, spec)
        job = self.d.supervisor.restart(job_id, inputs_checked=True, inputs_problem=problem)
        self.d.wake()
        return reply(ACTIONS["restart"], JobAnswer(job=self.d.job_view(job)))

    async def metrics(self, request: web.Request) -> web.Response:
        q = query(request, MetricsQuery)
        points = self.d.store.metrics(request.match_info["id"], q.key, q.attempt, q.after_id, q.limit)
        page = MetricsPage(
            points=[MetricPoint(key=p.key, step=p.step, value=p.value, time=p.time) for p in points],
            last_id=points[-1].id if points else q.after_id,
        )
        return reply(METRICS, page)

    async def transitions(self, request: web.Request) -> web.Response:
        rows = self.d.store.transitions(request.match_info["id"])
        return reply(TRANSITIONS, TransitionList(transitions=[TransitionView(**t.to_json()) for t in rows]))

    async def artifacts(self, request: web.Request) -> web.Response:
        rows = self.d.store.artifacts(request.match_info["id"])
        return reply(ARTIFACTS, ArtifactList(artifacts=[ArtifactView(**a.to_json()) for a in rows]))

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
        return reply(LOGS, LogChunk(text=text, offset=q.offset + size, state=JobState(job.state)))

    async def generations(self, request: web.Request) -> web.Response:
        q = query(request, GenerationsQuery)
        job = self.d.store.get_job(request.match_info["id"])
        path = self.d.data.job_dir(job.id, q.attempt or job.attempt) / "generations.jsonl"
        items = await asyncio.to_thread(read_generations, path)
        return reply(GENERATIONS, GenerationList(generations=items))

    # ------------------------------------------------------------------ events
    async def events(self, request: web.Request) -> web.StreamResponse:
        q = query(request, EventsQuery, multi=("types",))
        sub = self.d.bus.subscribe(set(q.types) if q.types else None, q.job_id)
        resp = web.StreamResponse(headers={"Content-Type": NDJSON})
        await resp.prepare(request)
        try:
            await resp.write(_line(Hello(type="hello", version=__version__, api=API_VERSION)))
            while True:
                try:
                    event = await asyncio.wait_for(sub.queue.get(), timeout=15)
                except TimeoutError:
                    await resp.write(_line(Heartbeat(type="heartbeat")))
                    continue
                if event is None:
                    if sub.lagged:
                        await resp.write(_line(Lagged(type="lagged")))
                    break
                line = _event_line(event)
                if line is not None:
                    await resp.write(line)
        except ConnectionResetError:
            log.debug("event stream client went away")
        finally:
            sub.close()
        return resp


def _line(event: Any) -> bytes:
    return dump(Event, event) + b"\n"


def _event_line(event: dict[str, Any]) -> bytes | None:
    """A bus event as a line of the stream, through the ``Event`` union; an event that does not
    fit the contract is a daemon bug: logged with what did not fit and left out of the stream
    (a client must never have to guess at its shape)."""
    try:
        return _line(parse(Event, event))
    except ValidationError as err:
        log.error(
            "left a %r event out of the stream: it does not fit the contract: %s", event.get("type"), err
        )
        return None


def read_generations(path: Path) -> list[Generation]:
    """The whole lines of a worker's generations.jsonl (a line being written, or one that does not
    fit the contract, is left out; the worker appends whole lines)."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_GENERATIONS_FILE)
    except FileNotFoundError:
        return []
    out = []
    for raw in data[: data.rfind(b"\n") + 1].splitlines():
        try:
            out.append(Generation.model_validate_json(raw))
        except ValidationError:
            log.warning("%s: a line that is not a generation was left out", path)
    return out


def _gc_paused(fn: Any, *args: Any) -> Any:
    with gc_paused():
        return fn(*args)


def _inputs_problem(spec: dict[str, Any]) -> str | None:
    """Why a stored spec's inputs cannot run again (blocking), or None."""
    try:
        check_inputs(parse_spec(spec))
    except SpecError as err:
        return str(err)
    return None
