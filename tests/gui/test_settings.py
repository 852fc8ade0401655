"""The Settings page: credentials round trip through the REAL OS keyring (never shown back),
no-keyring refusal, the tracking URI through the daemon (refused with its reason, or applied
live: the next job's MLflow run lands in the new store), theme choice.

Real-keyring tests: ``bash .ci/keyring-session .venv/bin/python -m pytest tests/gui/test_settings.py``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit

from sparktrainer_gui.panels.settings import SettingsPanel
from trainer_runtime.secrets.store import SecretStore

WAIT_MS = 20_000


def _texts(panel: SettingsPanel) -> list[str]:
    return [w.text() for w in panel.findChildren(QLineEdit) + panel.findChildren(QLabel)] + [
        w.toolTip() for w in panel.findChildren(QLineEdit) + panel.findChildren(QLabel)
    ]


@pytest.mark.keyring
def test_credential_round_trip_through_the_keyring_store(qtbot, conn, keyring_store: SecretStore) -> None:
    panel = SettingsPanel(conn)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.keyring_usable is True, timeout=WAIT_MS)
    row = panel.rows["HF_TOKEN"]
    assert row.status.text() == "not set" and not row.save.isEnabled() and not row.remove.isEnabled()
    assert all(r.edit.echoMode() == QLineEdit.EchoMode.Password for r in panel.rows.values())

    token = f"hf_gui{time.time_ns()}"
    qtbot.keyClicks(row.edit, token)
    assert row.save.isEnabled()
    qtbot.mouseClick(row.save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: row.status.text() == "stored", timeout=WAIT_MS)
    assert keyring_store.get("HF_TOKEN") == token
    assert "HF_TOKEN" in panel.stored and row.remove.isEnabled()
    assert row.edit.text() == "" and all(token not in t for t in _texts(panel))
    assert panel.rows["WANDB_API_KEY"].status.text() == "not set"

    # A fresh page (as after a restart) knows it is stored, and still never shows it.
    again = SettingsPanel(conn)
    qtbot.addWidget(again)
    again.show()
    qtbot.waitUntil(
        lambda: "HF_TOKEN" in again.rows and again.rows["HF_TOKEN"].status.text() == "stored", timeout=WAIT_MS
    )
    assert all(token not in t for t in _texts(again))

    qtbot.mouseClick(row.remove, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: row.status.text() == "not set", timeout=WAIT_MS)
    assert keyring_store.get("HF_TOKEN") is None and keyring_store.names() == []


@pytest.mark.keyring
def test_a_refused_value_is_explained_at_its_row(qtbot, conn, keyring_store: SecretStore) -> None:
    panel = SettingsPanel(conn)
    qtbot.addWidget(panel)
    panel.show()  # the keyring is first asked when the page is shown
    qtbot.waitUntil(lambda: panel.keyring_usable is True, timeout=WAIT_MS)
    row = panel.rows["OPENAI_API_KEY"]
    qtbot.keyClicks(row.edit, "abc")
    qtbot.mouseClick(row.save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "shorter than" in row.status.text(), timeout=WAIT_MS)
    assert keyring_store.names() == []


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(previous)


def test_without_a_keyring_the_page_says_so_and_saving_is_disabled(
    qtbot, conn, no_keyring, home: Path
) -> None:
    panel = SettingsPanel(conn)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.keyring_usable is False, timeout=WAIT_MS)
    message = panel.form.keyring_error.text()
    assert panel.form.keyring_error.isVisible()
    assert "No usable OS keyring" in message and "gnome-keyring" in message
    for row in panel.rows.values():
        assert not row.edit.isEnabled() and not row.save.isEnabled() and not row.remove.isEnabled()
        assert row.status.text() == "unavailable"
    panel.rows["HF_TOKEN"].edit.setText("hf_should_not_be_kept")
    panel._on_credential_save_clicked("HF_TOKEN")  # refused even when called directly
    assert not any(p.is_file() and b"hf_should_not_be_kept" in p.read_bytes() for p in home.rglob("*"))


def test_data_dir_and_tracking_uri_without_a_runtime(qtbot, conn, no_keyring, home: Path) -> None:
    panel = SettingsPanel(conn)
    qtbot.addWidget(panel)
    assert panel.rows == {} and panel.store is None  # nothing of the keyring before the page is shown
    assert panel.form.data_dir_edit.text() == str(home.resolve()) and panel.form.data_dir_edit.isReadOnly()
    assert panel.form.tracking_uri_edit.placeholderText().startswith("sqlite:///")
    # the daemon owns settings.json: without one the field waits for it, and nothing is written
    qtbot.waitUntil(lambda: "not running" in panel.form.tracking_note_label.text())
    assert not panel.form.tracking_uri_edit.isEnabled() and not panel.form.save_tracking_button.isEnabled()
    assert not (home / "settings.json").exists()


def _save_uri(qtbot, panel: SettingsPanel, uri: str) -> None:
    qtbot.waitUntil(lambda: panel.form.save_tracking_button.isEnabled())  # the daemon's settings came
    panel.form.tracking_uri_edit.setText(uri)
    qtbot.mouseClick(panel.form.save_tracking_button, Qt.MouseButton.LeftButton)


@pytest.mark.e2e
def test_a_refused_tracking_uri_is_explained_at_the_field(qtbot, conn, no_keyring, daemon_with, home) -> None:
    daemon_with(watchdog_s=900)
    before = (home / "settings.json").read_bytes()
    panel = SettingsPanel(conn)
    qtbot.addWidget(panel)
    panel.show()
    _save_uri(qtbot, panel, "bogus://mlflow.local")
    qtbot.waitUntil(lambda: panel.form.tracking_error.isVisible())
    assert "not one MLflow knows" in panel.form.tracking_error.text()
    assert (home / "settings.json").read_bytes() == before  # refused: nothing saved
    assert panel.form.save_tracking_button.isEnabled()  # fix it and try again


@pytest.mark.e2e
def test_a_new_tracking_uri_takes_effect_without_a_restart(
    qtbot, conn, no_keyring, daemon_with, home: Path, tmp_path: Path, spec_file
) -> None:
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from tests.helpers import cli, daemon_pid

    client = daemon_with(mlflow_sync_interval_s=0.3)
    pid = daemon_pid(home)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    panel = SettingsPanel(conn)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.settings is not None)
    assert panel.form.tracking_uri_edit.text() == ""  # the default store
    with qtbot.waitSignal(panel.message_posted) as posted:
        _save_uri(qtbot, panel, other)
    assert posted.args == ["Saved; the runtime uses the new settings now."]
    assert not panel.form.tracking_error.isVisible()
    assert "new runs go to" in panel.form.tracking_note_label.text()
    assert json.loads((home / "settings.json").read_text())["tracking_uri"] == other
    assert client.status().tracking_uri == other

    job_id = cli(
        "jobs", "submit", str(spec_file(train={"max_steps": 5, "eval_every": 0})), check=True
    ).stdout.strip()
    deadline = time.monotonic() + 240
    while not (job := client.job(job_id)).mlflow_done:
        assert time.monotonic() < deadline, f"{job.state}, mlflow_error={job.mlflow_error}"
        time.sleep(0.2)
    assert job.state == "COMPLETED" and job.mlflow_error is None
    run = MlflowClient(tracking_uri=other).get_run(job.mlflow_run_id)
    assert run.info.status == "FINISHED" and run.data.tags["sparktrainer.job_id"] == job_id
    assert len(MlflowClient(tracking_uri=other).get_metric_history(run.info.run_id, "loss")) == 5
    with pytest.raises(MlflowException):  # not in the default store
        MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow' / 'mlflow.db'}").get_run(job.mlflow_run_id)
    assert daemon_pid(home) == pid  # the same daemon all along


def test_theme_choice_is_applied(qtbot, conn, no_keyring, monkeypatch: pytest.MonkeyPatch) -> None:
    from sparktrainer_gui import theme

    applied: list[str] = []
    monkeypatch.setattr(theme, "apply_theme", lambda app, mode: applied.append(mode) or mode)
    panel = SettingsPanel(conn)
    qtbot.addWidget(panel)
    combo = panel.form.theme_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["System", "Light", "Dark"]
    combo.setCurrentIndex(2)
    combo.activated.emit(2)
    assert applied == ["dark"]
