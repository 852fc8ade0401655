"""``/v1/datasets/...``: detect/preview, background imports with progress events and cancel,
versions, diff, verify, quality, rollback and delete. Blocking work (reading and hashing
files) runs on a thread pool, never on the event loop; progress is handed back to the loop
with ``call_soon_threadsafe`` and published as ``dataset_import`` events."""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from trainer_runtime.datasets.errors import DatasetError, DatasetNotFound, ImportCancelled
from trainer_runtime.datasets.service import DatasetService
from trainer_runtime.jobs.spec import IMAGE_RECIPES, JobSpec, SpecError, parse_spec

log = logging.getLogger(__name__)
KEEP_FINISHED = 100  # finished imports remembered for status queries
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DetectBody(_Body):
    path: str = Field(..., min_length=1)
    format: str | None = None
    modality: str | None = None

    @field_validator("path")
    @classmethod
    def _absolute(cls, v: str) -> str:
        if not Path(v).expanduser().is_absolute():
            raise ValueError("give an absolute path (the daemon does not share your working directory)")
        return str(Path(v).expanduser())


class ImportBody(DetectBody):
    name: str = Field(..., min_length=1)
    keep_corrupt: bool = False
    link: bool = Field(False, description="hard-link the source files into storage instead of copying")


class VersionBody(_Body):
    version: int | Literal["latest"] = "latest"


class QualityBody(VersionBody):
    gates: list[str] | None = None
    near_threshold: int = Field(4, ge=0, le=32)
    max_text_chars: int = Field(20_000, ge=1)


class RollbackBody(_Body):
    version: int = Field(..., ge=1)


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


def _answer(fn: Handler) -> Handler:
    @functools.wraps(fn)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await fn(request)
        except DatasetNotFound as err:
            return web.json_response({"error": str(err)}, status=404)
        except DatasetError as err:
            return web.json_response({"error": str(err)}, status=400)

    return wrapped


class DatasetsApi:
    def __init__(self, daemon: Any):
        self.d = daemon
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="datasets")
        # imports take the store's write lock one at a time; they queue on their own thread
        self.import_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dataset-import")
        self.tasks: dict[str, ImportTask] = {}
        self._service: DatasetService | None = None
        self._service_lock = threading.Lock()

    @property
    def service(self) -> DatasetService:
        with self._service_lock:
            if self._service is None:
                service = DatasetService(self.d.data.datasets, self.d.store.engine)
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
            r.add_route(method, path, _answer(handler))
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
        from trainer_runtime.api.server import _validate

        try:
            data = await request.json() if request.can_read_body else {}
        except ValueError:
            raise DatasetError("request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise DatasetError("request body must be a JSON object")
        return _validate(model, data, "request")

    @staticmethod
    def _version(raw: str) -> int | str:
        if raw == "latest":
            return raw
        try:
            return int(raw)
        except ValueError:
            raise DatasetError(f"version must be a number or 'latest', not '{raw}'") from None

    # --------------------------------------------------------------- imports
    async def detect(self, request: web.Request) -> web.Response:
        body = await self._body(request, DetectBody)
        preview = await self._run("preview", body.path, body.format, body.modality)
        return web.json_response({"preview": preview})

    async def start_import(self, request: web.Request) -> web.Response:
        body = await self._body(request, ImportBody)
        from trainer_runtime.datasets.errors import check_name

        check_name(body.name)
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
            log.exception("dataset import %s failed", task.id)
            task.state, task.error = "failed", f"internal error ({type(err).__name__}: {err}); see daemon.log"
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
        try:
            offset = max(0, int(request.query.get("offset", "0") or 0))
            limit = max(1, min(int(request.query.get("limit", "1000") or 1000), 100_000))
        except ValueError:
            raise DatasetError("offset and limit must be whole numbers") from None
        info, page = await self._run("entries_page", request.match_info["name"], version, offset, limit)
        return web.json_response({"version": info.to_json(), "entries": page, "offset": offset})

    async def diff(self, request: web.Request) -> web.Response:
        a, b = request.query.get("a"), request.query.get("b")
        if not a or not b:
            raise DatasetError("diff needs two versions: ?a=1&b=2")
        out = await self._run("diff", request.match_info["name"], self._version(a), self._version(b))
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
        read-only file built from its blobs (the worker reads files only)."""
        ds = spec.dataset
        if ds.name is None or ds.hash is not None:
            return spec
        # causal-lm reads one text file; image recipes a folder + labels.json; graph the files
        build = "materialize_text" if spec.recipe == "causal-lm" else "materialize_files"
        if spec.recipe in IMAGE_RECIPES:
            build = "materialize_images"
        try:
            info, path = await self._run(build, ds.name, ds.version or "latest")
        except DatasetError as err:
            raise SpecError([("dataset.name", str(err))]) from None
        data = spec.to_dict()
        data["dataset"] = {
            **data["dataset"],
            "version": info.number,
            "hash": info.manifest_hash,
            "path": str(path),
        }
        return parse_spec(data)
