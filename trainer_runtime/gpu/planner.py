"""The MIG planner: pure functions over a GPU's profile table (what the device reports, or
NVIDIA's published table for a simulated GPU).

Rules (NVIDIA's): an instance of a profile may start only at one of the profile's placements;
it occupies ``memory_slices`` slices of the 8-slice memory axis from there; instances never
overlap; a profile may exist at most ``max_count`` times; compute slices add up to at most 7.
A layout entry without a start is placed automatically (a small search, largest first, keeping
instances that already exist where they are).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from trainer_runtime.gpu.model import Instance, MigProfile, MigTable

GB_MB = 1e9 / 2**20  # resources.memory_gb is decimal GB, like the profile names


@dataclass(frozen=True)
class Want:
    profile: str
    start: int | None
    index: int


@dataclass(frozen=True)
class Placed:
    profile: str
    start: int
    size: int

    def key(self) -> tuple[str, int]:
        return (self.profile, self.start)

    def to_json(self) -> dict[str, Any]:
        return {"profile": self.profile, "start": self.start, "size": self.size}


def _err(profile: str | None, start: int | None, reason: str) -> dict[str, Any]:
    return {"profile": profile, "start": start, "reason": reason}


def parse_layout(layout: Any) -> tuple[list[Want], list[dict[str, Any]]]:
    """API/GUI layout (``["3g.40gb", {"profile": "1g.10gb", "start": 6}]``) → wants, errors."""
    if not isinstance(layout, list):
        return [], [
            _err(None, None, "the layout must be a list of profile names or {profile, start} objects")
        ]
    wants, errors = [], []
    for i, item in enumerate(layout):
        if isinstance(item, str):
            wants.append(Want(item.strip(), None, i))
        elif isinstance(item, dict) and isinstance(item.get("profile"), str):
            start = item.get("start")
            if start is not None and (not isinstance(start, int) or isinstance(start, bool) or start < 0):
                errors.append(
                    _err(item["profile"], None, f"entry {i + 1}: start must be a slice index (0-7)")
                )
                continue
            extra = set(item) - {"profile", "start"}
            if extra:
                errors.append(
                    _err(item["profile"], start, f"entry {i + 1}: unknown field(s) {sorted(extra)}")
                )
                continue
            wants.append(Want(item["profile"].strip(), start, i))
        else:
            errors.append(
                _err(None, None, f"entry {i + 1} must be a profile name or a {{profile, start}} object")
            )
    return wants, errors


def parse_layout_text(text: str) -> list[Any]:
    """CLI form: ``3g.40gb,2g.20gb@4,1g.10gb`` (``@N`` pins the start). Empty or ``none`` = MIG off."""
    text = text.strip()
    if text.lower() in ("", "none", "off", "whole"):
        return []
    out: list[Any] = []
    for part in (p.strip() for p in text.split(",")):
        m = re.fullmatch(r"(.+?)(?:[@:](\d+))?", part)
        if not part or not m:
            continue
        out.append({"profile": m.group(1), "start": int(m.group(2))} if m.group(2) else m.group(1))
    return out


def _slices(start: int, size: int) -> set[int]:
    return set(range(start, start + size))


def _span(start: int, size: int) -> str:
    return f"memory slice {start}" if size == 1 else f"memory slices {start}-{start + size - 1}"


def _fmt_starts(p: MigProfile) -> str:
    return ", ".join(map(str, p.placements))


def validate(
    table: MigTable, layout: Any, current: list[Instance] | None = None
) -> tuple[list[Placed], list[dict[str, Any]]]:
    """Place every entry of ``layout`` on the device, or say why not (one reason per problem)."""
    wants, errors = parse_layout(layout)
    known = [w for w in wants if table.profile(w.profile) is not None]
    for w in wants:
        if table.profile(w.profile) is None:
            names = ", ".join(p.name for p in table.profiles)
            errors.append(_err(w.profile, w.start, f"{w.profile} is not a MIG profile of {table.model}; its profiles are {names}"))  # fmt: skip
    counts: dict[str, int] = {}
    for w in known:
        counts[w.profile] = counts.get(w.profile, 0) + 1
    for name, n in counts.items():
        p = table.profile(name)
        assert p is not None
        if n > p.max_count:
            errors.append(_err(name, None, f"{name} can exist at most {p.max_count} time(s) on {table.model}; the layout asks for {n}"))  # fmt: skip
    profs = [table.profile(w.profile) for w in known]
    compute = sum(p.compute_slices for p in profs if p)
    memory = sum(p.memory_slices for p in profs if p)
    if compute > table.slices:
        errors.append(
            _err(None, None, f"the layout needs {compute} compute slices; {table.model} has {table.slices}")
        )
    if memory > table.memory_slices:
        errors.append(_err(None, None, f"the layout needs {memory} memory slices; {table.model} has {table.memory_slices}"))  # fmt: skip
    pinned: list[Placed] = []
    used: dict[int, Placed] = {}
    for w in known:
        p = table.profile(w.profile)
        if w.start is None or p is None:
            continue
        if w.start not in p.placements:
            errors.append(_err(w.profile, w.start, f"{w.profile} cannot start at memory slice {w.start} on {table.model}: NVIDIA allows it only at {_fmt_starts(p)}"))  # fmt: skip
            continue
        clash = sorted(
            {used[s].profile + f" at {used[s].start}" for s in _slices(w.start, p.memory_slices) if s in used}
        )
        if clash:
            errors.append(_err(w.profile, w.start, f"{w.profile} at {w.start} ({_span(w.start, p.memory_slices)}) overlaps {', '.join(clash)}"))  # fmt: skip
            continue
        placed = Placed(w.profile, w.start, p.memory_slices)
        pinned.append(placed)
        for s in _slices(w.start, p.memory_slices):
            used[s] = placed
    if errors:
        return [], errors
    free = [w for w in known if w.start is None]
    auto, problem = _auto_place(table, free, used, current or [])
    if problem is not None:
        return [], [problem]
    placed_all = pinned + auto
    return sorted(placed_all, key=lambda x: (x.start, x.profile)), []


def _auto_place(
    table: MigTable, wants: list[Want], used: dict[int, Placed], current: list[Instance]
) -> tuple[list[Placed], dict[str, Any] | None]:
    def order_key(w: Want) -> tuple:
        p = table.profile(w.profile)
        assert p is not None
        return (-p.memory_slices, -p.compute_slices, w.index)

    wants = sorted(wants, key=order_key)
    existing: dict[str, list[int]] = {}
    for inst in current:
        existing.setdefault(inst.profile, []).append(inst.start)

    def candidates(p: MigProfile) -> list[int]:
        first = [s for s in existing.get(p.name, []) if s in p.placements]
        return first + [s for s in p.placements if s not in first]

    taken = set(used)
    result: list[Placed] = []

    def search(i: int) -> bool:
        if i == len(wants):
            return True
        p = table.profile(wants[i].profile)
        assert p is not None
        for start in candidates(p):
            span = _slices(start, p.memory_slices)
            if span & taken or max(span) >= table.memory_slices:
                continue
            taken.update(span)
            result.append(Placed(p.name, start, p.memory_slices))
            if search(i + 1):
                return True
            result.pop()
            taken.difference_update(span)
        return False

    if search(0):
        return result, None
    # Say which profile found no room: place greedily in the same order and report the first miss.
    occupied = dict(used)
    for w in wants:
        p = table.profile(w.profile)
        assert p is not None
        for start in candidates(p):
            span = _slices(start, p.memory_slices)
            if not (span & set(occupied)) and max(span) < table.memory_slices:
                placed = Placed(p.name, start, p.memory_slices)
                occupied.update(dict.fromkeys(span, placed))
                break
        else:
            holders = sorted({(v.start, v.profile, v.size) for v in occupied.values()})
            held = "; ".join(f"{_span(s, n)} hold {name}" for s, name, n in holders) or "nothing else"
            return [], _err(w.profile, None, f"{w.profile} does not fit: it may start only at memory slice {_fmt_starts(p)} and each of those overlaps the other instances ({held})")  # fmt: skip
    return [], _err(None, None, "no arrangement of these profiles fits the GPU's placements")


def diff(current: list[Instance], placed: list[Placed]) -> dict[str, list[dict[str, Any]]]:
    want = {p.key() for p in placed}
    have = {i.key() for i in current}
    return {
        "keep": [i.to_json() for i in current if i.key() in want],
        "remove": [i.to_json() for i in current if i.key() not in want],
        "add": [p.to_json() for p in placed if p.key() not in have],
    }


def operations(
    gpu_index: int, mig_current: bool, change: dict[str, list[dict[str, Any]]], turn_off: bool
) -> list[str]:
    """The NVML calls the apply transaction performs, in order."""
    ops: list[str] = []
    if not mig_current and not turn_off and change["add"]:
        ops.append(f"enable MIG mode on GPU {gpu_index} (nvmlDeviceSetMigMode)")
    for inst in change["remove"]:
        where = f"{inst['profile']} at placement {inst['start']}"
        if inst.get("ci_id") is not None:
            ops.append(f"destroy compute instance {inst['ci_id']} of GPU instance {inst['gi_id']} ({where}) (nvmlComputeInstanceDestroy)")  # fmt: skip
        ops.append(f"destroy GPU instance {inst['gi_id']} ({where}) (nvmlGpuInstanceDestroy)")
    for inst in change["add"]:
        ops.append(f"create GPU instance {inst['profile']} at placement {inst['start']} (nvmlDeviceCreateGpuInstanceWithPlacement)")  # fmt: skip
        ops.append(f"create compute instance {inst['profile']} spanning that GPU instance (nvmlGpuInstanceCreateComputeInstance)")  # fmt: skip
    if turn_off and mig_current:
        ops.append(f"disable MIG mode on GPU {gpu_index} (nvmlDeviceSetMigMode)")
    if ops:
        ops.append("read back the GPU and compute instances and compare them with the plan")
    return ops


def plan(
    table: MigTable, gpu_index: int, mig_current: bool, current: list[Instance], layout: Any
) -> dict[str, Any]:
    """The contract's plan: validity, reasons, placement, diff and NVML operations."""
    current = current if mig_current else []
    placed, errors = validate(table, layout, current)
    if errors:
        return {"valid": False, "errors": errors, "placed": [], "diff": {"keep": [], "remove": [], "add": []},
                "operations": []}  # fmt: skip
    change = diff(current, placed)
    turn_off = not placed
    return {
        "valid": True,
        "errors": [],
        "placed": [p.to_json() for p in placed],
        "diff": change,
        "operations": operations(gpu_index, mig_current, change, turn_off),
    }


def _by_shape(table: MigTable) -> dict[tuple[int, int], str]:
    out: dict[tuple[int, int], str] = {}
    for p in table.profiles:
        if "+" not in p.name:
            out.setdefault((p.compute_slices, p.memory_slices), p.name)
    return out


def presets(table: MigTable) -> dict[str, list[str]]:
    """Common layouts, named with this GPU's profile names; each one is valid on it."""
    s = _by_shape(table)
    g1, g2, g3, g4, g7 = (s.get(k) for k in ((1, 1), (2, 2), (3, 4), (4, 4), (7, 8)))
    candidates: dict[str, list[str | None]] = {
        f"7x {g1}": [g1] * 7,
        f"3x {g2} + {g1}": [g2, g2, g2, g1],
        f"2x {g3}": [g3, g3],
        f"1x {g7}": [g7],
        "3g+2g+1g+1g": [g3, g2, g1, g1],
        "4g+3g": [g4, g3],
    }
    out = {}
    for name, layout in candidates.items():
        if all(layout) and not validate(table, layout)[1]:
            out[name] = [x for x in layout if x]
    return out


def fit_profile(table: MigTable, memory_mb: float) -> MigProfile | None:
    """The smallest profile (by memory, then compute) holding ``memory_mb``; no media-extension ones."""
    fits = [p for p in table.profiles if "+" not in p.name and p.memory_mb >= memory_mb]
    return min(fits, key=lambda p: (p.memory_mb, p.compute_slices), default=None)


def recommend(table: MigTable, jobs: list[tuple[str, float]]) -> dict[str, Any]:
    """Pack queued single-device jobs ``(job id, memory_gb)``, highest priority first, into the
    smallest profile each fits; a job that no longer fits is left for a whole GPU."""
    layout: list[str] = []
    notes, left = [], []
    for job_id, memory_gb in jobs:
        p = fit_profile(table, memory_gb * GB_MB)
        if p is None or p.compute_slices == table.slices:
            left.append(f"{job_id} ({memory_gb:g} GB needs a whole GPU)")
            continue
        if validate(table, [*layout, p.name])[1]:
            left.append(f"{job_id} ({memory_gb:g} GB, no room left)")
            continue
        layout.append(p.name)
        notes.append(f"{job_id}: {memory_gb:g} GB → {p.name}")
    if not layout:
        reason = "no queued single-device job declares resources.memory_gb that fits a MIG slice; keep the whole GPU"
        if left:
            reason += f" (left: {', '.join(left)})"
        return {"layout": [], "reason": reason, "jobs": []}
    reason = f"packs {len(notes)} queued job(s) by their memory needs: " + "; ".join(notes)
    if left:
        reason += f". Not packed: {', '.join(left)}"
    return {"layout": layout, "reason": reason, "jobs": notes}
