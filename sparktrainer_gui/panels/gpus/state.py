"""The GPUs panel's data, as plain Python (no Qt): the rows of a ``/v1/gpus`` snapshot
(``GpuList``: each GPU followed by its MIG devices), the processes, and per-device sample
history (fed once by ``/v1/gpus/history`` and then by every snapshot), with the cell texts.
Everything reads the contract's views (``api/schema/gpus.py``) by attribute."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from trainer_runtime.api.schema.gpus import DeviceHistory as HistoryColumns
from trainer_runtime.api.schema.gpus import GpuHistory, GpuList, GpuView, MigView

Device = GpuView | MigView
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

    def append(self, t: float, sample: tuple[Any, ...]) -> bool:
        """One sample: the values of METRICS, in order (``sample_of``)."""
        if self.time and t <= self.time[-1]:
            return False
        self.time.append(t)
        for m, v in zip(METRICS, sample, strict=True):
            self.values[m].append(_num(v))
        self.version += 1
        return True

    def merge(self, block: HistoryColumns) -> None:
        """Merge a device's history block (a column per metric) with what is here."""
        rows: dict[float, tuple[float, ...]] = {}
        columns = [block.util_pct, block.memory_used_mb, block.temp_c, block.power_w]  # METRICS' order
        for i, t in enumerate(block.time):
            rows[float(t)] = tuple(_num(col[i] if i < len(col) else None) for col in columns)
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
    data: Device
    gpu: GpuView

    @property
    def label(self) -> str:
        """The table's tree label (the contract's ``label`` is the one-line name elsewhere)."""
        if isinstance(self.data, MigView):
            return f"  └ MIG {self.data.profile}"
        return f"GPU {self.gpu.index}"


def sample_of(d: Device) -> tuple[Any, ...]:
    """A device's values of METRICS, in order (a MIG slice has no temperature or power)."""
    if isinstance(d, GpuView):
        return (d.util_pct, d.memory_used_mb, d.temp_c, d.power_w)
    return (d.util_pct, d.memory_used_mb, None, None)


def device_rows(snapshot: GpuList) -> list[DeviceRow]:
    rows: list[DeviceRow] = []
    for gpu in snapshot.gpus:
        rows.append(DeviceRow(gpu.uuid, gpu.uuid, "gpu", gpu, gpu))
        for mig in sorted(gpu.mig_devices, key=lambda m: (m.start, m.uuid)):
            rows.append(DeviceRow(mig.uuid, gpu.uuid, "mig", mig, gpu))
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


def process_rows(snapshot: GpuList) -> list[ProcessRow]:
    rows: list[ProcessRow] = []
    for gpu in snapshot.gpus:
        migs = {m.uuid: m for m in gpu.mig_devices}
        for p in gpu.processes:
            dev = p.device_uuid or gpu.uuid
            label = f"GPU {gpu.index}"
            if dev in migs:
                label += f" · MIG {migs[dev].profile}"
            rows.append(
                ProcessRow(
                    key=f"{dev}/{p.pid}",
                    pid=p.pid,
                    user=p.user or "?",
                    used_mb=_num(p.used_mb),
                    device_uuid=dev,
                    gpu_uuid=gpu.uuid,
                    device_label=label,
                    job_id=p.job_id,
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

    def load(self, payload: GpuHistory) -> None:
        for uuid, block in payload.devices.items():
            self.device(uuid).merge(block)

    def add_snapshot(self, snapshot: GpuList) -> set[str]:
        """Append each device's current values; returns the UUIDs that got a new sample."""
        t = _num(snapshot.time)
        if math.isnan(t):
            return set()
        changed = set()
        for row in device_rows(snapshot):
            if self.device(row.uuid).append(t, sample_of(row.data)):
                changed.add(row.uuid)
        return changed


# ------------------------------------------------------------------ cell texts
def fmt_gib(mb: Any) -> str:
    v = _num(mb)
    return "–" if math.isnan(v) else f"{v / 1024:.1f}"


def memory_text(d: Device) -> str:
    return f"{fmt_gib(d.memory_used_mb)} / {fmt_gib(d.memory_total_mb)} GiB"


def util_text(d: Device) -> str:
    v = _num(d.util_pct)
    return "–" if math.isnan(v) else f"{v:.0f}%"


def temp_text(d: Device) -> str:
    v = _num(d.temp_c) if isinstance(d, GpuView) else math.nan
    return "–" if math.isnan(v) else f"{v:.0f} °C"


def _power_limit(d: Device) -> float:
    return _num(d.power_limit_w) if isinstance(d, GpuView) else math.nan


def power_text(d: Device) -> str:
    v, limit = (_num(d.power_w) if isinstance(d, GpuView) else math.nan), _power_limit(d)
    if math.isnan(v):
        return "–"
    return f"{v:.0f} W" if math.isnan(limit) else f"{v:.0f} / {limit:.0f} W"


def mig_text(row: DeviceRow) -> str:
    d = row.data
    if isinstance(d, MigView):
        where = f"slot {d.start}" if d.size == 1 else f"slots {d.start}–{d.start + d.size - 1}"
        return f"GI {d.gi_id} · CI {d.ci_id} · {where}"
    current, pending = d.mig.current, d.mig.pending
    text = "on" if current else "off"
    if pending != current:
        text += f" (→ {'on' if pending else 'off'} after a GPU reset)"
    elif current:
        text += f" · {len(d.mig_devices)} instances"
    return text


def spark_range(metric: str, d: Device, values: list[float]) -> tuple[float, float]:
    """The fixed vertical range of a sparkline, so a flat line means "steady", not "maximum"."""
    peak = max((v for v in values if v == v), default=0.0)  # v == v: not NaN
    if metric == "util_pct":
        return 0.0, 100.0
    if metric == "memory_used_mb":
        return 0.0, max(float(d.memory_total_mb or 0), peak, 1.0)
    if metric == "temp_c":
        return 20.0, max(95.0, peak)
    limit = _power_limit(d)
    return 0.0, max(0.0 if math.isnan(limit) else limit, peak, 1.0)
