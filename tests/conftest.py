"""Shared fixtures: isolated data dirs, a real daemon, a generated corpus, spec files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import SAMPLE_CORPUS, make_spec, stop_everything


@pytest.fixture(autouse=True, scope="session")
def _isolated_from_the_user(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test may touch the user's real data dir or keyring entries."""
    saved = {k: os.environ.get(k) for k in ("SPARKTRAINER_HOME", "SPARKTRAINER_KEYRING_SERVICE")}
    os.environ["SPARKTRAINER_HOME"] = str(tmp_path_factory.mktemp("default-home"))
    os.environ["SPARKTRAINER_KEYRING_SERVICE"] = f"sparktrainer-tests-{os.getpid()}"
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data dir used by every client and daemon in this test."""
    d = tmp_path / "home"
    d.mkdir()
    monkeypatch.setenv("SPARKTRAINER_HOME", str(d))
    monkeypatch.setenv("SPARKTRAINER_CPU_SLOTS", os.environ.get("SPARKTRAINER_TEST_CPU_SLOTS", "2"))
    # Every test daemon logs a turn of its event loop that holds the CPU over 100 ms, with the stack.
    monkeypatch.setenv("SPARKTRAINER_LOOP_WATCH_MS", "100")
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
def daemon_with(home: Path) -> Iterator:
    """Start a real daemon with the given settings.json content; everything of the
    data dir (daemon and workers) is killed afterwards."""
    import json

    from trainer_runtime.client.client import Client, start_daemon
    from trainer_runtime.paths import DataDir

    def _start(**settings) -> Client:
        data = DataDir.default().ensure()
        if settings:
            data.settings_file.write_text(json.dumps(settings))
        start_daemon(data)
        return Client(data)

    yield _start
    stop_everything(home)


@pytest.fixture
def daemon(daemon_with):
    """A real daemon on the test's data dir, with default settings."""
    return daemon_with()


@pytest.fixture
def keyring_store(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """The real OS keyring under a service name of this test's own; skipped (with the reason)
    where no keyring works, unless SPARKTRAINER_REQUIRE_KEYRING is set (CI sets it)."""
    import time

    from trainer_runtime.secrets.store import KeyringUnavailable, SecretStore

    monkeypatch.setenv("SPARKTRAINER_KEYRING_SERVICE", f"sparktrainer-test-{os.getpid()}-{time.time_ns()}")
    store = SecretStore()
    try:
        store.check()
    except KeyringUnavailable as err:
        if os.environ.get("SPARKTRAINER_REQUIRE_KEYRING"):
            raise
        pytest.skip(
            f"no usable keyring here ({err}); run through `bash .ci/test` or `bash .ci/keyring-session`"
        )
    yield store
    for name in store.names():
        store.delete(name)


@pytest.fixture
def tmpfs() -> Iterator:
    """``mount(at, size)``: a real small tmpfs at ``at`` (needs root, as in CI), for a disk that
    fills up; every mount is undone afterwards. Skips where mounting is not allowed."""
    import subprocess

    mounted: list[Path] = []

    def mount(at: Path, size: str) -> Path:
        at.mkdir(parents=True, exist_ok=True)
        out = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(at)], capture_output=True
        )
        if out.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {out.stderr.decode().strip()}")
        mounted.append(at)
        return at

    yield mount
    for at in reversed(mounted):
        subprocess.run(["umount", "-l", str(at)], check=False)
