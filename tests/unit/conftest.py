"""Unit-test fixtures: a dataset service on a fresh data dir's real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from trainer_runtime.datasets.service import DatasetService
from trainer_runtime.store.store import Store


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[DatasetService]:
    """A DatasetService under ``tmp_path/home`` (a test file may override ``svc`` with its own)."""
    home = tmp_path / "home"
    home.mkdir()
    store = Store(f"sqlite:///{home / 'sparktrainer.db'}")
    yield DatasetService(home / "datasets", store.engine)
    store.close()
