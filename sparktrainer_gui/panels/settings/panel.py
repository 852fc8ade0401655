"""The Settings page (``ui/settings.ui``, ``Ui_SettingsForm``).

Credentials go to the OS keyring through ``SecretStore`` and nowhere else; every keyring
call runs off the main thread (a D-Bus call can block). A stored value is never read back:
the page only shows, by name, whether a credential is stored. When no OS keyring can be
used, the page says why and what to install, and saving is disabled.

The runtime's settings (the MLflow tracking URI) belong to the daemon: the page reads and
changes them through ``/v1/settings``, which checks a change, saves it and applies it to the
running daemon; a refusal is shown next to the field in the daemon's words.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QPalette, QShowEvent
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QPushButton, QWidget

from sparktrainer_gui.forms.settings_ui import Ui_SettingsForm
from sparktrainer_gui.ops import op
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.settings import SettingsChanged, SettingsView
from trainer_runtime.client.transport import ApiError, DaemonUnavailable

if TYPE_CHECKING:
    from trainer_runtime.secrets.store import SecretStore

log = logging.getLogger(__name__)

STYLE = """
QLabel[role="error"] { color: #d93025; }
QLabel[role="title"] { font-size: 15pt; font-weight: 600; }
QLabel[role="stored"] { color: #2f7d4f; font-weight: 600; }
"""
THEMES = ("system", "light", "dark")  # theme_combo's items, in order
STORED, NOT_SET = "stored", "not set"


@dataclass
class _CredentialRow:
    name: str
    edit: QLineEdit
    status: QLabel
    save: QPushButton
    remove: QPushButton


def _set_role(label: QLabel, role: str) -> None:
    label.setProperty("role", role)
    label.style().unpolish(label)
    label.style().polish(label)


class SettingsPanel(QWidget):
    title = "Settings"
    icon = "settings"
    message_posted = Signal(str)  # a sentence for the status bar
    credentials_changed = Signal(list)  # the names stored in the keyring after a refresh

    def __init__(
        self, conn: RuntimeConnection, parent: QWidget | None = None, store: SecretStore | None = None
    ):
        super().__init__(parent)
        self.conn = conn
        self.store = store  # made on first show: importing keyring and its backends is slow
        self.form = Ui_SettingsForm()
        self.form.setupUi(self)
        self.setStyleSheet(STYLE)
        f = self.form
        for label in (f.credentials_note_label, f.tracking_note_label):
            label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.keyring_usable: bool | None = None  # None until the first answer from the keyring
        self.stored: list[str] = []
        self.rows: dict[str, _CredentialRow] = {}

        f.data_dir_edit.setText(str(conn.data.root))
        f.open_data_dir_button.clicked.connect(self._on_open_data_dir_button_clicked)
        f.tracking_uri_edit.setPlaceholderText(conn.data.default_tracking_uri)
        f.tracking_uri_edit.returnPressed.connect(self._on_save_tracking_button_clicked)
        f.save_tracking_button.clicked.connect(self._on_save_tracking_button_clicked)
        self.settings: SettingsView | None = None  # the daemon's, once read
        self._tracking_note = f.tracking_note_label.text()
        self._set_tracking_enabled(False)
        conn.connected.connect(self._on_conn_connected)
        self.load_settings()
        f.theme_combo.setCurrentIndex(THEMES.index(self._theme_mode()))
        f.theme_combo.activated.connect(self._on_theme_combo_activated)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self.rows:
            self._build_credentials()  # the first time the page is seen, not at app start-up
        self.refresh_credentials()  # stored elsewhere meanwhile (the CLI, another window)?

    def _build_credentials(self) -> None:
        from trainer_runtime.secrets.redact import KNOWN_CREDENTIALS
        from trainer_runtime.secrets.store import SecretStore

        f = self.form
        self.store = self.store or SecretStore()
        for i, (name, description) in enumerate(KNOWN_CREDENTIALS.items()):
            label = QLabel(f"{description} ({name})", self)
            edit = QLineEdit(self)
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setPlaceholderText("paste a new value to store it")
            edit.setObjectName(f"{name.lower()}_edit")
            status = QLabel("checking…", self)
            status.setMinimumWidth(70)
            save, remove = QPushButton("Save", self), QPushButton("Remove", self)
            row = _CredentialRow(name, edit, status, save, remove)
            for col, w in enumerate((label, edit, status, save, remove)):
                f.credentials_grid.addWidget(w, i, col)
            edit.textChanged.connect(partial(self._on_credential_edit_text_changed, name))
            edit.returnPressed.connect(partial(self._on_credential_save_clicked, name))
            save.clicked.connect(partial(self._on_credential_save_clicked, name))
            remove.clicked.connect(partial(self._on_credential_remove_clicked, name))
            self.rows[name] = row
        f.credentials_grid.setColumnStretch(1, 1)
        self._update_rows()

    # ------------------------------------------------------------ credentials
    def refresh_credentials(self) -> None:
        if self.store is None:
            return
        op(self.conn, self, self.store.names, what="read the keyring") \
            .success(self._on_store_names_read).failure(self._on_store_failed).run()  # fmt: skip

    def _on_store_names_read(self, names: list[str]) -> None:
        self.keyring_usable = True
        self.stored = list(names)
        self.form.keyring_error.setVisible(False)
        for row in self.rows.values():
            row.status.setText(STORED if row.name in names else NOT_SET)
            _set_role(row.status, "stored" if row.name in names else "")
        self._update_rows()
        self.credentials_changed.emit(self.stored)

    def _on_store_failed(self, err: Exception, name: str | None = None) -> None:
        from trainer_runtime.secrets.store import KeyringUnavailable

        if isinstance(err, KeyringUnavailable):
            self.keyring_usable = False
            self.form.keyring_error.setText(f"{err}\nNothing is stored anywhere else, so saving is disabled.")
            self.form.keyring_error.setVisible(True)
            for row in self.rows.values():
                row.status.setText("unavailable")
                _set_role(row.status, "")
        elif isinstance(err, ValueError) and name:  # the value or name was refused; says why
            row = self.rows[name]
            row.status.setText(str(err))
            _set_role(row.status, "error")
        else:
            log.error("a keyring call failed", exc_info=err)
            self.form.keyring_error.setText(f"The keyring call failed: {err}")
            self.form.keyring_error.setVisible(True)
        self._update_rows()

    def _update_rows(self) -> None:
        usable = bool(self.keyring_usable)
        for row in self.rows.values():
            row.edit.setEnabled(usable)
            row.save.setEnabled(usable and bool(row.edit.text()))
            row.remove.setEnabled(usable and row.name in self.stored)

    def _on_credential_edit_text_changed(self, name: str, _text: str) -> None:
        self._update_rows()

    @Slot()
    def _on_credential_save_clicked(self, name: str) -> None:
        row = self.rows[name]
        if not self.keyring_usable or self.store is None or not row.edit.text():
            return
        row.save.setEnabled(False)
        row.status.setText("saving…")
        op(self.conn, self, self.store.set, name, row.edit.text(), what=f"store {name}") \
            .success(lambda _r: self._on_credential_saved(name)) \
            .failure(lambda err: self._on_store_failed(err, name)).run()  # fmt: skip

    def _on_credential_saved(self, name: str) -> None:
        self.rows[name].edit.clear()  # the value is in the keyring now; never keep it on screen
        self.message_posted.emit(f"Stored {name} in the OS keyring.")
        self.refresh_credentials()

    @Slot()
    def _on_credential_remove_clicked(self, name: str) -> None:
        if self.store is None:
            return
        self.rows[name].remove.setEnabled(False)
        op(self.conn, self, self.store.delete, name, what=f"remove {name}") \
            .success(lambda _r: self._on_credential_removed(name)) \
            .failure(lambda err: self._on_store_failed(err, name)).run()  # fmt: skip

    def _on_credential_removed(self, name: str) -> None:
        self.message_posted.emit(f"Removed {name} from the OS keyring.")
        self.refresh_credentials()

    # ------------------------------------------------------------ data folder
    @Slot()
    def _on_open_data_dir_button_clicked(self) -> None:
        root = self.conn.data.root
        root.mkdir(parents=True, exist_ok=True)
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(root))):
            self.message_posted.emit(f"Could not open a file manager; the data folder is {root}")

    # --------------------------------------------------------------- tracking
    def load_settings(self) -> None:
        """Ask the daemon for its settings (again after a reconnect: another client may have
        changed them)."""
        op(self.conn, self, self.conn.client.settings, what="read the runtime's settings") \
            .success(self._on_settings_read).failure(self._on_settings_unreadable).run()  # fmt: skip

    @Slot(dict)
    def _on_conn_connected(self, _status: dict) -> None:
        self.load_settings()

    def _on_settings_read(self, view: SettingsView) -> None:
        self.settings = view
        self.form.tracking_uri_edit.setText(view.tracking_uri or "")
        self.form.tracking_uri_edit.setPlaceholderText(view.default_tracking_uri)
        self._set_tracking_enabled(True)
        self._show_tracking_error("")
        override = view.overridden.get("tracking_uri")
        note = self._tracking_note
        if override:
            note = f"{override} is set for the runtime and wins over this field until it starts without it."
        self.form.tracking_note_label.setText(note)
        self.form.tracking_note_label.setToolTip(f"In use now: {view.effective_tracking_uri}")

    def _on_settings_unreadable(self, err: Exception) -> None:
        self._set_tracking_enabled(False)
        if isinstance(err, DaemonUnavailable):
            self.form.tracking_note_label.setText(
                "The runtime is not running: its settings show here once it answers."
            )
        else:
            self._show_tracking_error(f"Could not read the runtime's settings: {err}")

    def _set_tracking_enabled(self, enabled: bool) -> None:
        self.form.tracking_uri_edit.setEnabled(enabled)
        self.form.save_tracking_button.setEnabled(enabled)

    def _show_tracking_error(self, text: str) -> None:
        self.form.tracking_error.setText(text)
        self.form.tracking_error.setVisible(bool(text))

    @Slot()
    def _on_save_tracking_button_clicked(self) -> None:
        uri = self.form.tracking_uri_edit.text().strip()
        self.form.save_tracking_button.setEnabled(False)
        self._show_tracking_error("")
        call = partial(self.conn.client.update_settings, tracking_uri=uri or None)
        op(self.conn, self, call, what="save the tracking URI") \
            .success(self._on_tracking_saved).failure(self._on_tracking_refused).run()  # fmt: skip

    def _on_tracking_saved(self, answer: SettingsChanged) -> None:
        self._on_settings_read(answer.settings)
        change = next((c for c in answer.changes if c.key == "tracking_uri"), None)
        if change is None:
            self.form.tracking_note_label.setText("Unchanged: the runtime already tracks there.")
        else:
            self.form.tracking_note_label.setText(f"Saved: {change.note}.")
        self.message_posted.emit(answer.message)

    def _on_tracking_refused(self, err: Exception) -> None:
        self.form.save_tracking_button.setEnabled(True)
        if isinstance(err, ApiError):
            reasons = [p["message"] for p in err.problems if p.get("field") == "tracking_uri"]
            self._show_tracking_error(reasons[0] if reasons else err.message)
        elif isinstance(err, DaemonUnavailable):
            self._show_tracking_error(f"Not saved: the runtime is not running ({err}).")
        else:
            self._show_tracking_error(f"Not saved: {err}")

    # ------------------------------------------------------------------ theme
    @staticmethod
    def _theme_mode() -> str:
        try:
            from sparktrainer_gui.theme import current_mode
        except ImportError:
            return "system"
        mode = current_mode()
        return mode if mode in THEMES else "system"

    @Slot(int)
    def _on_theme_combo_activated(self, index: int) -> None:
        try:
            from sparktrainer_gui.theme import apply_theme
        except ImportError as err:
            self.form.theme_error.setText(f"Themes are not available in this build ({err}).")
            self.form.theme_error.setVisible(True)
            return
        apply_theme(QApplication.instance(), THEMES[index])
