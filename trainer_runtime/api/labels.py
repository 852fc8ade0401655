"""``/v1/datasets/{name}/labels...`` and ``/v1/jobs/{id}/suggestions``: read a version's labels,
autosave drafts, save labels as a new version, YOLO/COCO import and export, pre-labelling
suggestions. Blocking work runs on a thread pool, never on the event loop."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from trainer_runtime import jsontext
from trainer_runtime.api.datasets import DatasetsApi
from trainer_runtime.api.edge import AbsPath, Count, Strict, json_body, parse_body, read_body
from trainer_runtime.labeling.service import LabelService

# Saves and drafts carry the annotations of the images edited since the base version (the GUI
# sends no others): 32 MiB is some 30,000 edited images with polygons. Bodies this large are
# parsed on a thread, never on the event loop.
MAX_LABELS_BODY = 32 << 20
SUGGESTIONS = "suggestions.json"


class SaveBody(Strict):
    base_version: Count
    classes: dict[str, Any] | None = None
    annotations: dict[str, Any] = Field(default_factory=dict)
    message: str = Field("", max_length=2000)


class DraftBody(Strict):
    base_version: Count
    classes: dict[str, Any] | None = None
    annotations: dict[str, Any] = Field(default_factory=dict)


class ImportBody(Strict):
    path: AbsPath
    format: Literal["yolo", "coco"]


class ExportBody(Strict):
    version: Count | Literal["latest"] = "latest"
    format: Literal["yolo", "coco"]
    out: AbsPath
    force: bool = Field(False, description="write into a folder that is not empty (its files are replaced)")


class LabelsApi:
    def __init__(self, daemon: Any, datasets: DatasetsApi):
        self.d = daemon
        self.datasets = datasets
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="labels")
        self._service: LabelService | None = None
        self._service_lock = threading.Lock()

    @property
    def service(self) -> LabelService:  # made on a pool thread (the datasets service reads the disk)
        with self._service_lock:
            if self._service is None:
                self._service = LabelService(self.datasets.service, self.d.data.root)
            return self._service

    def register(self, app: web.Application) -> None:
        r = app.router
        base = "/v1/datasets/{name}/labels"
        for method, path, handler in (
            ("GET", base, self.labels),
            ("POST", base, self.save),
            ("GET", f"{base}/draft", self.get_draft),
            ("PUT", f"{base}/draft", self.put_draft),
            ("DELETE", f"{base}/draft", self.delete_draft),
            ("POST", f"{base}/import", self.import_),
            ("POST", f"{base}/export", self.export),
        ):
            r.add_route(method, path, handler)  # errors are answered by api.edge's middleware
        r.add_get("/v1/jobs/{id}/suggestions", self.suggestions)
        app.on_cleanup.append(self._close)

    async def _close(self, app: web.Application) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    async def _run(self, method: str, *args: Any) -> Any:
        def call() -> Any:
            return getattr(self.service, method)(*args)

        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    async def _body(self, request: web.Request, model: type[BaseModel]) -> Any:
        return await json_body(request, model)

    async def _big(self, work: Any) -> Any:
        """``work()`` on the pool with the cyclic GC paused: a draft or a dataset's labels are
        millions of small objects, made, used and dropped there (see ``jsontext.gc_paused``)."""

        def call() -> Any:
            with jsontext.gc_paused():
                return work()

        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    # ----------------------------------------------------------------- reads
    async def labels(self, request: web.Request) -> web.Response:
        version = DatasetsApi._version(request.query.get("version", "latest")[:30])
        name = request.match_info["name"]

        def work() -> str:
            labels = self.service.load(name, version)
            return jsontext.dumps({**labels.to_json(), "report": labels.report.rows}, 4)

        return web.Response(text=await self._big(work), content_type="application/json")

    async def get_draft(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        text = await self._big(lambda: jsontext.dumps({"draft": self.service.load_draft(name)}, 4))
        return web.Response(text=text, content_type="application/json")

    # ---------------------------------------------------------------- writes
    async def put_draft(self, request: web.Request) -> web.Response:
        raw = await read_body(request, MAX_LABELS_BODY)
        name = request.match_info["name"]

        def work() -> dict[str, Any]:
            body = parse_body(raw, DraftBody)
            draft = {
                "base_version": body.base_version,
                "classes": body.classes,
                "annotations": body.annotations,
            }
            return self.service.save_draft(name, draft)

        return web.json_response({"draft": await self._big(work)})

    async def delete_draft(self, request: web.Request) -> web.Response:
        dropped = await self._run("drop_draft", request.match_info["name"])
        return web.json_response({"dropped": dropped})

    async def save(self, request: web.Request) -> web.Response:
        raw = await read_body(request, MAX_LABELS_BODY)
        name = request.match_info["name"]

        def work() -> Any:
            body = parse_body(raw, SaveBody)
            return self.service.save(name, body.base_version, body.classes, body.annotations, body.message)

        info = await self._big(work)
        self.d.bus.publish("dataset_changed", name=name)
        return web.json_response({"version": info.to_json()})

    async def import_(self, request: web.Request) -> web.Response:
        body = await self._body(request, ImportBody)
        name = request.match_info["name"]
        info, report = await self._run("import_labels", name, body.path, body.format)
        self.d.bus.publish("dataset_changed", name=name)
        return web.json_response({"version": info.to_json(), "report": report})

    async def export(self, request: web.Request) -> web.Response:
        body = await self._body(request, ExportBody)
        out = await self._run(
            "export", request.match_info["name"], body.version, body.format, body.out, body.force
        )
        return web.json_response(out)

    # ------------------------------------------------------------------ jobs
    async def suggestions(self, request: web.Request) -> web.Response:
        job = self.d.store.get_job(request.match_info["id"])  # JobNotFound → 404

        def read() -> str | None:
            for attempt in range(job.attempt, 0, -1):
                try:
                    return (self.d.data.job_dir(job.id, attempt) / SUGGESTIONS).read_text(encoding="utf-8")
                except FileNotFoundError:
                    continue
            return None

        text = await asyncio.get_running_loop().run_in_executor(self.executor, read)
        if text is None:
            return web.json_response(
                {"error": f"job {job.id} has written no suggestions yet (state: {job.state})"}, status=404
            )
        return web.Response(text=text, content_type="application/json")
