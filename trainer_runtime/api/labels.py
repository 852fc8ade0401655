"""``/v1/datasets/{name}/labels...`` and ``/v1/jobs/{id}/suggestions``: read a version's labels,
autosave drafts, save labels as a new version, YOLO/COCO import and export, pre-labelling
suggestions. Blocking work runs on a thread pool, never on the event loop."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from trainer_runtime.api.datasets import DatasetsApi, Handler, _answer
from trainer_runtime.datasets.errors import DatasetError
from trainer_runtime.labeling.service import DraftNotFound, LabelService

MAX_LABELS_BODY = 256 << 20  # a whole dataset's annotations may be saved at once
SUGGESTIONS = "suggestions.json"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SaveBody(_Body):
    base_version: int = Field(..., ge=1)
    classes: dict[str, Any] | None = None
    annotations: dict[str, Any] = Field(default_factory=dict)
    message: str = ""


class DraftBody(_Body):
    base_version: int = Field(..., ge=1)
    classes: dict[str, Any] | None = None
    annotations: dict[str, Any] = Field(default_factory=dict)


def _absolute(v: str) -> str:
    if not Path(v).expanduser().is_absolute():
        raise ValueError("give an absolute path (the daemon does not share your working directory)")
    return str(Path(v).expanduser())


class ImportBody(_Body):
    path: str = Field(..., min_length=1)
    format: Literal["yolo", "coco"]

    @field_validator("path")
    @classmethod
    def _abs(cls, v: str) -> str:
        return _absolute(v)


class ExportBody(_Body):
    version: int | Literal["latest"] = "latest"
    format: Literal["yolo", "coco"]
    out: str = Field(..., min_length=1)

    @field_validator("out")
    @classmethod
    def _abs(cls, v: str) -> str:
        return _absolute(v)


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
                self._service = LabelService(self.datasets.service)
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
            r.add_route(method, path, _answer(_answer_draft(handler)))
        r.add_get("/v1/jobs/{id}/suggestions", self.suggestions)
        app.on_cleanup.append(self._close)

    async def _close(self, app: web.Application) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    async def _run(self, method: str, *args: Any) -> Any:
        def call() -> Any:
            return getattr(self.service, method)(*args)

        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    async def _body(self, request: web.Request, model: type[BaseModel]) -> Any:
        from trainer_runtime.api.server import _validate

        chunks, size = [], 0
        while chunk := await request.content.read(1 << 20):
            size += len(chunk)
            if size > MAX_LABELS_BODY:
                raise DatasetError(
                    f"the request is over {MAX_LABELS_BODY >> 20} MiB; send only the edited images"
                )
            chunks.append(chunk)
        try:
            data = json.loads(b"".join(chunks)) if chunks else {}
        except ValueError:
            raise DatasetError("request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise DatasetError("request body must be a JSON object")
        return _validate(model, data, "request")

    # ----------------------------------------------------------------- reads
    async def labels(self, request: web.Request) -> web.Response:
        version = DatasetsApi._version(request.query.get("version", "latest"))
        labels = await self._run("load", request.match_info["name"], version)
        body = await asyncio.get_running_loop().run_in_executor(
            self.executor, lambda: json.dumps({**labels.to_json(), "report": labels.report.rows})
        )
        return web.Response(text=body, content_type="application/json")

    async def get_draft(self, request: web.Request) -> web.Response:
        return web.json_response({"draft": await self._run("load_draft", request.match_info["name"])})

    # ---------------------------------------------------------------- writes
    async def put_draft(self, request: web.Request) -> web.Response:
        body = await self._body(request, DraftBody)
        out = await self._run("save_draft", request.match_info["name"], body.model_dump())
        return web.json_response({"draft": out})

    async def delete_draft(self, request: web.Request) -> web.Response:
        dropped = await self._run("drop_draft", request.match_info["name"])
        return web.json_response({"dropped": dropped})

    async def save(self, request: web.Request) -> web.Response:
        body = await self._body(request, SaveBody)
        name = request.match_info["name"]
        info = await self._run("save", name, body.base_version, body.classes, body.annotations, body.message)
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
        out = await self._run("export", request.match_info["name"], body.version, body.format, body.out)
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


def _answer_draft(fn: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await fn(request)
        except DraftNotFound as err:
            return web.json_response({"error": str(err)}, status=404)

    return wrapped
