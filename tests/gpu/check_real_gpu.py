"""Check the NVML back end against a real GPU. Run by hand where a GPU is at hand:

    python tests/gpu/check_real_gpu.py [--steps 200] [--no-train]

READ-ONLY: it never changes MIG mode, partitions, clocks or power limits and never resets a
GPU (the back end's changing methods are disabled below, and the daemon it starts is never
asked to apply anything). Not collected by pytest (the name has no ``test_`` prefix); without a
GPU it says so and exits 0.

It (1) reads every GPU and MIG device through the NVML back end, (2) compares names, memory,
MIG mode and the MIG profiles/placements with ``nvidia-smi --query-gpu`` and
``nvidia-smi mig -lgip`` / ``-lgipp``, and (3) runs a short real training job through a
daemon of its own (a temporary data dir), pinned by the scheduler to a GPU or MIG slice, and
prints the worker's device, CUDA_VISIBLE_DEVICES and tokens/s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from trainer_runtime.gpu.errors import GpuError  # noqa: E402
from trainer_runtime.gpu.nvml import NvmlBackend  # noqa: E402

MUTATING = ("set_mig_mode", "create_gpu_instance", "create_compute_instance",
            "destroy_compute_instance", "destroy_gpu_instance")  # fmt: skip


def read_only(backend: NvmlBackend) -> NvmlBackend:
    def refuse(*_a, **_k):
        raise RuntimeError("check_real_gpu.py is read-only: it never changes a GPU")

    for name in MUTATING:
        setattr(backend, name, refuse)
    return backend


def smi(*args: str) -> str | None:
    if shutil.which("nvidia-smi") is None:
        return None
    out = subprocess.run(["nvidia-smi", *args], capture_output=True, text=True, timeout=60)
    return out.stdout if out.returncode == 0 else None


def compare_gpus(backend: NvmlBackend) -> int:
    problems = 0
    gpus = backend.snapshot()
    csv = smi("--query-gpu=index,uuid,name,memory.total,mig.mode.current,mig.mode.pending",
              "--format=csv,noheader,nounits")  # fmt: skip
    rows = {}
    for line in (csv or "").strip().splitlines():
        idx, uuid, name, mem, cur, pend = [x.strip() for x in line.split(",")]
        rows[uuid] = (name, int(mem), cur, pend)
    for g in gpus:
        print(f"GPU {g.index} {g.name} [{g.model}] {g.uuid}: {g.memory_used_mb}/{g.memory_total_mb} MiB, "
              f"util {g.util_pct}%, {g.temp_c} C, {g.power_w}/{g.power_limit_w} W, SM {g.sm_clock_mhz} MHz, "
              f"ECC {g.ecc_errors}, MIG current={g.mig_current} pending={g.mig_pending}")  # fmt: skip
        for m in g.mig_devices:
            print(f"   MIG {m.profile} @{m.start}:{m.size} GI {m.gi_id} CI {m.ci_id} {m.uuid} "
                  f"{m.memory_used_mb}/{m.memory_total_mb} MiB")  # fmt: skip
        for p in g.processes:
            print(f"   process {p.pid} ({p.user}) {p.used_mb} MiB on {p.device_uuid}")
        ref = rows.get(g.uuid)
        if ref is None:
            print("   nvidia-smi: not available or GPU not listed; skipped the comparison")
            continue
        name, mem, cur, _ = ref
        checks = {
            "name": (g.name, name),
            "memory.total MiB": (g.memory_total_mb, mem),
            "mig.mode.current": (g.mig_current, cur == "Enabled"),
        }
        for what, (ours, theirs) in checks.items():
            ok = ours == theirs
            problems += not ok
            print(f"   {'OK  ' if ok else 'DIFF'} {what}: NVML back end {ours!r}, nvidia-smi {theirs!r}")
    return problems


def compare_profiles(backend: NvmlBackend) -> int:
    problems = 0
    lgip = smi("mig", "-lgip") or ""
    lgipp = smi("mig", "-lgipp") or ""
    for g in backend.snapshot():
        try:
            table = backend.mig_table(g.uuid)
        except GpuError as err:
            print(f"GPU {g.index}: {err}")
            continue
        print(
            f"GPU {g.index} MIG profiles ({table.model}, {table.slices} compute / {table.memory_slices} memory slices):"
        )
        for p in table.profiles:
            print(f"   {p.name:<12} id {p.id:>2}  {p.compute_slices}g  {p.memory_slices} mem  {p.memory_mb} MiB  "
                  f"max {p.max_count}  starts {list(p.placements)}")  # fmt: skip
        smi_rows = re.findall(rf"\|\s+{g.index}\s+MIG\s+(\S+)\s+(\d+)\s+\d+/(\d+)\s+([\d.]+)", lgip)
        if not smi_rows:
            print("   nvidia-smi mig -lgip lists nothing for this GPU (MIG off or not supported); skipped")
            continue
        for name, pid, total, gib in smi_rows:
            p = table.profile(name)
            ok = (
                p is not None
                and p.id == int(pid)
                and p.max_count == int(total)
                and abs(p.memory_mb / 1024 - float(gib)) < 0.02
            )
            problems += not ok
            print(f"   {'OK  ' if ok else 'DIFF'} {name}: -lgip id {pid}, {total} instances, {gib} GiB")
        for pid, starts, size in re.findall(
            rf"GPU\s+{g.index}\s+Profile ID\s+(\d+)\s+Placements?\s*:\s*\{{([\d,]+)\}}:(\d+)", lgipp
        ):
            p = table.by_id(int(pid))
            want = tuple(int(s) for s in starts.split(","))
            ok = p is not None and p.placements == want and p.memory_slices == int(size)
            problems += not ok
            print(f"   {'OK  ' if ok else 'DIFF'} profile {pid} placements: -lgipp {{{starts}}}:{size}")
    return problems


def train(steps: int) -> int:
    """A real job through a daemon of its own; the scheduler pins it with CUDA_VISIBLE_DEVICES."""
    from trainer_runtime.client.client import Client, start_daemon
    from trainer_runtime.paths import DataDir

    home = Path(tempfile.mkdtemp(prefix="st-gpu-check-"))
    os.environ["SPARKTRAINER_HOME"] = str(home)
    os.environ.pop("SPARKTRAINER_GPU_SIM", None)
    os.environ.setdefault("SPARKTRAINER_MLFLOW", "off")
    data = DataDir.default().ensure()
    start_daemon(data)
    client = Client(data)
    try:
        spec = {
            "name": "gpu-check", "recipe": "causal-lm", "model": {"builtin": "tiny-gpt2"}, "method": "full",
            "dataset": {"path": str(ROOT / "resources" / "samples" / "corpus.txt")},
            "train": {"max_steps": steps, "batch_size": 32, "seq_len": 128, "lr": 1e-3, "eval_every": 0},
        }  # fmt: skip
        devices = client.status().devices
        if devices.kind != "gpu" or devices.busy >= devices.total:
            print(f"not training: no free GPU for the scheduler ({devices.model_dump_json()})")
            return 1
        job = client.submit(spec)
        job = client.wait(job.id, timeout=1800)
        print(f"job {job.id}: {job.state} ({job.reason}) on {job.device_label or job.devices}")
        events = [json.loads(x) for x in (Path(job.job_dir) / "events.jsonl").read_text().splitlines()]
        started = next((e for e in events if e["type"] == "started"), {})
        print(
            f"worker device: {started.get('device')}; CUDA_VISIBLE_DEVICES={started.get('cuda_visible_devices')}"
        )
        rates = [p.value for p in client.metrics(job.id, key="tokens_per_s").points]
        if rates:
            tail = rates[len(rates) // 2 :]
            print(
                f"tokens/s: {sum(tail) / len(tail):,.0f} (mean of the last {len(tail)} steps; peak {max(rates):,.0f})"
            )
        if not str(started.get("device", "")).startswith("cuda"):
            print("WARNING: the worker trained on CPU: install a CUDA build of torch to train on the GPU")
        return 0 if job.state == "COMPLETED" else 1
    finally:
        client.shutdown()
        time.sleep(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--no-train", action="store_true")
    args = parser.parse_args()
    try:
        backend = read_only(NvmlBackend.open())
    except GpuError as err:
        print(f"skipped: {err}")
        return 0
    try:
        problems = compare_gpus(backend) + compare_profiles(backend)
    finally:
        backend.close()
    rc = 0 if args.no_train else train(args.steps)
    print(f"\n{problems} difference(s) between the NVML back end and nvidia-smi")
    return 1 if problems or rc else 0


if __name__ == "__main__":
    sys.exit(main())
