"""GPU and MIG endpoints (``/v1/gpus``, ``/v1/mig/...``).

Reads come from the sampler's latest snapshot; MIG reads and the apply transaction call the
back end on a worker thread, so the event loop never waits on NVML."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field, StrictBool, StrictInt

from trainer_runtime.api.edge import Query, Strict, error_response, json_body, query
from trainer_runtime.gpu import apply as mig_apply
from trainer_runtime.gpu import planner
from trainer_runtime.gpu.errors import ApplyFailed, GpuBusy, GpuError, LayoutInvalid, NeedsRoot, UnknownGpu
from trainer_runtime.gpu.model import GpuInfo
from trainer_runtime.jobs.state import JobState

Handler = Callable[[web.Request], Awaitable[web.Response]]


class MigBody(Strict):
    gpu: Annotated[str, Field(min_length=1, max_length=100)] | Annotated[StrictInt, Field(ge=0, le=1024)] = (
        Field(..., description="the GPU's UUID or index")
    )
    layout: list[Any] = Field(default_factory=list, max_length=64)
    dry_run: StrictBool = True  # "no" or 0 must never mean "apply"


class HistoryQuery(Query):
    seconds: float = Field(3600, gt=0, le=3600)


def _fail(status: int, message: str, **extra: Any) -> web.Response:
    return error_response(status, message, **extra)


def _guard(fn: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.Response:
        try:
            return await fn(request)
        except LayoutInvalid as err:
            problems = [(f"layout ({e['profile'] or 'all'})", e["reason"]) for e in err.errors]
            return _fail(400, str(err), problems=problems, errors=err.errors)
        except UnknownGpu as err:
            return _fail(404, str(err))
        except GpuBusy as err:
            return _fail(409, str(err), processes=err.processes)
        except NeedsRoot as err:
            return _fail(403, str(err))
        except ApplyFailed as err:
            return _fail(500, str(err), rolled_back=err.rolled_back)
        except GpuError as err:
            return _fail(503, str(err))

    return wrapped


class GpuApi:
    def __init__(self, daemon: Any):
        self.d = daemon

    @property
    def backend(self) -> Any:
        if self.d.gpu.backend is None:
            raise UnknownGpu(f"no GPUs here: {self.d.gpu.message or 'no GPU back end'}")
        return self.d.gpu.backend

    async def _body(self, request: web.Request) -> dict[str, Any]:
        body: MigBody = await json_body(request, MigBody)
        return {**body.model_dump(), "gpu": str(body.gpu)}

    def _find(self, gpu: str) -> GpuInfo:
        return self.backend.find(gpu, self.d.gpu.latest())

    def _busy_jobs(self, gpu: GpuInfo) -> list[str]:
        ids = {gpu.uuid} | {m.uuid for m in gpu.mig_devices}
        return self.d.devices.jobs_on(ids)

    # ------------------------------------------------------------------ views
    async def gpus(self, request: web.Request) -> web.Response:
        return web.json_response(self.d.gpu.view())

    async def history(self, request: web.Request) -> web.Response:
        q = query(request, HistoryQuery)
        return web.json_response(self.d.gpu.history(q.seconds))

    async def profiles(self, request: web.Request) -> web.Response:
        gpu = self._find(request.query.get("gpu", "")[:100])
        table = await asyncio.to_thread(self.backend.mig_table, gpu.uuid)
        return web.json_response({
            "gpu": gpu.uuid, "model": table.model, "slices": table.slices, "memory_slices": table.memory_slices,
            "profiles": [p.to_json() for p in table.profiles], "presets": planner.presets(table),
        })  # fmt: skip

    async def plan(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        gpu = self._find(body["gpu"])
        result = await asyncio.to_thread(mig_apply.make_plan, self.backend, gpu, body.get("layout", []))
        return web.json_response(result)

    async def apply(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        await asyncio.to_thread(self.d.gpu.sample)  # a fresh process list for the busy check
        gpu = self._find(body["gpu"])
        dry = body["dry_run"]
        if not dry:  # no job may be placed on this GPU while its layout changes
            self.d.devices.hold(gpu.uuid)
        try:
            result = await asyncio.to_thread(
                mig_apply.apply_layout, self.backend, gpu, body.get("layout", []), dry, self._busy_jobs(gpu)
            )
            if result["applied"]:
                await asyncio.to_thread(self.d.gpu.sample)
        finally:
            self.d.devices.hold(gpu.uuid, False)
        self.d.wake()  # new slices can take queued jobs now
        return web.json_response(result)

    async def recommend(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        gpu = self._find(body["gpu"])
        table = await asyncio.to_thread(self.backend.mig_table, gpu.uuid)
        queued = self.d.store.list_jobs([JobState.QUEUED])
        queued.sort(key=lambda j: (-j.priority, j.queued_at or j.created_at))
        jobs = []
        for j in queued:
            res = j.spec.get("resources", {})
            if int(res.get("devices", 1)) == 1 and res.get("memory_gb"):
                jobs.append((j.id, float(res["memory_gb"])))
        return web.json_response(planner.recommend(table, jobs))


def register(router: web.UrlDispatcher, daemon: Any) -> None:
    api = GpuApi(daemon)
    router.add_get("/v1/gpus", _guard(api.gpus))
    router.add_get("/v1/gpus/history", _guard(api.history))
    router.add_get("/v1/mig/profiles", _guard(api.profiles))
    router.add_post("/v1/mig/plan", _guard(api.plan))
    router.add_post("/v1/mig/apply", _guard(api.apply))
    router.add_post("/v1/mig/recommend", _guard(api.recommend))
