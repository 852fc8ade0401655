"""Ten SIGKILLs of the daemon at random moments while it imports a dataset: every import is all
or nothing (a version holds every file, or there is no version), no blob is left that no version
uses (the journal of an interrupted import names exactly what it stored), nothing stored is lost,
and an import after the last restart completes and verifies."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests import dataset_fixtures as fx
from tests.faults import DaemonKiller
from tests.helpers import start_import as begin_import
from tests.helpers import wait_import
from trainer_runtime.client.client import ApiError, Client
from trainer_runtime.datasets.tasks import ImportState

pytestmark = pytest.mark.e2e
FILES = 3000


def stored_blobs(home: Path) -> set[str]:
    root = home / "datasets" / "blobs"
    return {p.parent.name + p.name for p in root.glob("??/*")}


def referenced(home: Path) -> set[str]:
    con = sqlite3.connect(home / "sparktrainer.db")
    try:
        return {r[0] for r in con.execute("select distinct sha256 from dataset_entries")}
    finally:
        con.close()


def test_ten_kills_during_imports_leave_every_import_whole_or_absent(daemon, home: Path, tmp_path: Path):
    client = daemon
    killer = DaemonKiller(home, seed=11)
    names: list[str] = []
    current: dict = {}  # the running import's id

    def start_import(i: int) -> None:
        """Start round ``i``'s import (its own pictures, so each round stores new blobs) and
        wait until it has stored a random share of them; a share of 1 or more: until it is done."""
        source = tmp_path / f"pictures-{i}"
        for j in range(FILES):
            fx.png(source / ("a" if j % 2 else "b") / f"p{j:05d}.png", seed=i * FILES + j, size=8)
        share = killer.rng.uniform(0.05, 1.15)
        names.append(source.name)
        current["id"] = begin_import(client, source, source.name).id
        deadline = time.monotonic() + 120
        while True:
            task = client.dataset_import_status(current["id"])
            if task.is_terminal or (task.phase == "store" and task.done >= share * FILES):
                return
            assert time.monotonic() < deadline, f"the import never got that far: {task}"
            time.sleep(0.01)

    def where() -> str:
        try:
            task = client.dataset_import_status(current["id"])
        except ApiError as err:  # a note for the log only
            return f"(status unknown: {err})"
        return f"during import {task.phase} {task.done}/{task.total} ({task.state})"

    killer.run(10, between=(0.0, 0.05), before=start_import, note=where)
    client = Client(client.data)
    assert client.datasets() is not None  # the first datasets call after the restart cleans up

    whole = 0
    for name in names:
        try:
            versions = client.dataset_versions(name)
        except ApiError as err:  # that import was killed before its commit: nothing of it is there
            assert err.status == 404, err
            continue
        assert len(versions) == 1
        entries = client.dataset_version(name, limit=100_000).entries
        assert len(entries) == FILES, f"{name}: a version with {len(entries)} of {FILES} files"
        assert client.dataset_verify(name).ok
        whole += 1
    print(f"{whole} of {len(names)} imports completed before their kill; the others left nothing")
    assert stored_blobs(home) == referenced(home), "a blob is stored that no version uses (or one is missing)"
    assert not list((home / "datasets" / "imports").glob("*.journal"))
    assert not (home / "datasets" / "blobs" / ".staging").exists() or not list(
        (home / "datasets" / "blobs" / ".staging").iterdir()
    )

    task = wait_import(client, begin_import(client, tmp_path / names[0], "pictures-final"))
    assert task.state is ImportState.COMPLETED, task.error
    assert len(client.dataset_version("pictures-final", limit=100_000).entries) == FILES
    assert client.dataset_verify("pictures-final").ok
    assert stored_blobs(home) == referenced(home)
