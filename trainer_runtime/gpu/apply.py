"""Applying a MIG layout as a transaction: plan → validate → refuse while busy → (root) →
enable MIG mode → destroy what goes → create GPU and compute instances → read back and
assert. On any failure everything done so far is undone, in reverse order."""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import Callable
from typing import Any

from trainer_runtime.gpu import planner
from trainer_runtime.gpu.backend import GpuBackend
from trainer_runtime.gpu.errors import ApplyFailed, GpuBusy, GpuError, LayoutInvalid, NeedsRoot
from trainer_runtime.gpu.model import GpuInfo, GpuProcess

log = logging.getLogger(__name__)


def make_plan(backend: GpuBackend, gpu: GpuInfo, layout: Any) -> dict[str, Any]:
    table = backend.mig_table(gpu.uuid)
    current, _ = backend.mig_mode(gpu.uuid)
    return planner.plan(table, gpu.index, current, backend.instances(gpu.uuid) if current else [], layout)


def privileged_command(gpu: GpuInfo, layout: Any) -> str:
    text = ",".join(
        item if isinstance(item, str) else f"{item['profile']}@{item['start']}" if item.get("start") is not None
        else item["profile"]
        for item in layout
    ) or "none"  # fmt: skip
    return f"sudo sparktrainer mig apply --gpu {gpu.uuid} --layout {shlex.quote(text)} --yes"


def busy_processes(gpu: GpuInfo) -> list[GpuProcess]:
    return list(gpu.processes)


def apply_layout(
    backend: GpuBackend,
    gpu: GpuInfo,
    layout: Any,
    dry_run: bool = True,
    busy_jobs: list[str] | None = None,
    is_root: Callable[[], bool] = lambda: os.geteuid() == 0,
) -> dict[str, Any]:
    """Plan, and unless ``dry_run`` perform it. Raises LayoutInvalid, GpuBusy, NeedsRoot or ApplyFailed."""
    result = make_plan(backend, gpu, layout)
    if not result["valid"]:
        reasons = "; ".join(e["reason"] for e in result["errors"])
        raise LayoutInvalid(
            f"the layout does not fit GPU {gpu.index} ({gpu.model}): {reasons}", result["errors"]
        )
    result.update(applied=False, dry_run=dry_run, readback=[])
    if dry_run or not result["operations"]:
        return result
    procs = busy_processes(gpu)
    if procs or busy_jobs:
        named = [f"pid {p.pid}" + (f" (job {p.job_id})" if p.job_id else f" ({p.user or 'unknown user'})") +
                 f" on {p.device_uuid}" for p in procs]  # fmt: skip
        named += [f"job {j} (placed on it)" for j in busy_jobs or [] if all(p.job_id != j for p in procs)]
        raise GpuBusy(
            f"GPU {gpu.index} ({gpu.uuid}) is in use by {', '.join(named)}; stop or wait for them, then apply again",
            [p.to_json() for p in procs],
        )
    if backend.needs_root and not is_root():
        raise NeedsRoot(
            "changing MIG partitions needs root. Run the privileged helper (it talks to NVML directly and "
            f"refuses while the GPU is in use): {privileged_command(gpu, layout)}"
        )
    done = _perform(backend, gpu, result)
    readback = [i for i in backend.instances(gpu.uuid) if i.ci_id is not None] if result["placed"] else []
    got = sorted((i.profile, i.start) for i in readback)
    want = sorted((p["profile"], p["start"]) for p in result["placed"])
    mode = backend.mig_mode(gpu.uuid)[0]
    if got != want or mode != bool(result["placed"]):
        undone = _rollback(backend, gpu, done)
        raise ApplyFailed(
            f"read-back does not match the plan on GPU {gpu.index}: planned {want}, found {got}; "
            f"rolled back ({len(undone)} step(s))",
            undone,
        )
    result.update(applied=True, readback=[i.to_json() for i in readback])
    log.info("applied MIG layout %s on GPU %s (%s)", want, gpu.index, gpu.uuid)
    return result


Step = tuple[str, dict[str, Any]]


def _perform(backend: GpuBackend, gpu: GpuInfo, result: dict[str, Any]) -> list[Step]:
    uuid = gpu.uuid
    done: list[Step] = []
    table = backend.mig_table(uuid)
    change = result["diff"]
    try:
        if change["add"] and not backend.mig_mode(uuid)[0]:
            backend.set_mig_mode(uuid, True)
            done.append(("mig_on", {}))
        for inst in change["remove"]:
            if inst.get("ci_id") is not None:
                backend.destroy_compute_instance(uuid, inst["gi_id"], inst["ci_id"])
                done.append(("ci_destroyed", inst))
            backend.destroy_gpu_instance(uuid, inst["gi_id"])
            done.append(("gi_destroyed", inst))
        for inst in change["add"]:
            prof = table.profile(inst["profile"])
            assert prof is not None  # the plan validated it
            gi_id = backend.create_gpu_instance(uuid, prof.id, inst["start"])
            done.append(("gi_created", {"gi_id": gi_id, **inst}))
            ci_id = backend.create_compute_instance(uuid, gi_id)
            done.append(("ci_created", {"gi_id": gi_id, "ci_id": ci_id, **inst}))
        if not result["placed"] and backend.mig_mode(uuid)[0]:
            backend.set_mig_mode(uuid, False)
            done.append(("mig_off", {}))
    except GpuError as err:
        undone = _rollback(backend, gpu, done)
        raise ApplyFailed(
            f"applying the layout on GPU {gpu.index} failed: {err}. Rolled back: "
            + ("; ".join(undone) if undone else "nothing had changed"),
            undone,
        ) from None
    return done


def _rollback(backend: GpuBackend, gpu: GpuInfo, done: list[Step]) -> list[str]:
    """Undo ``done`` in reverse: destroy what was created, re-create what was destroyed."""
    uuid, undone = gpu.uuid, []
    table = backend.mig_table(uuid)
    recreated: dict[Any, int] = {}  # old gi id -> new gi id
    for kind, inst in reversed(done):
        try:
            if kind == "ci_created":
                backend.destroy_compute_instance(uuid, inst["gi_id"], inst["ci_id"])
                undone.append(
                    f"destroyed compute instance {inst['ci_id']} of new GPU instance {inst['gi_id']}"
                )
            elif kind == "gi_created":
                backend.destroy_gpu_instance(uuid, inst["gi_id"])
                undone.append(
                    f"destroyed new GPU instance {inst['gi_id']} ({inst['profile']} at {inst['start']})"
                )
            elif kind == "gi_destroyed":
                prof = table.profile(inst["profile"])
                assert prof is not None
                recreated[inst["gi_id"]] = backend.create_gpu_instance(uuid, prof.id, inst["start"])
                undone.append(f"re-created GPU instance {inst['profile']} at {inst['start']}")
            elif kind == "ci_destroyed":
                gi_id = recreated[inst["gi_id"]] if inst["gi_id"] in recreated else inst["gi_id"]
                backend.create_compute_instance(uuid, gi_id)
                undone.append(f"re-created the compute instance of {inst['profile']} at {inst['start']}")
            elif kind == "mig_on":
                backend.set_mig_mode(uuid, False)
                undone.append("disabled MIG mode again")
            elif kind == "mig_off":
                backend.set_mig_mode(uuid, True)
                undone.append("enabled MIG mode again")
        except GpuError as err:
            log.error("rollback step %s on %s failed: %s", kind, uuid, err)
            undone.append(f"FAILED to undo {kind} ({err}); check `nvidia-smi mig -lgi`")
    return undone
