"""GPU and MIG endpoints (``/v1/gpus``, ``/v1/mig/...``).

Reads come from the sampler's latest snapshot; MIG reads and the apply transaction call the
back end on a worker thread, so the event loop never waits on NVML."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from trainer_runtime.api.edge import error_response, json_body, query
from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.gpus import (
    ApplyBody,
    GpuBody,
    GpuHistory,
    GpuList,
    HistoryQuery,
    MigApplied,
    MigPlan,
    MigProfiles,
    MigRecommendation,
    PlanBody,
    ProfilesQuery,
)
from trainer_runtime.api.schema.routes import declare, mount, reply
from trainer_runtime.gpu import apply as mig_apply
from trainer_runtime.gpu import planner
from trainer_runtime.gpu.errors import ApplyFailed, GpuBusy, GpuError, LayoutInvalid, NeedsRoot, UnknownGpu
from trainer_runtime.gpu.model import GpuInfo
from trainer_runtime.jobs.state import JobState

Handler = Callable[[web.Request], Awaitable[web.Response]]

GPUS = declare("GET", "/v1/gpus", "Every GPU and MIG device now, with its processes", response=GpuList)
HISTORY = declare(
    "GET", "/v1/gpus/history", "Each device's samples of the last seconds", response=GpuHistory,
    query=HistoryQuery,
)  # fmt: skip
PROFILES = declare(
    "GET", "/v1/mig/profiles", "A GPU's MIG profiles, placements and preset layouts", response=MigProfiles,
    query=ProfilesQuery,
)  # fmt: skip
PLAN = declare("POST", "/v1/mig/plan", "Check a MIG layout and plan it", response=MigPlan, body=PlanBody)
APPLY = declare(
    "POST", "/v1/mig/apply", "Apply a MIG layout (a dry run unless dry_run is false)", response=MigApplied,
    body=ApplyBody,
)  # fmt: skip
RECOMMEND = declare(
    "POST", "/v1/mig/recommend", "A layout that packs the queued jobs by their memory needs",
    response=MigRecommendation, body=GpuBody,
)  # fmt: skip


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

    def _find(self, gpu: str) -> GpuInfo:
        return self.backend.find(gpu, self.d.gpu.latest())

    def _busy_jobs(self, gpu: GpuInfo) -> list[str]:
        ids = {gpu.uuid} | {m.uuid for m in gpu.mig_devices}
        return self.d.devices.jobs_on(ids)

    # ------------------------------------------------------------------ views
    async def gpus(self, request: web.Request) -> web.Response:
        return reply(GPUS, parse(GpuList, self.d.gpu.view()))

    async def history(self, request: web.Request) -> web.Response:
        q = query(request, HistoryQuery)
        return reply(HISTORY, parse(GpuHistory, self.d.gpu.history(q.seconds)))

    async def profiles(self, request: web.Request) -> web.Response:
        q = query(request, ProfilesQuery)
        gpu = self._find(q.gpu)
        table = await asyncio.to_thread(self.backend.mig_table, gpu.uuid)
        return reply(PROFILES, MigProfiles(
            gpu=gpu.uuid, model=table.model, slices=table.slices, memory_slices=table.memory_slices,
            profiles=[p.to_json() for p in table.profiles], presets=planner.presets(table),
        ))  # fmt: skip

    async def plan(self, request: web.Request) -> web.Response:
        body: PlanBody = await json_body(request, PlanBody)
        gpu = self._find(body.gpu_ref)
        result = await asyncio.to_thread(mig_apply.make_plan, self.backend, gpu, body.layout_items())
        return reply(PLAN, parse(MigPlan, result))

    async def apply(self, request: web.Request) -> web.Response:
        body: ApplyBody = await json_body(request, ApplyBody)
        await asyncio.to_thread(self.d.gpu.sample)  # a fresh process list for the busy check
        gpu = self._find(body.gpu_ref)
        dry = body.dry_run
        if not dry:  # no job may be placed on this GPU while its layout changes
            self.d.devices.hold(gpu.uuid)
        try:
            result = await asyncio.to_thread(
                mig_apply.apply_layout, self.backend, gpu, body.layout_items(), dry, self._busy_jobs(gpu)
            )
            if result["applied"]:
                await asyncio.to_thread(self.d.gpu.sample)
        finally:
            self.d.devices.hold(gpu.uuid, False)
        self.d.wake()  # new slices can take queued jobs now
        return reply(APPLY, parse(MigApplied, result))

    async def recommend(self, request: web.Request) -> web.Response:
        body: GpuBody = await json_body(request, GpuBody)
        gpu = self._find(body.gpu_ref)
        table = await asyncio.to_thread(self.backend.mig_table, gpu.uuid)
        queued = self.d.store.list_jobs([JobState.QUEUED])
        queued.sort(key=lambda j: (-j.priority, j.queued_at or j.created_at))
        jobs = []
        for j in queued:
            res = j.spec.get("resources", {})
            if int(res.get("devices", 1)) == 1 and res.get("memory_gb"):
                jobs.append((j.id, float(res["memory_gb"])))
        return reply(RECOMMEND, parse(MigRecommendation, planner.recommend(table, jobs)))


def register(router: web.UrlDispatcher, daemon: Any) -> None:
    api = GpuApi(daemon)
    mount(router, GPUS, _guard(api.gpus))
    mount(router, HISTORY, _guard(api.history))
    mount(router, PROFILES, _guard(api.profiles))
    mount(router, PLAN, _guard(api.plan))
    mount(router, APPLY, _guard(api.apply))
    mount(router, RECOMMEND, _guard(api.recommend))
