"""The import limits are the user's to set (``settings.json`` → ``import_limits``): a daemon
told to accept pictures of at most 1,000 pixels refuses a 64 x 64 one with a sentence that names
the file, its size and the setting, and stores nothing; settings files are private (0600)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests import dataset_fixtures as fx
from tests.helpers import start_import, wait_import
from trainer_runtime.datasets.tasks import ImportState
from trainer_runtime.paths import DataDir
from trainer_runtime.settings import Settings, save_settings

pytestmark = pytest.mark.e2e


def test_a_pixel_limit_from_the_settings_refuses_a_bigger_picture(daemon_with, home: Path, tmp_path: Path):
    client = daemon_with(import_limits={"max_image_pixels": 1000})
    folder = tmp_path / "pets"
    fx.png(folder / "cat" / "big.png", seed=1, size=64)
    fx.png(folder / "dog" / "small.png", seed=2, size=16)
    task = wait_import(client, start_import(client, folder, "pets"), timeout=120)
    assert task.state is ImportState.FAILED, task
    message = task.error or ""
    print(message)
    assert "big.png" in message and "64" in message and "1,000" in message.replace("1000", "1,000"), message
    assert client.datasets() == []


def test_saved_settings_are_private_and_keep_the_limits(home: Path):
    data = DataDir.default().ensure()
    save_settings(data, Settings.model_validate({"import_limits": {"max_members": 500}}))
    assert stat.S_IMODE(os.stat(data.settings_file).st_mode) == 0o600
    from trainer_runtime.settings import load_settings

    limits = load_settings(data).import_limits.apply()
    assert (
        limits.max_members == 500
        and limits.max_image_pixels == Settings().import_limits.apply().max_image_pixels
    )
