"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CORPUS = ROOT / "resources" / "samples" / "corpus.txt"


def make_spec(path: Path, corpus: Path, **overrides) -> Path:
    spec = {
        "name": "tiny",
        "recipe": "causal-lm",
        "model": {"builtin": "tiny-gpt2"},
        "method": "lora",
        "dataset": {"path": str(corpus)},
        "train": {"max_steps": 30, "batch_size": 4, "seq_len": 32, "lr": 3e-3, "seed": 0, "eval_every": 10},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict) and key != "model":
            spec[key] = {**spec[key], **value}
        elif value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def cli(
    *args: str, timeout: float = 300, check: bool = False, input: str | None = None
) -> subprocess.CompletedProcess:
    """Run the real ``sparktrainer`` command in a subprocess (inherits SPARKTRAINER_HOME)."""
    proc = subprocess.run(
        [sys.executable, "-m", "trainer_runtime.cli.main", *args],
        capture_output=True, text=True, timeout=timeout, input=input, cwd=ROOT,
    )  # fmt: skip
    if check and proc.returncode != 0:
        raise AssertionError(
            f"sparktrainer {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def stop_everything(home: Path) -> None:
    """Kill every process that belongs to this data dir (daemon and workers)."""
    me = os.getpid()
    for p in psutil.process_iter(["pid", "environ", "cmdline"]):
        try:
            env = p.info["environ"] or {}
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
        if p.info["pid"] != me and env.get("SPARKTRAINER_HOME") == str(home):
            try:
                os.killpg(p.info["pid"], signal.SIGKILL) if os.getpgid(p.info["pid"]) == p.info[
                    "pid"
                ] else p.kill()
            except (ProcessLookupError, psutil.NoSuchProcess, PermissionError):
                continue


def daemon_pid(home: Path) -> int:
    """The pid of the daemon serving the data dir ``home`` (from its pointer file)."""
    import json

    return int(json.loads((home / "daemon.json").read_text(encoding="utf-8"))["pid"])


def peak_rss_mb(pid: int) -> float:
    """A process's peak resident memory so far (``VmHWM``), in MiB: nothing to sample, the
    kernel keeps the high-water mark for the process's whole life."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"/proc/{pid}/status has no VmHWM line")


def fill(disk: Path, leave: int = 0) -> Path:
    """Take the free space of the filesystem holding ``disk`` down to ``leave`` bytes (or to the
    last byte: writes shrink to one byte at a time until ENOSPC). Returns the filler file."""
    filler = disk / "filler"
    with filler.open("ab", buffering=0) as fh:
        for size in (1 << 16, 4096, 512, 1):
            try:
                while os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize > leave:
                    fh.write(b"\xa5" * size)
            except OSError:
                continue
    return filler


def wait_job(client, job_id: str, cond, timeout: float = 300, what: str = "", until_end: bool = False):
    """Poll the job's view (a ``JobView``) until ``cond(view)``; fail with its state and reason
    after ``timeout`` (or, with ``until_end``, as soon as the job ends without the condition
    holding)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        job = client.job(job_id)
        if cond(job):
            return job
        where = f"job is {job.state} at step {job.step}: {job.reason}"
        assert time.monotonic() < deadline, f"timed out waiting{' ' + what if what else ''}; {where}"
        assert not (until_end and job.is_terminal), f"job ended: {where}"
        time.sleep(0.1)


def start_import(client, path, name: str, **options):
    """``client.import_dataset`` of ``path`` as ``name`` (options: format, keep_corrupt, link...)."""
    from trainer_runtime.api.schema.datasets import ImportRequest

    return client.import_dataset(ImportRequest(path=str(path), name=name, **options))


def wait_import(client, task, timeout: float = 300):
    """Poll a dataset import (an ImportTaskView from ``import_dataset``) until it has ended."""
    import time

    deadline = time.monotonic() + timeout
    while not task.is_terminal:
        assert time.monotonic() < deadline, f"import still running: {task}"
        time.sleep(0.05)
        task = client.dataset_import_status(task.id)
    return task


class FakeClock:
    """An injectable monotonic clock (the Supervisor's ``clock``) that moves only when told."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t
