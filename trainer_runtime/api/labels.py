"""``/v1/datasets/{name}/labels...`` and ``/v1/jobs/{id}/suggestions``: read a version's labels,
autosave drafts, save labels as a new version, YOLO/COCO import and export, pre-labelling
suggestions. Blocking work runs on a thread pool, never on the event loop."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from trainer_runtime import jsontext
from trainer_runtime.api.datasets import DatasetsApi, answer
from trainer_runtime.api.edge import json_body, parse_body, read_body
from trainer_runtime.api.schema import labels as s
from trainer_runtime.api.schema.base import dump, parse
from trainer_runtime.api.schema.datasets import VersionAnswer
from trainer_runtime.api.schema.routes import declare, mount
from trainer_runtime.labeling.service import LabelService

# Saves and drafts carry the annotations of the images edited since the base version (the GUI
# sends no others): 32 MiB is some 30,000 edited images with polygons. Bodies this large are
# parsed on a thread, never on the event loop.
MAX_LABELS_BODY = 32 << 20
SUGGESTIONS = "suggestions.json"

_L = "/v1/datasets/{name}/labels"
LABELS = declare("GET", _L, "A version's labels: classes and every image's annotation",
                 response=s.LabelsView, query=s.LabelsQuery)  # fmt: skip
SAVE = declare("POST", _L, "Save labels as a new version", response=VersionAnswer, body=s.SaveRequest)
GET_DRAFT = declare("GET", f"{_L}/draft", "The unsaved labelling draft", response=s.DraftAnswer)
PUT_DRAFT = declare("PUT", f"{_L}/draft", "Autosave the labelling draft", response=s.DraftSavedAnswer,
                    body=s.DraftRequest)  # fmt: skip
DELETE_DRAFT = declare("DELETE", f"{_L}/draft", "Drop the labelling draft", response=s.DroppedAnswer)
IMPORT = declare("POST", f"{_L}/import", "Import YOLO or COCO labels as a new version",
                 response=s.LabelsImportAnswer, body=s.LabelsImportRequest)  # fmt: skip
EXPORT = declare("POST", f"{_L}/export", "Export a version's labels as YOLO or COCO",
                 response=s.ExportAnswer, body=s.LabelsExportRequest)  # fmt: skip
SUGGEST = declare("GET", "/v1/jobs/{id}/suggestions", "A prelabel job's suggestions",
                  response=s.SuggestionsView)  # fmt: skip


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
        for route, handler in (
            (LABELS, self.labels),
            (SAVE, self.save),
            (GET_DRAFT, self.get_draft),
            (PUT_DRAFT, self.put_draft),
            (DELETE_DRAFT, self.delete_draft),
            (IMPORT, self.import_),
            (EXPORT, self.export),
            (SUGGEST, self.suggestions),
        ):
            mount(r, route, handler)  # errors: api.edge's middleware
        app.on_cleanup.append(self._close)

    async def _close(self, app: web.Application) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    async def _run(self, method: str, *args: Any) -> Any:
        def call() -> Any:
            return getattr(self.service, method)(*args)

        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    async def _body(self, request: web.Request, model: Any) -> Any:
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
            # LabelsView's wire form, written by the runtime's own to_json (defaults left out) in
            # pieces. Measured on 5,000 images with 10,000 shapes (2-core machine under load):
            # to_json + jsontext.dumps 430 ms; validating into LabelsView first 490 ms more; a
            # LabelsView built with model_construct 320 ms + dump() 70 ms, but that dump is one
            # call holding the GIL (the event loop stalls for it), as one json.dumps did before
            # jsontext. The client parses it as LabelsView; the contract test checks it does.
            labels = self.service.load(name, version)
            return jsontext.dumps({**labels.to_json(), "report": labels.report.rows}, 4)

        return web.Response(text=await self._big(work), content_type="application/json")

    async def get_draft(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        text = await self._big(lambda: jsontext.dumps({"draft": self.service.load_draft(name)}, 4))
        return web.Response(text=text, content_type="application/json")  # a DraftAnswer, in pieces

    # ---------------------------------------------------------------- writes
    async def put_draft(self, request: web.Request) -> web.Response:
        raw = await read_body(request, MAX_LABELS_BODY)
        name = request.match_info["name"]

        def work() -> dict[str, Any]:
            body = parse_body(raw, s.DraftRequest)
            draft = {
                "base_version": body.base_version,
                "classes": body.classes,
                "annotations": body.annotations,
            }
            return self.service.save_draft(name, draft)

        return answer(PUT_DRAFT, {"draft": await self._big(work)})

    async def delete_draft(self, request: web.Request) -> web.Response:
        dropped = await self._run("drop_draft", request.match_info["name"])
        return answer(DELETE_DRAFT, {"dropped": dropped})

    async def save(self, request: web.Request) -> web.Response:
        raw = await read_body(request, MAX_LABELS_BODY)
        name = request.match_info["name"]

        def work() -> Any:
            body = parse_body(raw, s.SaveRequest)
            return self.service.save(name, body.base_version, body.classes, body.annotations, body.message)

        info = await self._big(work)
        self.d.bus.publish("dataset_changed", name=name)
        return answer(SAVE, {"version": info.to_json()})

    async def import_(self, request: web.Request) -> web.Response:
        body = await self._body(request, s.LabelsImportRequest)
        name = request.match_info["name"]
        info, report = await self._run("import_labels", name, body.path, body.format)
        self.d.bus.publish("dataset_changed", name=name)
        return answer(IMPORT, {"version": info.to_json(), "report": report})

    async def export(self, request: web.Request) -> web.Response:
        body = await self._body(request, s.LabelsExportRequest)
        out = await self._run(
            "export", request.match_info["name"], body.version, body.format, body.out, body.force
        )
        return answer(EXPORT, out)

    # ------------------------------------------------------------------ jobs
    async def suggestions(self, request: web.Request) -> web.Response:
        job = self.d.store.get_job(request.match_info["id"])  # JobNotFound → 404

        def read() -> bytes | None:
            for attempt in range(job.attempt, 0, -1):
                try:
                    text = (self.d.data.job_dir(job.id, attempt) / SUGGESTIONS).read_text(encoding="utf-8")
                except FileNotFoundError:
                    continue
                return dump(SUGGEST.response, parse(SUGGEST.response, jsontext.loads(text)))
            return None

        body = await self._big(read)
        if body is None:
            return web.json_response(
                {"error": f"job {job.id} has written no suggestions yet (state: {job.state})"}, status=404
            )
        return web.Response(body=body, content_type="application/json")
