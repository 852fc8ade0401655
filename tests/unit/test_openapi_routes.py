"""Every route the daemon's aiohttp application serves is declared in ROUTES (with its models),
and every declared route is served: a route added without a declaration fails here, naming it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from trainer_runtime.api.schema.routes import ROUTES
from trainer_runtime.api.server import Api
from trainer_runtime.daemon import Daemon
from trainer_runtime.paths import DataDir


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    monkeypatch.delenv("SPARKTRAINER_DB_URL", raising=False)
    monkeypatch.setenv("SPARKTRAINER_CPU_SLOTS", "1")
    d = Daemon(DataDir(tmp_path / "home").ensure())
    yield Api(d).app()
    d.store.close()


def test_every_served_route_is_declared_and_every_declared_route_is_served(app):
    served = {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.method != "HEAD" and r.resource is not None  # aiohttp adds HEAD to each GET
    }
    undeclared = sorted(served - set(ROUTES))
    assert not undeclared, "served without declare(...): " + ", ".join(f"{m} {p}" for m, p in undeclared)
    unserved = sorted(set(ROUTES) - served)
    assert not unserved, "declared but not served: " + ", ".join(f"{m} {p}" for m, p in unserved)


def test_every_declared_route_has_its_models():
    for (method, path), route in ROUTES.items():
        assert route.summary, f"{method} {path} has no summary"
        if route.stream:
            assert route.item is not None, f"{method} {path} streams without an item model"
        else:
            assert route.response is not None, f"{method} {path} has no response model"
        if method in ("GET", "DELETE"):
            assert route.body is None, f"{method} {path} declares a body"
