"""The socket directory when XDG_RUNTIME_DIR is unset: created 0700, and refused, by the daemon
and by the client, when it already exists as a link, with another owner or open to others (a
second local user could otherwise answer our CLI with forged data)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from trainer_runtime.client.client import Client, DaemonUnavailable
from trainer_runtime.paths import DataDir


@pytest.fixture
def tmpdir_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No XDG_RUNTIME_DIR, and a temp dir of this test's own."""
    base = tmp_path / "tmp"
    base.mkdir()
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(base))
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    return base / f"sparktrainer-{os.getuid()}"


def test_the_fallback_dir_is_made_private(tmpdir_only: Path, tmp_path: Path):
    data = DataDir(tmp_path / "home")
    assert data.socket_path.parent == tmpdir_only
    st = os.lstat(tmpdir_only)
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.getuid()
    assert data.socket_path.parent == tmpdir_only, "our own private dir is used again"


def _world_writable(path: Path) -> None:
    path.mkdir()
    os.chmod(path, 0o777)


def _another_users(path: Path) -> None:
    path.mkdir(mode=0o700)
    os.chown(path, 12345, -1)


def _link(path: Path) -> None:
    target = path.with_name("elsewhere")
    target.mkdir(mode=0o700)
    path.symlink_to(target)


@pytest.mark.parametrize(
    "make, found",
    [
        (_world_writable, "has mode 0777: other users may enter it"),
        (_another_users, "belongs to another user (uid 12345"),
        (_link, "is a symbolic link"),
    ],
    ids=["mode-0777", "other-owner", "symlink"],
)
def test_a_dir_someone_else_controls_is_refused(tmpdir_only: Path, tmp_path: Path, make, found):
    if found.startswith("belongs") and os.getuid() != 0:
        pytest.skip("making a folder another user's needs root")
    make(tmpdir_only)
    data = DataDir(tmp_path / "home")
    with pytest.raises(RuntimeError) as info:  # paths.UnsafeRuntimeDir
        data.socket_path  # noqa: B018
    assert found in str(info.value) and str(tmpdir_only) in str(info.value)
    assert "XDG_RUNTIME_DIR" in str(info.value)
    # The client never connects there: even a ping is refused with the same sentence
    # (client.DaemonRefused), so no daemon is started and no socket is asked.
    with pytest.raises(DaemonUnavailable, match=re.escape(found)):
        Client(data, timeout=2).ping()
    # And the daemon will not start.
    env = {**os.environ, "SPARKTRAINER_HOME": str(tmp_path / "home"), "SPARKTRAINER_MLFLOW": "off"}
    proc = subprocess.run(
        [sys.executable, "-m", "trainer_runtime.daemon"], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 4, proc.stderr
    assert found in proc.stderr and "Traceback" not in proc.stderr
    assert not any(p.name.endswith(".sock") for p in tmpdir_only.iterdir())


def test_a_private_xdg_runtime_dir_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    xdg = tmp_path / "run-user"
    xdg.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(xdg))
    assert DataDir(tmp_path / "home").socket_path.parent == xdg
