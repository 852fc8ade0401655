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
from typing import Any

from aiohttp import web

from trainer_runtime.api.edge import BadRequest, disk_full, json_body, query, url_int
from trainer_runtime.api.schema import datasets as s
from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.routes import Route, declare, mount, reply
from trainer_runtime.datasets import formats
from trainer_runtime.datasets.errors import DatasetError, ImportCancelled
from trainer_runtime.datasets.limits import Limits
from trainer_runtime.datasets.service import DatasetService
from trainer_runtime.datasets.tasks import ImportState, ImportTask
from trainer_runtime.jobs import recipes
from trainer_runtime.jobs.spec import JobSpec, SpecError, parse_spec
from trainer_runtime.userfiles import check_file_or_folder

log = logging.getLogger(__name__)
KEEP_FINISHED = 100  # finished imports remembered for status queries
MAX_PAGE = 100_000  # entries of a version in one answer

_D, _V = "/v1/datasets/{name}", "/v1/datasets/{name}/versions/{version}"
FORMATS = declare("GET", "/v1/datasets/formats", "What can be imported: suffixes, formats, modalities",
                  response=s.FormatsView)  # fmt: skip
DETECT = declare("POST", "/v1/datasets/detect", "Preview an import: format, counts, classes, samples",
                 response=s.PreviewAnswer, body=s.DetectRequest)  # fmt: skip
LIST_IMPORTS = declare("GET", "/v1/datasets/imports", "List recent imports", response=s.ImportList)
START_IMPORT = declare("POST", "/v1/datasets/imports", "Start an import in the background",
                       response=s.ImportAnswer, body=s.ImportRequest, status=202)  # fmt: skip
SHOW_IMPORT = declare("GET", "/v1/datasets/imports/{id}", "An import's progress", response=s.ImportAnswer)
CANCEL_IMPORT = declare("POST", "/v1/datasets/imports/{id}/cancel", "Cancel a running import",
                        response=s.ImportAnswer)  # fmt: skip
LIST = declare("GET", "/v1/datasets", "List datasets", response=s.DatasetList)
SHOW = declare("GET", _D, "One dataset", response=s.DatasetAnswer)
VERSIONS = declare("GET", f"{_D}/versions", "A dataset's versions", response=s.VersionList)
VERSION = declare("GET", _V, "A page of a version's entries", response=s.EntriesPage, query=s.EntriesQuery)
DELETE_VERSION = declare("DELETE", _V, "Delete one version", response=s.DeletedAnswer)
DIFF = declare("GET", f"{_D}/diff", "What changed between two versions", response=s.DiffAnswer,
               query=s.DiffQuery)  # fmt: skip
VERIFY = declare("POST", f"{_D}/verify", "Re-hash a version's files", response=s.VerifyAnswer,
                 body=s.VersionRequest)  # fmt: skip
QUALITY = declare("POST", f"{_D}/quality", "A quality report, or a cleaned version with gates",
                  response=s.QualityAnswer | s.GatesAnswer, body=s.QualityRequest)  # fmt: skip
ROLLBACK = declare("POST", f"{_D}/rollback", "A new version equal to an earlier one",
                   response=s.VersionAnswer, body=s.RollbackRequest)  # fmt: skip
FORMATS_VIEW = s.FormatsView(
    archive_suffixes=list(formats.ARCHIVE_SUFFIXES), image_suffixes=list(formats.IMAGE_SUFFIXES),
    data_suffixes=dict(formats.DATA_SUFFIXES), formats=dict(formats.FORMATS),
    modalities=list(formats.MODALITIES), label_formats=list(formats.LABEL_FORMATS),
    text_formats=list(formats.TEXT_FORMATS), importable=formats.IMPORTABLE,
)  # fmt: skip


def answer(route: Route, data: Any) -> web.Response:
    """``data`` (the service's JSON) checked against the route's model, then sent as it: the
    daemon never answers what its contract does not describe."""
    return reply(route, parse(route.response, data))


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
        for route, handler in (
            (FORMATS, self.formats),
            (DETECT, self.detect),
            (LIST_IMPORTS, self.list_imports),
            (START_IMPORT, self.start_import),
            (SHOW_IMPORT, self.show_import),
            (CANCEL_IMPORT, self.cancel_import),
            (LIST, self.list_datasets),
            (SHOW, self.show),
            (VERSIONS, self.versions),
            (VERSION, self.version),
            (DELETE_VERSION, self.delete_version),
            (DIFF, self.diff),
            (VERIFY, self.verify),
            (QUALITY, self.quality),
            (ROLLBACK, self.rollback),
        ):  # the fixed paths (formats, imports) before {name}
            mount(r, route, handler)  # errors: api.edge's middleware
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

    async def _body(self, request: web.Request, model: Any) -> Any:
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
    async def formats(self, request: web.Request) -> web.Response:
        return reply(FORMATS, FORMATS_VIEW)

    async def detect(self, request: web.Request) -> web.Response:
        body = await self._body(request, s.DetectRequest)
        await asyncio.get_running_loop().run_in_executor(self.executor, _check_source, body.path)
        preview = await self._run("preview", body.path, body.format, body.modality)
        return answer(DETECT, {"preview": preview})

    async def start_import(self, request: web.Request) -> web.Response:
        body = await self._body(request, s.ImportRequest)
        from trainer_runtime.datasets.errors import check_name

        check_name(body.name)
        await asyncio.get_running_loop().run_in_executor(self.executor, _check_source, body.path)
        task = ImportTask(uuid.uuid4().hex[:12], body.name, body.path)
        self.tasks[task.id] = task
        finished = [t for t in self.tasks.values() if not t.state.is_terminal]
        for old in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self.tasks[old.id]
        loop = asyncio.get_running_loop()

        def progress(phase: str, done: int, total: int) -> None:
            loop.call_soon_threadsafe(self._progress, task, phase, done, total)

        def work() -> dict[str, Any]:
            return self.service.import_(
                body.path, body.name, fmt=body.format, modality=body.modality,
                keep_corrupt=body.keep_corrupt, link=body.link, progress=progress, cancel=task.cancel,
            ).to_json()  # fmt: skip

        asyncio.ensure_future(self._finish(task, loop.run_in_executor(self.import_executor, work)))
        self._publish(task)
        return answer(START_IMPORT, {"import": task.view()})

    def _progress(self, task: ImportTask, phase: str, done: int, total: int) -> None:
        if task.state.is_terminal:
            return
        task.phase, task.done, task.total = phase, done, total
        self._publish(task)

    async def _finish(self, task: ImportTask, fut: Awaitable[dict[str, Any]]) -> None:
        try:
            task.version = await fut
            task.state, task.phase = ImportState.COMPLETED, "done"
        except ImportCancelled as err:
            task.state, task.error = ImportState.CANCELLED, str(err)
        except DatasetError as err:
            task.state, task.error = ImportState.FAILED, str(err)
        except Exception as err:  # the task must end with a state; the traceback goes to the log
            full = disk_full(err, str(self.d.data.root))
            if full is None:
                log.exception("dataset import %s failed", task.id)
            task.state = ImportState.FAILED
            task.error = full or f"internal error ({type(err).__name__}); see daemon.log in the data dir"
        task.finished = time.time()
        self._publish(task)
        if task.state is ImportState.COMPLETED:
            self.d.bus.publish("dataset_changed", name=task.name)

    def _publish(self, task: ImportTask) -> None:
        self.d.bus.publish("dataset_import", **{"import": task.view()})

    def _task(self, request: web.Request) -> ImportTask:
        task = self.tasks.get(request.match_info["id"])
        if task is None:
            raise DatasetError(f"no import with id '{request.match_info['id']}'")
        return task

    async def list_imports(self, request: web.Request) -> web.Response:
        return answer(LIST_IMPORTS, {"imports": [t.view() for t in self.tasks.values()]})

    async def show_import(self, request: web.Request) -> web.Response:
        return answer(SHOW_IMPORT, {"import": self._task(request).view()})

    async def cancel_import(self, request: web.Request) -> web.Response:
        task = self._task(request)
        if not task.state.is_terminal:
            task.cancel.set()
        return answer(CANCEL_IMPORT, {"import": task.view()})

    # ----------------------------------------------------------------- reads
    async def list_datasets(self, request: web.Request) -> web.Response:
        rows = await self._run("list_datasets")
        return answer(LIST, {"datasets": [d.to_json() for d in rows]})

    async def show(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        info = await self._run("get", name)
        return answer(SHOW, {"dataset": info.to_json()})

    async def versions(self, request: web.Request) -> web.Response:
        rows = await self._run("versions", request.match_info["name"])
        return answer(VERSIONS, {"versions": [v.to_json() for v in rows]})

    async def version(self, request: web.Request) -> web.Response:
        version = self._version(request.match_info["version"])
        q = query(request, s.EntriesQuery)
        limit = min(q.limit, MAX_PAGE)
        info, page = await self._run("entries_page", request.match_info["name"], version, q.offset, limit)
        return answer(VERSION, {"version": info.to_json(), "entries": page, "offset": q.offset})

    async def diff(self, request: web.Request) -> web.Response:
        if not request.query.get("a") or not request.query.get("b"):
            raise DatasetError("diff needs two versions: ?a=1&b=2")
        q = query(request, s.DiffQuery)
        a, b = self._version(q.a, "a"), self._version(q.b, "b")
        out = await self._run("diff", request.match_info["name"], a, b)
        return answer(DIFF, {"diff": out})

    async def verify(self, request: web.Request) -> web.Response:
        body = await self._body(request, s.VersionRequest)
        out = await self._run("verify", request.match_info["name"], body.version)
        return answer(VERIFY, {"verify": out})

    async def quality(self, request: web.Request) -> web.Response:
        body = await self._body(request, s.QualityRequest)
        name, opts = request.match_info["name"], {"near_threshold": body.near_threshold,
                                                  "max_text_chars": body.max_text_chars}  # fmt: skip
        if body.gates:
            out = await self._run("apply_gates", name, body.version, body.gates, **opts)
            if out["version"] is not None:
                self.d.bus.publish("dataset_changed", name=name)
            return answer(QUALITY, {"gates": out})
        return answer(QUALITY, {"quality": await self._run("quality", name, body.version, **opts)})

    # ---------------------------------------------------------------- writes
    async def rollback(self, request: web.Request) -> web.Response:
        body = await self._body(request, s.RollbackRequest)
        info = await self._run("rollback", request.match_info["name"], body.version)
        self.d.bus.publish("dataset_changed", name=info.dataset)
        return answer(ROLLBACK, {"version": info.to_json()})

    async def delete_version(self, request: web.Request) -> web.Response:
        version = self._version(request.match_info["version"])
        if not isinstance(version, int):
            raise DatasetError("delete names a version number, not 'latest'")
        out = await self._run("delete_version", request.match_info["name"], version)
        self.d.bus.publish("dataset_changed", name=request.match_info["name"])
        return answer(DELETE_VERSION, {"deleted": out})

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
