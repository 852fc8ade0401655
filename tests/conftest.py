"""Shared fixtures: isolated data dirs, a real daemon, a generated corpus, spec files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CORPUS = ROOT / "resources" / "samples" / "corpus.txt"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data dir used by every client and daemon in this test."""
    d = tmp_path / "home"
    d.mkdir()
    monkeypatch.setenv("SPARKTRAINER_HOME", str(d))
    monkeypatch.setenv("SPARKTRAINER_CPU_SLOTS", os.environ.get("SPARKTRAINER_TEST_CPU_SLOTS", "2"))
    return d


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    p = tmp_path / "corpus.txt"
    p.write_text(SAMPLE_CORPUS.read_text(encoding="utf-8"), encoding="utf-8")
    return p


def make_spec(path: Path, dataset: Path, **overrides) -> Path:
    spec = {
        "name": "tiny",
        "recipe": "causal-lm",
        "model": {"builtin": "tiny-gpt2"},
        "method": "lora",
        "dataset": {"path": str(dataset)},
        "train": {"max_steps": 30, "batch_size": 4, "seq_len": 32, "lr": 3e-3, "seed": 0, "eval_every": 10},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}
        elif value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


@pytest.fixture
def spec_file(tmp_path: Path, corpus: Path):
    def _make(name: str = "spec.yaml", **overrides) -> Path:
        return make_spec(tmp_path / name, corpus, **overrides)

    return _make


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


@pytest.fixture
def daemon(home: Path) -> Iterator:
    """A real daemon on the test's data dir; stopped, and its workers killed, afterwards."""
    from trainer_runtime.client.client import Client, start_daemon
    from trainer_runtime.paths import DataDir

    data = DataDir.default()
    start_daemon(data)
    client = Client(data)
    yield client
    stop_everything(home)


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
