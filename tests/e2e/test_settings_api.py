"""``/v1/settings`` on a real daemon: a tracking URI MLflow cannot use is refused with a
sentence and settings.json stays as it was; accepted changes are saved (0600) and used by the
running daemon at once (same pid), and the answer says which wait for a restart."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from tests.helpers import cli, daemon_pid
from trainer_runtime.client.client import ApiError

pytestmark = pytest.mark.e2e


def test_an_unparsable_tracking_uri_is_refused_and_nothing_is_saved(daemon_with, home: Path) -> None:
    client = daemon_with(watchdog_s=900)
    before = (home / "settings.json").read_bytes()
    for bad, why in (
        ("bogus://somewhere", "not one MLflow knows"),
        ("sqlite:///relative.db", "relative path"),
    ):
        with pytest.raises(ApiError) as err:
            client.update_settings(tracking_uri=bad)
        assert err.value.status == 400 and why in err.value.message
        assert err.value.problems[0]["field"] == "tracking_uri" and why in err.value.problems[0]["message"]
    assert (home / "settings.json").read_bytes() == before
    assert client.settings().tracking_uri is None
    out = cli("settings", "set", "tracking_uri", "bogus://x")
    assert out.returncode == 2 and "not one MLflow knows" in out.stderr
    assert (home / "settings.json").read_bytes() == before
    with pytest.raises(ApiError) as err:  # bounds are the settings file's own
        client.update_settings(watchdog_s=0)
    assert err.value.status == 400 and err.value.problems[0]["field"] == "watchdog_s"


def test_changes_apply_live_and_say_what_waits(daemon_with, home: Path, monkeypatch) -> None:
    monkeypatch.delenv("SPARKTRAINER_CPU_SLOTS")  # so the file's cpu_slots is the one in force
    client = daemon_with(cpu_slots=2)
    pid = daemon_pid(home)
    assert client.status().devices.total == 2
    answer = client.update_settings(cpu_slots=3, watchdog_s=120, import_limits={"max_members": 500})
    assert answer.restart_needed == [] and "uses the new settings now" in answer.message
    assert {c.key for c in answer.changes} == {"cpu_slots", "watchdog_s", "import_limits.max_members"}
    deadline = time.monotonic() + 30
    while client.status().devices.total != 3:
        assert time.monotonic() < deadline, "the scheduler never got its third CPU slot"
        time.sleep(0.1)
    view = client.settings()
    assert view.cpu_slots == view.cpu_slots_in_use == 3 and view.watchdog_s == 120
    assert view.import_limits.max_members == 500
    saved = (home / "settings.json").read_text()
    assert '"max_members": 500' in saved and '"watchdog_s": 120' in saved
    assert stat.S_IMODE(os.stat(home / "settings.json").st_mode) == 0o600
    # null puts a setting back to its default; an environment override is reported, not hidden
    answer = client.update_settings(watchdog_s=None)
    assert client.settings().watchdog_s == 600 and "watchdog_s" not in (home / "settings.json").read_text()
    assert daemon_pid(home) == pid


def test_an_environment_override_waits_for_a_restart(daemon, home: Path) -> None:
    answer = daemon.update_settings(cpu_slots=5)  # the tests set SPARKTRAINER_CPU_SLOTS
    assert answer.restart_needed == ["cpu_slots"] and "SPARKTRAINER_CPU_SLOTS" in answer.changes[0].note
    assert daemon.settings().overridden == {"cpu_slots": "SPARKTRAINER_CPU_SLOTS"}
    assert daemon.status().devices.total == 2
    out = cli("settings", "get")
    assert out.returncode == 0 and "SPARKTRAINER_CPU_SLOTS overrides it" in out.stdout


def test_new_import_limits_reach_the_next_import(daemon, tmp_path: Path) -> None:
    """The dataset service already exists (an import ran); a lower pixel limit set through the
    API refuses the next import's bigger picture, naming the setting. (Raw requests: this test
    is about the settings, not the datasets client.)"""
    from tests import dataset_fixtures as fx

    def run_import(folder: Path, name: str) -> dict:
        task = daemon.request("POST", "/v1/datasets/imports", {"path": str(folder), "name": name})["import"]
        deadline = time.monotonic() + 120
        while task["state"] == "running":
            assert time.monotonic() < deadline, task
            time.sleep(0.1)
            task = daemon.request("GET", f"/v1/datasets/imports/{task['id']}")["import"]
        return task

    for i, size in enumerate((64, 16)):
        fx.png(tmp_path / "pets" / ("cat", "dog")[i] / "a.png", seed=i, size=size)
    assert run_import(tmp_path / "pets", "pets")["state"] == "completed"
    answer = daemon.update_settings(import_limits={"max_image_pixels": 1000})
    assert answer.changes[0].key == "import_limits.max_image_pixels" and answer.changes[0].live
    for i, size in enumerate((64, 16)):  # new pictures: a stored one is not checked again
        fx.png(tmp_path / "more" / ("cat", "dog")[i] / "b.png", seed=10 + i, size=size)
    task = run_import(tmp_path / "more", "more")
    assert task["state"] == "failed" and "max_image_pixels" in task["error"], task
