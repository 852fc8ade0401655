"""Shared fixtures: isolated data dirs, a real daemon, a generated corpus, spec files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import SAMPLE_CORPUS, make_spec, stop_everything


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


@pytest.fixture
def spec_file(tmp_path: Path, corpus: Path):
    def _make(filename: str = "spec.yaml", **overrides) -> Path:
        return make_spec(tmp_path / filename, corpus, **overrides)

    return _make


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
