"""The GPUs panel's data, as plain Python (no Qt): the rows of a ``/v1/gpus`` snapshot
(each GPU followed by its MIG devices), the processes, and per-device sample history
(fed once by ``/v1/gpus/history`` and then by every snapshot), with the cell texts."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

METRICS = ("util_pct", "memory_used_mb", "temp_c", "power_w")
HISTORY_S = 3600
SPARK_S = 300  # the sparklines show the last five minutes


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


@dataclass
class DeviceHistory:
    """Samples of one GPU or MIG device: a time column and one column per metric (NaN = none)."""

    maxlen: int = HISTORY_S
    time: deque[float] = field(default_factory=deque)
    values: dict[str, deque[float]] = field(default_factory=dict)
    version: int = 0

    def __post_init__(self) -> None:
        self.time = deque(self.time, maxlen=self.maxlen)
        self.values = {m: deque(maxlen=self.maxlen) for m in METRICS}

    def __len__(self) -> int:
        return len(self.time)

    def append(self, t: float, sample: dict[str, Any]) -> bool:
        if self.time and t <= self.time[-1]:
            return False
        self.time.append(t)
        for m in METRICS:
            self.values[m].append(_num(sample.get(m)))
        self.version += 1
        return True

    def merge(self, columns: dict[str, list[Any]]) -> None:
        """Merge a history block (``{"time": [...], metric: [...]}``) with what is here."""
        rows: dict[float, tuple[float, ...]] = {}
        times = columns.get("time") or []
        for i, t in enumerate(times):
            rows[float(t)] = tuple(_num((columns.get(m) or [None] * len(times))[i]) for m in METRICS)
        for i, t in enumerate(self.time):
            rows[t] = tuple(self.values[m][i] for m in METRICS)
        self.time.clear()
        for col in self.values.values():
            col.clear()
        for t in sorted(rows):
            self.time.append(t)
            for m, v in zip(METRICS, rows[t], strict=True):
                self.values[m].append(v)
        self.version += 1

    def recent(self, metric: str, seconds: float = SPARK_S) -> list[float]:
        """The values of the last ``seconds`` (by sample time)."""
        if not self.time:
            return []
        cutoff = self.time[-1] - seconds
        n = 0
        for t in reversed(self.time):
            if t <= cutoff:
                break
            n += 1
        tail = list(islice(reversed(self.values[metric]), n))  # deque indexing is O(n): walk from the end
        tail.reverse()
        return tail


@dataclass(frozen=True)
class DeviceRow:
    """One row of the devices table: a whole GPU or one of its MIG devices."""

    uuid: str
    gpu_uuid: str
    kind: str  # "gpu" | "mig"
    data: dict[str, Any]
    gpu: dict[str, Any]

    @property
    def label(self) -> str:
        if self.kind == "gpu":
            return f"GPU {self.gpu.get('index', '?')}"
        return f"  └ MIG {self.data.get('profile', '?')}"


def device_rows(snapshot: dict[str, Any]) -> list[DeviceRow]:
    rows: list[DeviceRow] = []
    for gpu in snapshot.get("gpus") or []:
        rows.append(DeviceRow(gpu["uuid"], gpu["uuid"], "gpu", gpu, gpu))
        for mig in sorted(gpu.get("mig_devices") or [], key=lambda m: (m.get("start") or 0, m["uuid"])):
            rows.append(DeviceRow(mig["uuid"], gpu["uuid"], "mig", mig, gpu))
    return rows


@dataclass(frozen=True)
class ProcessRow:
    key: str  # "<device uuid>/<pid>"
    pid: int
    user: str
    used_mb: float
    device_uuid: str
    gpu_uuid: str
    device_label: str
    job_id: str | None


def process_rows(snapshot: dict[str, Any]) -> list[ProcessRow]:
    rows: list[ProcessRow] = []
    for gpu in snapshot.get("gpus") or []:
        migs = {m["uuid"]: m for m in gpu.get("mig_devices") or []}
        for p in gpu.get("processes") or []:
            dev = str(p.get("device_uuid") or gpu["uuid"])
            label = f"GPU {gpu.get('index', '?')}"
            if dev in migs:
                label += f" · MIG {migs[dev].get('profile', '?')}"
            rows.append(
                ProcessRow(
                    key=f"{dev}/{p.get('pid')}",
                    pid=int(p.get("pid") or 0),
                    user=str(p.get("user") or "?"),
                    used_mb=_num(p.get("used_mb")),
                    device_uuid=dev,
                    gpu_uuid=gpu["uuid"],
                    device_label=label,
                    job_id=p.get("job_id"),
                )
            )
    return rows


class HistoryStore:
    """Every device's history, by UUID."""

    def __init__(self, maxlen: int = HISTORY_S):
        self.maxlen = maxlen
        self.devices: dict[str, DeviceHistory] = {}

    def device(self, uuid: str) -> DeviceHistory:
        if uuid not in self.devices:
            self.devices[uuid] = DeviceHistory(self.maxlen)
        return self.devices[uuid]

    def latest_time(self) -> float | None:
        times = [h.time[-1] for h in self.devices.values() if h.time]
        return max(times) if times else None

    def load(self, payload: dict[str, Any]) -> None:
        for uuid, columns in (payload.get("devices") or {}).items():
            self.device(uuid).merge(columns)

    def add_snapshot(self, snapshot: dict[str, Any]) -> set[str]:
        """Append each device's current values; returns the UUIDs that got a new sample."""
        t = _num(snapshot.get("time"))
        if math.isnan(t):
            return set()
        changed = set()
        for row in device_rows(snapshot):
            if self.device(row.uuid).append(t, row.data):
                changed.add(row.uuid)
        return changed


# ------------------------------------------------------------------ cell texts
def fmt_gib(mb: Any) -> str:
    v = _num(mb)
    return "–" if math.isnan(v) else f"{v / 1024:.1f}"


def memory_text(d: dict[str, Any]) -> str:
    used, total = d.get("memory_used_mb"), d.get("memory_total_mb")
    if used is None and total is None:
        return "–"
    return f"{fmt_gib(used)} / {fmt_gib(total)} GiB"


def util_text(d: dict[str, Any]) -> str:
    v = _num(d.get("util_pct"))
    return "–" if math.isnan(v) else f"{v:.0f}%"


def temp_text(d: dict[str, Any]) -> str:
    v = _num(d.get("temp_c"))
    return "–" if math.isnan(v) else f"{v:.0f} °C"


def power_text(d: dict[str, Any]) -> str:
    v, limit = _num(d.get("power_w")), _num(d.get("power_limit_w"))
    if math.isnan(v):
        return "–"
    return f"{v:.0f} W" if math.isnan(limit) else f"{v:.0f} / {limit:.0f} W"


def mig_text(row: DeviceRow) -> str:
    if row.kind == "mig":
        d = row.data
        size = int(d.get("size") or 1)
        start = int(d.get("start") or 0)
        where = f"slot {start}" if size == 1 else f"slots {start}–{start + size - 1}"
        return f"GI {d.get('gi_id', '?')} · CI {d.get('ci_id', '?')} · {where}"
    mig = row.data.get("mig")
    if not isinstance(mig, dict):
        return "not supported"
    current, pending = bool(mig.get("current")), bool(mig.get("pending"))
    text = "on" if current else "off"
    if pending != current:
        text += f" (→ {'on' if pending else 'off'} after a GPU reset)"
    elif current:
        text += f" · {len(row.data.get('mig_devices') or [])} instances"
    return text


def spark_range(metric: str, d: dict[str, Any], values: list[float]) -> tuple[float, float]:
    """The fixed vertical range of a sparkline, so a flat line means "steady", not "maximum"."""
    peak = max((v for v in values if v == v), default=0.0)  # v == v: not NaN
    if metric == "util_pct":
        return 0.0, 100.0
    if metric == "memory_used_mb":
        return 0.0, max(_num(d.get("memory_total_mb")) if d.get("memory_total_mb") else 0.0, peak, 1.0)
    if metric == "temp_c":
        return 20.0, max(95.0, peak)
    limit = _num(d.get("power_limit_w"))
    return 0.0, max(0.0 if math.isnan(limit) else limit, peak, 1.0)
