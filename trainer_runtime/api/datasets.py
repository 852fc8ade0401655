"""``/v1/datasets/...``: detect/preview, background imports with progress events and cancel,
versions, diff, verify, quality, rollback and delete. Blocking work (reading and hashing
files) runs on a thread pool, never on the event loop; progress is handed back to the loop
with ``call_soon_threadsafe`` and published as ``dataset_import`` events."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from trainer_runtime.api.edge import (
    AbsPath,
    BadRequest,
    Count,
    Id,
    PlainStr,
    Query,
    Strict,
    disk_full,
    json_body,
    query,
    url_int,
)
from trainer_runtime.datasets.errors import DatasetError, ImportCancelled
from trainer_runtime.datasets.limits import Limits
from trainer_runtime.datasets.service import DatasetService
from trainer_runtime.jobs import recipes
from trainer_runtime.jobs.spec import JobSpec, SpecError, parse_spec
from trainer_runtime.userfiles import check_file_or_folder

log = logging.getLogger(__name__)
KEEP_FINISHED = 100  # finished imports remembered for status queries
MAX_PAGE = 100_000  # entries of a version in one answer


Word = Annotated[PlainStr, Field(min_length=1, max_length=100)]


class DetectBody(Strict):
    path: AbsPath
    format: Word | None = None
    modality: Word | None = None


class ImportBody(DetectBody):
    name: Annotated[PlainStr, Field(min_length=1, max_length=80)]
    keep_corrupt: bool = False
    link: bool = Field(False, description="hard-link the source files into storage instead of copying")


class VersionBody(Strict):
    version: Count | Literal["latest"] = "latest"


class QualityBody(VersionBody):
    gates: list[Word] | None = Field(None, max_length=20)
    near_threshold: int = Field(4, ge=0, le=32)
    max_text_chars: int = Field(20_000, ge=1, le=100_000_000)


class RollbackBody(Strict):
    version: Count


class EntriesQuery(Query):
    offset: Id = 0
    limit: int = Field(1000, ge=1, le=1 << 62)  # pages are cut to MAX_PAGE


class DiffQuery(Query):
    a: str = Field(..., max_length=30)
    b: str = Field(..., max_length=30)


@dataclass
class ImportTask:
    id: str
    name: str
    source: str
    state: str = "running"  # running | completed | failed | cancelled
    phase: str = "queued"
    done: int = 0
    total: int = 0
    error: str | None = None
    version: dict[str, Any] | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    def view(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "cancel"}


def _check_source(path: str) -> None:
    """A dataset source that exists is a regular file or a folder: not a FIFO (a reader would
    block a pool thread for good), a device or a file under /proc or /sys. (A missing one is
    the importer's to name.)"""
    if os.path.lexists(path):
        check_file_or_folder(path, "the dataset source")


class DatasetsApi:
    def __init__(self, daemon: Any):
        self.d = daemon
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="datasets")
        # imports take the store's write lock one at a time; they queue on their own thread
        self.import_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dataset-import")
        self.tasks: dict[str, ImportTask] = {}
        self._service: DatasetService | None = None
        self._service_lock = threading.Lock()

    def set_limits(self, limits: Limits) -> None:
        """New import limits (PUT /v1/settings): the next import, preview or report reads them."""
        with self._service_lock:
            if self._service is not None:
                self._service.importer.limits = limits

    @property
    def service(self) -> DatasetService:
        with self._service_lock:
            if self._service is None:
                limits = self.d.settings.import_limits.apply()
                service = DatasetService(self.d.data.datasets, self.d.store.engine, limits)
                # Staging leftovers of a crash, before any import may run. Never blobs: the daemon
                # runs only on this data dir's own store, and even then deletes no blob on a guess.
                service.clean_leftovers()
                self._service = service
            return self._service

    def register(self, app: web.Application) -> None:
        r = app.router
        for method, path, handler in (
            ("POST", "/v1/datasets/detect", self.detect),
            ("GET", "/v1/datasets/imports", self.list_imports),
            ("POST", "/v1/datasets/imports", self.start_import),
            ("GET", "/v1/datasets/imports/{id}", self.show_import),
            ("POST", "/v1/datasets/imports/{id}/cancel", self.cancel_import),
            ("GET", "/v1/datasets", self.list_datasets),
            ("GET", "/v1/datasets/{name}", self.show),
            ("GET", "/v1/datasets/{name}/versions", self.versions),
            ("GET", "/v1/datasets/{name}/versions/{version}", self.version),
            ("DELETE", "/v1/datasets/{name}/versions/{version}", self.delete_version),
            ("GET", "/v1/datasets/{name}/diff", self.diff),
            ("POST", "/v1/datasets/{name}/verify", self.verify),
            ("POST", "/v1/datasets/{name}/quality", self.quality),
            ("POST", "/v1/datasets/{name}/rollback", self.rollback),
        ):
            r.add_route(method, path, handler)  # errors are answered by api.edge's middleware
        app.on_cleanup.append(self._close)

    async def _close(self, app: web.Application) -> None:
        for task in self.tasks.values():
            task.cancel.set()
        for ex in (self.import_executor, self.executor):
            ex.shutdown(wait=True, cancel_futures=True)

    async def _run(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``self.service.method(*args, **kwargs)`` on the thread pool (the service is made there
        too: its start-up cleaning reads the disk)."""

        def call() -> Any:
            return getattr(self.service, method)(*args, **kwargs)

        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    async def _body(self, request: web.Request, model: type[BaseModel]) -> Any:
        return await json_body(request, model)

    @staticmethod
    def _version(raw: str, field: str = "version") -> int | str:
        if raw == "latest":
            return raw
        try:
            return url_int(raw, field)
        except BadRequest:
            raise BadRequest(
                f"{field} must be a version number or 'latest'", [(field, "not a version")]
            ) from None

    # --------------------------------------------------------------- imports
    async def detect(self, request: web.Request) -> web.Response:
        body = await self._body(request, DetectBody)
        await asyncio.get_running_loop().run_in_executor(self.executor, _check_source, body.path)
        preview = await self._run("preview", body.path, body.format, body.modality)
        return web.json_response({"preview": preview})

    async def start_import(self, request: web.Request) -> web.Response:
        body = await self._body(request, ImportBody)
        from trainer_runtime.datasets.errors import check_name

        check_name(body.name)
        await asyncio.get_running_loop().run_in_executor(self.executor, _check_source, body.path)
        task = ImportTask(uuid.uuid4().hex[:12], body.name, body.path)
        self.tasks[task.id] = task
        finished = [t for t in self.tasks.values() if t.state != "running"]
        for old in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self.tasks[old.id]
        loop = asyncio.get_running_loop()

        def progress(phase: str, done: int, total: int) -> None:
            loop.call_soon_threadsafe(self._progress, task, phase, done, total)

        def work() -> dict[str, Any]:
            return self.service.import_(
                body.path,
                body.name,
                body.format,
                body.modality,
                body.keep_corrupt,
                progress,
                task.cancel,
                body.link,
            ).to_json()

        asyncio.ensure_future(self._finish(task, loop.run_in_executor(self.import_executor, work)))
        self._publish(task)
        return web.json_response({"import": task.view()}, status=202)

    def _progress(self, task: ImportTask, phase: str, done: int, total: int) -> None:
        if task.state != "running":
            return
        task.phase, task.done, task.total = phase, done, total
        self._publish(task)

    async def _finish(self, task: ImportTask, fut: Awaitable[dict[str, Any]]) -> None:
        try:
            task.version = await fut
            task.state, task.phase = "completed", "done"
        except ImportCancelled as err:
            task.state, task.error = "cancelled", str(err)
        except DatasetError as err:
            task.state, task.error = "failed", str(err)
        except Exception as err:  # the task must end with a state; the traceback goes to the log
            full = disk_full(err, str(self.d.data.root))
            if full is None:
                log.exception("dataset import %s failed", task.id)
            task.state = "failed"
            task.error = full or f"internal error ({type(err).__name__}); see daemon.log in the data dir"
        task.finished = time.time()
        self._publish(task)
        if task.state == "completed":
            self.d.bus.publish("dataset_changed", name=task.name)

    def _publish(self, task: ImportTask) -> None:
        self.d.bus.publish("dataset_import", **{"import": task.view()})

    def _task(self, request: web.Request) -> ImportTask:
        task = self.tasks.get(request.match_info["id"])
        if task is None:
            raise DatasetError(f"no import with id '{request.match_info['id']}'")
        return task

    async def list_imports(self, request: web.Request) -> web.Response:
        return web.json_response({"imports": [t.view() for t in self.tasks.values()]})

    async def show_import(self, request: web.Request) -> web.Response:
        return web.json_response({"import": self._task(request).view()})

    async def cancel_import(self, request: web.Request) -> web.Response:
        task = self._task(request)
        if task.state == "running":
            task.cancel.set()
        return web.json_response({"import": task.view()})

    # ----------------------------------------------------------------- reads
    async def list_datasets(self, request: web.Request) -> web.Response:
        rows = await self._run("list_datasets")
        return web.json_response({"datasets": [d.to_json() for d in rows]})

    async def show(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        info = await self._run("get", name)
        return web.json_response({"dataset": info.to_json()})

    async def versions(self, request: web.Request) -> web.Response:
        rows = await self._run("versions", request.match_info["name"])
        return web.json_response({"versions": [v.to_json() for v in rows]})

    async def version(self, request: web.Request) -> web.Response:
        version = self._version(request.match_info["version"])
        q = query(request, EntriesQuery)
        limit = min(q.limit, MAX_PAGE)
        info, page = await self._run("entries_page", request.match_info["name"], version, q.offset, limit)
        return web.json_response({"version": info.to_json(), "entries": page, "offset": q.offset})

    async def diff(self, request: web.Request) -> web.Response:
        if not request.query.get("a") or not request.query.get("b"):
            raise DatasetError("diff needs two versions: ?a=1&b=2")
        q = query(request, DiffQuery)
        a, b = self._version(q.a, "a"), self._version(q.b, "b")
        out = await self._run("diff", request.match_info["name"], a, b)
        return web.json_response({"diff": out})

    async def verify(self, request: web.Request) -> web.Response:
        body = await self._body(request, VersionBody)
        out = await self._run("verify", request.match_info["name"], body.version)
        return web.json_response({"verify": out})

    async def quality(self, request: web.Request) -> web.Response:
        body = await self._body(request, QualityBody)
        name, opts = request.match_info["name"], {"near_threshold": body.near_threshold,
                                                  "max_text_chars": body.max_text_chars}  # fmt: skip
        if body.gates:
            out = await self._run("apply_gates", name, body.version, body.gates, **opts)
            if out["version"] is not None:
                self.d.bus.publish("dataset_changed", name=name)
            return web.json_response({"gates": out})
        return web.json_response({"quality": await self._run("quality", name, body.version, **opts)})

    # ---------------------------------------------------------------- writes
    async def rollback(self, request: web.Request) -> web.Response:
        body = await self._body(request, RollbackBody)
        info = await self._run("rollback", request.match_info["name"], body.version)
        self.d.bus.publish("dataset_changed", name=info.dataset)
        return web.json_response({"version": info.to_json()})

    async def delete_version(self, request: web.Request) -> web.Response:
        version = self._version(request.match_info["version"])
        if not isinstance(version, int):
            raise DatasetError("delete names a version number, not 'latest'")
        out = await self._run("delete_version", request.match_info["name"], version)
        self.d.bus.publish("dataset_changed", name=request.match_info["name"])
        return web.json_response({"deleted": out})

    # ------------------------------------------------------------------ jobs
    async def resolve_spec(self, spec: JobSpec) -> JobSpec:
        """Pin ``dataset: {name, version}`` to a version: its number, manifest hash and a
        read-only file built from its blobs (the worker reads files only). Only the daemon sets
        the hash and the path: a spec sent with them (a job's spec sent again) has its hash
        checked against the store and its path made anew, so a client cannot point a job at
        other files under a dataset's name."""
        ds = spec.dataset
        if ds.name is None:
            return spec
        build = f"materialize_{recipes.get(spec.recipe).dataset.materialize}"  # the recipe says how
        try:
            info, path = await self._run(build, ds.name, ds.version or "latest")
        except DatasetError as err:
            raise SpecError([("dataset.name", str(err))]) from None
        if ds.hash is not None and ds.hash != info.manifest_hash:
            raise SpecError([("dataset.hash", (
                f"version {info.number} of dataset '{ds.name}' has manifest hash {info.manifest_hash[:12]}…, "
                f"not {ds.hash[:12]}…; leave dataset.hash and dataset.path out (the daemon sets them)"))])  # fmt: skip
        data = spec.to_dict()
        data["dataset"] = {
            **data["dataset"],
            "version": info.number,
            "hash": info.manifest_hash,
            "path": str(path),
        }
        return parse_spec(data)
