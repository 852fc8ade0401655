"""A simulated GPU set for machines without GPUs (tests, demos): ``SPARKTRAINER_GPU_SIM=8xH100-80GB``
or ``2xA100-40GB,1xH200``.

It follows NVIDIA's MIG tables (``tables.py``) and really performs MIG operations on its own
state (kept in ``gpu-sim.json`` of the data dir, so a daemon restart keeps the layout, as a real
GPU does). Load is simulated from real processes: a process that names a simulated device in
``CUDA_VISIBLE_DEVICES`` runs "on" it (under torchrun, rank ``LOCAL_RANK`` takes the
LOCAL_RANK-th device; torchrun's launcher holds no CUDA context and is skipped), using its
resident memory as device memory and its CPU use as utilisation. Processes of another
SparkTrainer data dir (another ``SPARKTRAINER_HOME``) are not on this set.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import uuid as uuidlib
from pathlib import Path
from typing import Any

import psutil

from trainer_runtime.gpu.backend import GpuBackend
from trainer_runtime.gpu.errors import GpuError
from trainer_runtime.gpu.model import GpuInfo, GpuProcess, Instance, MigDevice, MigTable
from trainer_runtime.gpu.tables import BOARDS, TABLES, known_models

log = logging.getLogger(__name__)
NS = uuidlib.UUID("5b1e7d2a-3c4f-4a8e-9d60-2f1b8c7a9e01")
FAIL_ENV = "SPARKTRAINER_GPU_SIM_FAIL"  # e.g. "create_compute_instance:2" (the 2nd such call fails)


def parse_spec(spec: str) -> list[str]:
    """``8xH100-80GB,1xH200`` → model per GPU index."""
    models: list[str] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        m = re.fullmatch(r"(?:(\d+)\s*[xX×]\s*)?(.+)", part)
        assert m is not None
        count, model = int(m.group(1) or 1), m.group(2).strip()
        key = next((k for k in TABLES if k.lower() == model.lower()), None)
        if key is None:
            raise GpuError(
                f"unknown simulated GPU model {model!r} in SPARKTRAINER_GPU_SIM; known models: "
                f"{', '.join(known_models())} (e.g. SPARKTRAINER_GPU_SIM=8xH100-80GB)"
            )
        if not 1 <= count <= 64:
            raise GpuError(f"SPARKTRAINER_GPU_SIM asks for {count} x {key}; use 1 to 64 GPUs per model")
        models += [key] * count
    if not models:
        raise GpuError("SPARKTRAINER_GPU_SIM is empty; e.g. SPARKTRAINER_GPU_SIM=8xH100-80GB")
    return models


def _uuid(prefix: str, *parts: object) -> str:
    return f"{prefix}-{uuidlib.uuid5(NS, '/'.join(map(str, parts)))}"


class SimBackend(GpuBackend):
    name = "sim"
    needs_root = False

    def __init__(self, models: list[str], state_file: Path | None = None, home: str | None = None,
                 fail_on: str | None = None):  # fmt: skip
        self.models = models
        self.state_file = state_file
        self.home = home
        self._lock = threading.RLock()
        self._procs: dict[int, psutil.Process] = {}
        self._calls: dict[str, int] = {}
        self._fail = fail_on
        self.gpus: list[dict[str, Any]] = [
            {"model": m, "uuid": _uuid("GPU", "sim", i, m), "mig_current": False, "mig_pending": False,
             "gis": {}, "temp": 30.0}
            for i, m in enumerate(models)
        ]  # fmt: skip
        self._load()

    @classmethod
    def from_spec(cls, spec: str, data_root: Path | None = None) -> SimBackend:
        state = (data_root / "gpu-sim.json") if data_root else None
        home = str(data_root) if data_root else os.environ.get("SPARKTRAINER_HOME")
        return cls(parse_spec(spec), state, home, os.environ.get(FAIL_ENV))

    # ------------------------------------------------------------------ state
    def _load(self) -> None:
        if not self.state_file or not self.state_file.exists():
            return
        try:
            saved = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            log.warning("ignoring unreadable %s: %s", self.state_file, err)
            return
        if saved.get("models") != self.models:
            return  # another simulated set: start clean
        for g, s in zip(self.gpus, saved["gpus"], strict=True):
            g["mig_current"], g["mig_pending"] = s["mig_current"], s["mig_pending"]
            g["gis"] = {int(k): v for k, v in s["gis"].items()}

    def _save(self) -> None:
        if not self.state_file:
            return
        data = {"models": self.models, "gpus": [
            {"mig_current": g["mig_current"], "mig_pending": g["mig_pending"], "gis": g["gis"]} for g in self.gpus
        ]}  # fmt: skip
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self.state_file)

    def _gpu(self, uuid: str) -> dict[str, Any]:
        for g in self.gpus:
            if g["uuid"] == uuid:
                return g
        raise GpuError(f"no simulated GPU {uuid}")

    def _maybe_fail(self, op: str) -> None:
        self._calls[op] = self._calls.get(op, 0) + 1
        if self._fail and self._fail == f"{op}:{self._calls[op]}":
            raise GpuError(f"{op} failed: simulated NVML error (Insufficient Resources)")

    # ---------------------------------------------------------------- reading
    def mig_table(self, uuid: str) -> MigTable:
        return TABLES[self._gpu(uuid)["model"]]

    def mig_mode(self, uuid: str) -> tuple[bool, bool]:
        g = self._gpu(uuid)
        return g["mig_current"], g["mig_pending"]

    def instances(self, uuid: str) -> list[Instance]:
        with self._lock:
            g = self._gpu(uuid)
            table = TABLES[g["model"]]
            out = []
            for gi_id, gi in sorted(g["gis"].items()):
                p = table.by_id(gi["profile_id"])
                assert p is not None
                for ci_id in gi["cis"] or [None]:
                    out.append(Instance(p.name, gi["start"], p.memory_slices, gi_id, ci_id,
                                        _uuid("MIG", g["uuid"], gi_id, ci_id) if ci_id is not None else None))  # fmt: skip
            return out

    def snapshot(self) -> list[GpuInfo]:
        with self._lock:
            procs = self._scan()
            out = []
            for i, g in enumerate(self.gpus):
                board = BOARDS[g["model"]]
                migs = [
                    MigDevice(inst.uuid, inst.profile, inst.gi_id or 0, inst.ci_id or 0, inst.start, inst.size,
                              self.mig_table(g["uuid"]).profile(inst.profile).memory_mb, 0)  # type: ignore[union-attr]
                    for inst in self.instances(g["uuid"]) if inst.uuid and g["mig_current"]
                ]  # fmt: skip
                ids = {g["uuid"]} | {m.uuid for m in migs}
                mine = [p for p in procs if p[0].device_uuid in ids]
                for m in migs:
                    m.memory_used_mb = min(
                        m.memory_total_mb, sum(p.used_mb for p, _ in mine if p.device_uuid == m.uuid)
                    )
                util = min(100.0, sum(u for _, u in mine))
                g["temp"] += ((32 + 0.45 * util) - g["temp"]) * 0.3  # a GPU warms up and cools down
                used = min(board["memory_mb"], sum(p.used_mb for p, _ in mine))
                out.append(GpuInfo(
                    index=i, uuid=g["uuid"], name=board["name"], model=g["model"],
                    memory_total_mb=board["memory_mb"], memory_used_mb=used,
                    util_pct=round(util, 1), temp_c=round(g["temp"], 1),
                    power_w=round(board["idle_w"] + (board["power_limit_w"] - board["idle_w"]) * util / 100, 1),
                    power_limit_w=board["power_limit_w"],
                    sm_clock_mhz=board["sm_clock"] if util > 0 else 345, mem_clock_mhz=board["mem_clock"],
                    ecc_errors=0, mig_current=g["mig_current"], mig_pending=g["mig_pending"],
                    mig_devices=migs, processes=[p for p, _ in mine],
                ))  # fmt: skip
            return out

    def _device_ids(self) -> set[str]:
        ids = {g["uuid"] for g in self.gpus}
        for g in self.gpus:
            ids |= {i.uuid for i in self.instances(g["uuid"]) if i.uuid}
        return ids

    def _scan(self) -> list[tuple[GpuProcess, float]]:
        """Processes that name a simulated device in CUDA_VISIBLE_DEVICES: (process, cpu %)."""
        ids = self._device_ids()
        found: list[tuple[GpuProcess, float]] = []
        alive: set[int] = set()
        for proc in psutil.process_iter(["pid", "username"]):
            try:
                env = proc.environ()
            except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess, OSError):
                continue
            visible = [t.strip() for t in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if t.strip() in ids]
            if not visible:
                continue
            if env.get("SPARKTRAINER_HOME") and self.home and env["SPARKTRAINER_HOME"] != self.home:
                continue  # another instance's simulated set
            try:
                if "torch.distributed.run" in " ".join(proc.cmdline()):
                    continue
                cached = self._procs.setdefault(proc.pid, proc)
                cpu = cached.cpu_percent(None)
                rss_mb = proc.memory_info().rss // 2**20
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            rank = int(env.get("LOCAL_RANK", "0") or 0)
            device = visible[rank] if rank < len(visible) else visible[0]
            alive.add(proc.pid)
            found.append(
                (GpuProcess(proc.pid, proc.info.get("username"), int(rss_mb), device), min(100.0, cpu))
            )
        for pid in set(self._procs) - alive:
            del self._procs[pid]
        return found

    # --------------------------------------------------------------- changing
    def set_mig_mode(self, uuid: str, enabled: bool) -> None:
        with self._lock:
            self._maybe_fail("set_mig_mode")
            g = self._gpu(uuid)
            if not enabled and g["gis"]:
                raise GpuError(
                    f"cannot disable MIG mode on {uuid}: GPU instances still exist (In use by another client)"
                )
            g["mig_current"] = g["mig_pending"] = enabled  # the simulated reset always succeeds
            self._save()

    def create_gpu_instance(self, uuid: str, profile_id: int, start: int) -> int:
        with self._lock:
            self._maybe_fail("create_gpu_instance")
            g = self._gpu(uuid)
            if not g["mig_current"]:
                raise GpuError(
                    f"cannot create a GPU instance on {uuid}: MIG mode is not enabled (Not Supported)"
                )
            table = TABLES[g["model"]]
            p = table.by_id(profile_id)
            if p is None or start not in p.placements:
                raise GpuError(
                    f"GPU instance profile {profile_id} at {start} is not a valid placement (Invalid Argument)"
                )
            busy = set()
            count = 0
            for gi in g["gis"].values():
                q = table.by_id(gi["profile_id"])
                assert q is not None
                busy |= set(range(gi["start"], gi["start"] + q.memory_slices))
                count += gi["profile_id"] == profile_id
            if busy & set(range(start, start + p.memory_slices)) or count >= p.max_count:
                raise GpuError(f"no room for {p.name} at placement {start} (Insufficient Resources)")
            gi_id = next(i for i in range(1, 64) if i not in g["gis"])
            g["gis"][gi_id] = {"profile_id": profile_id, "start": start, "cis": []}
            self._save()
            return gi_id

    def create_compute_instance(self, uuid: str, gi_id: int) -> int:
        with self._lock:
            self._maybe_fail("create_compute_instance")
            gi = self._gpu(uuid)["gis"].get(gi_id)
            if gi is None:
                raise GpuError(f"GPU instance {gi_id} does not exist on {uuid} (Not Found)")
            if gi["cis"]:
                raise GpuError(
                    f"GPU instance {gi_id} already has a full-size compute instance (Insufficient Resources)"
                )
            gi["cis"].append(0)
            self._save()
            return 0

    def destroy_compute_instance(self, uuid: str, gi_id: int, ci_id: int) -> None:
        with self._lock:
            self._maybe_fail("destroy_compute_instance")
            gi = self._gpu(uuid)["gis"].get(gi_id)
            if gi is None or ci_id not in gi["cis"]:
                raise GpuError(
                    f"compute instance {ci_id} of GPU instance {gi_id} does not exist on {uuid} (Not Found)"
                )
            gi["cis"].remove(ci_id)
            self._save()

    def destroy_gpu_instance(self, uuid: str, gi_id: int) -> None:
        with self._lock:
            self._maybe_fail("destroy_gpu_instance")
            g = self._gpu(uuid)
            gi = g["gis"].get(gi_id)
            if gi is None:
                raise GpuError(f"GPU instance {gi_id} does not exist on {uuid} (Not Found)")
            if gi["cis"]:
                raise GpuError(f"GPU instance {gi_id} still has compute instances (In use by another client)")
            del g["gis"][gi_id]
            self._save()
