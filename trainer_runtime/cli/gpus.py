"""``sparktrainer gpus`` and ``sparktrainer mig show|plan|apply|recommend``."""

from __future__ import annotations

import argparse
import os
import sys

from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.gpus import GpuList, MigApplied, MigPlan
from trainer_runtime.cli.output import emit_json, error, table
from trainer_runtime.client.client import ApiError, ensure_daemon
from trainer_runtime.paths import DataDir

LAYOUT_HELP = "comma-separated MIG profiles, e.g. 3g.40gb,2g.20gb,1g.10gb (PROFILE@START pins a placement; 'none' = MIG off)"


def add_parser(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser(
        "gpus", help="GPUs and MIG devices: memory, utilisation, temperature, power, processes"
    )
    g.add_argument("--json", action="store_true")
    m = sub.add_parser("mig", help="show, plan and apply MIG partitions (apply is a dry run unless --yes)")
    msub = m.add_subparsers(dest="mig_cmd", required=True, metavar="COMMAND")
    s = msub.add_parser("show", help="a GPU's MIG profiles, placements and current instances")
    s.add_argument("--gpu", required=True, help="GPU UUID or index")
    s.add_argument("--json", action="store_true")
    for name, helptext in (("plan", "check a layout: placement, diff and the NVML operations"),
                           ("apply", "apply a layout (dry run unless --yes/--apply)")):  # fmt: skip
        s = msub.add_parser(name, help=helptext)
        s.add_argument("--gpu", required=True, help="GPU UUID or index")
        s.add_argument("--layout", required=True, help=LAYOUT_HELP)
        s.add_argument("--json", action="store_true")
        if name == "apply":
            s.add_argument("--yes", "--apply", dest="yes", action="store_true",
                           help="really change the partitions (refused while any process uses the GPU)")  # fmt: skip
    s = msub.add_parser("recommend", help="a layout that packs the queued jobs by their memory needs")
    s.add_argument("--gpu", required=True, help="GPU UUID or index")
    s.add_argument("--json", action="store_true")


def _mb(v: float | None) -> str:
    return "-" if v is None else f"{v / 1024:.1f}G"


def _num(v: float | None, unit: str) -> str:
    return "-" if v is None else f"{v:.0f}{unit}"


def show_gpus(view: GpuList) -> None:
    if not view.gpus:
        print(f"no GPUs: {view.message or 'none found'}; jobs run on CPU")
        return
    rows = []
    for g in view.gpus:
        mig = "on" if g.mig.current else ("pending" if g.mig.pending else "off")
        rows.append([str(g.index), g.name, f"{_mb(g.memory_used_mb)}/{_mb(g.memory_total_mb)}",
                     _num(g.util_pct, "%"), _num(g.temp_c, "C"),
                     f"{_num(g.power_w, '')}/{_num(g.power_limit_w, 'W')}", mig, str(len(g.processes)),
                     g.uuid])  # fmt: skip
        for m in g.mig_devices:
            rows.append(["", f"  MIG {m.profile} @{m.start}", f"{_mb(m.memory_used_mb)}/{_mb(m.memory_total_mb)}",
                         _num(m.util_pct, "%"), "", "", "", "", m.uuid])  # fmt: skip
    print(table(rows, ["GPU", "NAME", "MEMORY", "UTIL", "TEMP", "POWER", "MIG", "PROCS", "UUID"]))
    procs = [[str(p.pid), p.user or "-", f"{p.used_mb} MiB", p.job_id or "(not ours)", p.device_uuid]
             for g in view.gpus for p in g.processes]  # fmt: skip
    if procs:
        print("\n" + table(procs, ["PID", "USER", "MEMORY", "JOB", "DEVICE"]))
    if view.backend == "sim":
        print("\n(simulated GPUs: SPARKTRAINER_GPU_SIM)")


def _print_plan(plan: MigPlan) -> None:
    if not plan.valid:
        error("the layout does not fit:")
        for e in plan.errors:
            print(f"  {e.reason}", file=sys.stderr)
        return
    placed = ", ".join(f"{p.profile}@{p.start}" for p in plan.placed) or "whole GPU (MIG off)"
    print(f"placement: {placed}")
    d = plan.diff
    print(f"diff: keep {len(d.keep)}, remove {len(d.remove)}, add {len(d.add)}")
    if plan.operations:
        print("operations:")
        for i, op in enumerate(plan.operations, 1):
            print(f"  {i}. {op}")
    else:
        print("nothing to change")


def run(args: argparse.Namespace, data: DataDir) -> int:
    from trainer_runtime.gpu.planner import parse_layout_text

    if args.cmd == "mig" and args.mig_cmd == "apply" and args.yes and _privileged_local():
        return _apply_locally(args)
    client = ensure_daemon(data)
    if args.cmd == "gpus":
        view = client.gpus()
        emit_json(view) if args.json else show_gpus(view)
        return 0
    if args.mig_cmd == "show":
        prof = client.mig_profiles(args.gpu)
        gpu = next(g for g in client.gpus().gpus if g.uuid == prof.gpu)
        if args.json:
            emit_json({**prof.model_dump(mode="json"), "mig": gpu.mig.model_dump(mode="json"),
                       "mig_devices": [m.model_dump(mode="json") for m in gpu.mig_devices]})  # fmt: skip
            return 0
        print(f"{gpu.label} ({gpu.name}), MIG {'on' if gpu.mig.current else 'off'}: "
              f"{prof.slices} compute slices, {prof.memory_slices} memory slices")  # fmt: skip
        rows = [[p.name, str(p.id), str(p.compute_slices), str(p.memory_slices), f"{p.memory_mb} MiB",
                 str(p.max_count), ",".join(map(str, p.placements))] for p in prof.profiles]  # fmt: skip
        print(table(rows, ["PROFILE", "ID", "COMPUTE", "MEM SLICES", "MEMORY", "MAX", "STARTS"]))
        for m in gpu.mig_devices:
            print(f"  instance {m.profile} @{m.start} (GI {m.gi_id}, CI {m.ci_id}) {m.uuid}")
        return 0
    if args.mig_cmd == "recommend":
        rec = client.mig_recommend(args.gpu)
        emit_json(rec) if args.json else print(f"{','.join(rec.layout) or 'none'}\n{rec.reason}")
        return 0
    layout = parse_layout_text(args.layout)
    if args.mig_cmd == "plan":
        plan = client.mig_plan(args.gpu, layout)
        emit_json(plan) if args.json else _print_plan(plan)
        return 0 if plan.valid else 2
    try:
        result = client.mig_apply(args.gpu, layout, dry_run=not args.yes)
    except ApiError as err:
        if args.json:
            emit_json({"error": err.message, "status": err.status, "problems": err.problems})
            return 2
        raise
    if args.json:
        emit_json(result)
    else:
        _print_plan(result)
        if result.dry_run:
            print("dry run: nothing was changed; add --yes to apply")
        elif result.applied:
            print("applied and read back: " + ", ".join(f"{i.profile}@{i.start}" for i in result.readback))
    return 0


def _privileged_local() -> bool:
    """As root on a real GPU the CLI is the privileged apply helper: it talks to NVML itself."""
    return os.geteuid() == 0 and not os.environ.get("SPARKTRAINER_GPU_SIM")


def _apply_locally(args: argparse.Namespace) -> int:
    from trainer_runtime.gpu.apply import apply_layout
    from trainer_runtime.gpu.errors import GpuError
    from trainer_runtime.gpu.nvml import NvmlBackend
    from trainer_runtime.gpu.planner import parse_layout_text

    try:
        backend = NvmlBackend.open()
        try:
            gpu = backend.find(args.gpu)
            result = apply_layout(backend, gpu, parse_layout_text(args.layout), dry_run=False)
        finally:
            backend.close()
    except GpuError as err:
        error(str(err))
        return 2
    answer = parse(MigApplied, result)
    emit_json(answer) if args.json else _print_plan(answer)
    return 0
