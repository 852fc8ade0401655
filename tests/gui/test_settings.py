"""The Settings page: credentials round trip through the REAL OS keyring (never shown back),
no-keyring refusal, tracking URI into settings.json, theme choice.

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
from trainer_runtime.settings import Settings

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


def test_data_dir_and_tracking_uri(qtbot, conn, no_keyring, home: Path) -> None:
    panel = SettingsPanel(conn)
    qtbot.addWidget(panel)
    assert panel.rows == {} and panel.store is None  # nothing of the keyring before the page is shown
    assert panel.form.data_dir_edit.text() == str(home.resolve()) and panel.form.data_dir_edit.isReadOnly()
    assert panel.form.tracking_uri_edit.text() == ""
    assert panel.form.tracking_uri_edit.placeholderText().startswith("sqlite:///")
    panel.form.tracking_uri_edit.setText("http://mlflow.local:5000")
    qtbot.mouseClick(panel.form.save_tracking_button, Qt.MouseButton.LeftButton)
    saved = json.loads((home / "settings.json").read_text())
    # the URI, and every other setting at its default (the runtime's list of settings grows)
    assert saved == Settings(tracking_uri="http://mlflow.local:5000").model_dump(exclude_none=True)
    assert saved["tracking_uri"] == "http://mlflow.local:5000"
    assert "applies when the runtime restarts" in panel.form.tracking_note_label.text().lower()

    again = SettingsPanel(conn)
    qtbot.addWidget(again)
    assert again.form.tracking_uri_edit.text() == "http://mlflow.local:5000"
    again.form.tracking_uri_edit.setText("")
    qtbot.mouseClick(again.form.save_tracking_button, Qt.MouseButton.LeftButton)
    assert "tracking_uri" not in json.loads((home / "settings.json").read_text())


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
