"""Helpers for tests that run the worker: a generated corpus, job dirs, worker commands.

Light on purpose (no torch import), so tests that only start subprocesses stay fast.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path
from typing import Any

# fmt: off
_SUBJECTS = (
    "the cat", "a dog", "my friend", "the old man", "a young girl", "the teacher", "our team", "the river",
    "a small bird", "the farmer", "her brother", "the captain", "a tired child", "the baker",
)
_VERBS = (
    "sees", "likes", "carries", "follows", "watches", "builds", "paints", "finds", "remembers", "opens",
    "sells", "draws",
)
_OBJECTS = (
    "the ball", "a red house", "the green hill", "a long road", "the morning light", "an old book",
    "the blue sea", "a quiet song", "the tall tree", "a warm fire", "the last train", "a silver key",
)
_TAILS = (
    "every day", "at night", "in the rain", "with great care", "before dinner", "after school",
    "near the lake", "without a word", "once more", "in the spring",
)
# fmt: on


def make_corpus(n_lines: int = 300, seed: int = 0) -> str:
    """Deterministic English-like sentences, one per line."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n_lines):
        s = f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}."
        lines.append(s[0].upper() + s[1:])
    return "\n".join(lines) + "\n"


def tiny_spec(dataset: str | Path, method: str = "lora", name: str = "tiny", **train: Any) -> dict:
    """A spec for ``builtin: tiny-gpt2`` that trains in seconds on a CPU."""
    t = {"max_steps": 30, "batch_size": 8, "seq_len": 64, "lr": 3e-3, "seed": 0, "eval_every": 10}
    t.update(train)
    return {
        "name": name,
        "model": {"builtin": "tiny-gpt2"},
        "method": method,
        "dataset": {"path": str(dataset)},
        "train": t,
    }


def write_job(job_dir: Path, spec: dict, resume_from: str | None = None, attempt: int = 1) -> Path:
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / "spec.json").write_text(json.dumps(spec, indent=2), encoding="utf-8")
    run = {"job_id": job_dir.name, "attempt": attempt, "resume_from": resume_from}
    (job_dir / "run.json").write_text(json.dumps(run), encoding="utf-8")
    return job_dir


def set_resume(job_dir: Path, resume_from: str | None) -> None:
    run = json.loads((job_dir / "run.json").read_text(encoding="utf-8"))
    run["resume_from"] = resume_from
    (job_dir / "run.json").write_text(json.dumps(run), encoding="utf-8")


def worker_env(**extra: str) -> dict[str, str]:
    """The environment for a worker subprocess: CPU only, one thread (tiny models run fastest so)."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "SPARKTRAINER_SECRET_NAMES")}
    env.update({"CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def worker_cmd(job_dir: Path, nproc: int = 1) -> list[str]:
    """The same command line the daemon uses (torchrun --standalone for nproc > 1)."""
    from trainer_runtime.jobs.process import worker_command

    return worker_command(job_dir, nproc)


def start_worker(job_dir: Path, nproc: int = 1, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start a worker with stdout and stderr appended to ``job_dir/log.txt``, as the daemon does."""
    log = (job_dir / "log.txt").open("ab")
    try:
        return subprocess.Popen(
            worker_cmd(job_dir, nproc), stdout=log, stderr=subprocess.STDOUT, env=env or worker_env(),
            start_new_session=True,
        )  # fmt: skip
    finally:
        log.close()


def run_worker(job_dir: Path, nproc: int = 1, env: dict[str, str] | None = None, timeout: float = 300) -> int:
    p = start_worker(job_dir, nproc, env)
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise


def read_events(job_dir: Path) -> list[dict]:
    path = job_dir / "events.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.endswith("\n"):  # an unfinished last line is ignored, as the daemon does
            out.append(json.loads(line))
    return out


def metric_series(events: list[dict], key: str) -> list[tuple[int, float]]:
    return [(e["step"], e["values"][key]) for e in events if e["type"] == "metrics" and key in e["values"]]


def log_text(job_dir: Path) -> str:
    p = job_dir / "log.txt"
    return p.read_text(encoding="utf-8", errors="replace") if p.exists() else ""


def run_paused_then_resumed(job_dir: Path, paused_at: int) -> list[dict]:
    """Run the job with a pause asked for before it starts, check that it paused after step
    ``paused_at``, resume it from that checkpoint and return all its events."""
    (job_dir / "control").mkdir()
    (job_dir / "control" / "pause").touch()
    if run_worker(job_dir) != 0:
        raise AssertionError(f"the worker failed before the pause:\n{log_text(job_dir)}")
    paused = read_events(job_dir)[-1]
    if paused["type"] != "paused" or paused["step"] != paused_at:
        raise AssertionError(f"expected a pause after step {paused_at}, the last event is {paused}")
    set_resume(job_dir, paused["checkpoint"])
    if run_worker(job_dir) != 0:
        raise AssertionError(f"the resumed worker failed:\n{log_text(job_dir)}")
    return read_events(job_dir)
