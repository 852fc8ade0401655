"""The main window: composes the panels (sidebar + stack), the actions, the menus,
the connection banner and the status bar. Behaviour lives in the panels."""

from __future__ import annotations

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from sparktrainer_gui import theme
from sparktrainer_gui.actions import AppActions, _Group, make_action, refresh_icons
from sparktrainer_gui.palette import CommandPalette
from sparktrainer_gui.panels import PANELS, panel_key
from sparktrainer_gui.panels.jobs.notify import JobFinishedNotifier
from sparktrainer_gui.runtime import RuntimeConnection
from sparktrainer_gui.widgets.banner import Banner
from sparktrainer_gui.widgets.runtime_status import RuntimeStatus
from sparktrainer_gui.widgets.shortcuts_dialog import ShortcutsDialog


class MainWindow(QMainWindow):
    def __init__(self, conn: RuntimeConnection, parent: QWidget | None = None):
        super().__init__(parent)
        self.conn = conn
        self.setObjectName("mainWindow")
        self.setWindowTitle("SparkTrainer")
        self.setWindowIcon(theme.icon("spark", theme.colors()["accent"], 64))
        self.actions_ = AppActions.create(self)
        self.banner = Banner(self)
        self.sidebar = QListWidget(self)
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setIconSize(QSize(20, 20))
        self.sidebar.setFixedWidth(184)
        self.stack = QStackedWidget(self)
        self.stack.setObjectName("panelStack")
        self.panels: dict[str, QWidget] = {}
        for number, cls in enumerate(PANELS, start=1):
            self._add_panel(number, cls)
        self._build_layout()
        self.status = RuntimeStatus(conn, self)
        self.statusBar().addPermanentWidget(self.status)
        self._build_menus()
        self._connect()
        self._restore()

    # ------------------------------------------------------------------ build
    def _add_panel(self, number: int, cls: type) -> None:
        key = panel_key(cls)
        panel = cls(self.conn, self.stack)
        panel.setObjectName(f"panel-{key}")
        self.panels[key] = panel
        self.stack.addWidget(panel)
        item = QListWidgetItem(theme.icon(cls.icon), cls.title, self.sidebar)
        item.setData(Qt.ItemDataRole.UserRole, key)
        item.setSizeHint(QSize(0, 40))
        shortcut = f"Ctrl+{number}" if number <= 9 else None
        action = make_action(self, f"Go to {cls.title}", shortcut, cls.icon)
        action.triggered.connect(lambda _checked=False, k=key: self.show_panel(k))
        self.actions_.panels.append(action)
        if hasattr(panel, "message_posted"):
            panel.message_posted.connect(self._on_panel_message_posted)

    def _build_layout(self) -> None:
        body = QWidget(self)
        row = QHBoxLayout(body)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.sidebar)
        row.addWidget(self.stack, 1)
        central = QWidget(self)
        central.setObjectName("central")
        col = QVBoxLayout(central)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        col.addWidget(self.banner)
        col.addWidget(body, 1)
        self.setCentralWidget(central)

    def _build_menus(self) -> None:
        a = self.actions_
        bar = self.menuBar()
        bar.addMenu("&File").addAction(a.quit)
        view_menu = bar.addMenu("&View")
        for group in self.panel_action_groups():
            bar.addMenu("&" + group.title).addActions(list(group))
        view_menu.addActions(a.panels)
        view_menu.addSeparator()
        view_menu.addAction(a.command_palette)
        theme_menu = view_menu.addMenu("Theme")
        self._theme_group = QActionGroup(self)
        for mode, action in (("system", a.theme_system), ("light", a.theme_light), ("dark", a.theme_dark)):
            self._theme_group.addAction(action)
            theme_menu.addAction(action)
            action.setChecked(theme.current_mode() == mode)
            action.triggered.connect(lambda _checked=False, m=mode: self._on_theme_action_triggered(m))
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(a.shortcuts)
        help_menu.addAction(a.command_palette)
        for action in self.all_actions():  # window-wide shortcuts whichever panel is shown
            self.addAction(action)

    def _connect(self) -> None:
        a = self.actions_
        a.command_palette.triggered.connect(self.open_palette)
        a.shortcuts.triggered.connect(self.open_shortcuts)
        a.quit.triggered.connect(self.close)
        self.sidebar.currentRowChanged.connect(self._on_sidebar_current_row_changed)
        self.banner.retry_requested.connect(self._on_banner_retry_requested)
        self.conn.connected.connect(self._on_conn_connected)
        self.conn.disconnected.connect(self._on_conn_disconnected)
        self.conn.call_failed.connect(self._on_conn_call_failed)
        theme.notifier.theme_changed.connect(self._on_theme_changed)
        # A job that ends while the window is in the background: a tray message (or the status bar).
        self.finish_notifier = JobFinishedNotifier(self.conn, self, parent=self)
        self.finish_notifier.status_posted.connect(self.statusBar().showMessage)

    # ---------------------------------------------------------------- public
    def panel_action_groups(self) -> list[_Group]:
        groups: list[_Group] = []
        for panel in self.panels.values():
            groups += panel.action_groups() if hasattr(panel, "action_groups") else []
        return groups

    def action_groups(self) -> list[_Group]:
        return [*self.panel_action_groups(), self.actions_]

    def all_actions(self) -> list[QAction]:
        return [action for group in self.action_groups() for action in group]

    def current_panel_key(self) -> str:
        item = self.sidebar.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else next(iter(self.panels))

    def show_panel(self, key: str) -> None:
        keys = list(self.panels)
        if key in keys:
            self.sidebar.setCurrentRow(keys.index(key))

    @Slot()
    def open_palette(self) -> CommandPalette:
        skip = {self.actions_.command_palette, *self.actions_.panels}
        entries = [("Panel", act) for act in self.actions_.panels]
        entries += [(g.title, act) for g in self.action_groups() for act in g if act not in skip]
        self.palette_popup = CommandPalette(entries, self)
        self.palette_popup.popup_over(self)
        return self.palette_popup

    @Slot()
    def open_shortcuts(self) -> ShortcutsDialog:
        self.shortcuts_dialog = ShortcutsDialog(self.action_groups(), self)
        self.shortcuts_dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.shortcuts_dialog.show()
        return self.shortcuts_dialog

    # ------------------------------------------------------------- settings
    def _restore(self) -> None:
        s = QSettings()
        geometry = s.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 800)
        last = str(s.value("window/panel", ""))
        self.show_panel(last if last in self.panels else next(iter(self.panels)))

    def save_settings(self) -> None:
        s = QSettings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/panel", self.current_panel_key())
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Only the window closes: the daemon and its jobs keep running."""
        self.save_settings()
        super().closeEvent(event)

    # ----------------------------------------------------------------- slots
    @Slot(int)
    def _on_sidebar_current_row_changed(self, row: int) -> None:
        if row >= 0:
            self.stack.setCurrentIndex(row)

    @Slot()
    def _on_banner_retry_requested(self) -> None:
        self.banner.retry.setEnabled(False)
        self.banner.message.setText(f"Reconnecting to the runtime… (last error: {self.conn.last_error})")
        self.conn.retry_now()
        QTimer.singleShot(4000, self.banner, lambda: self.banner.retry.setEnabled(True))

    @Slot(dict)
    def _on_conn_connected(self, _status: dict) -> None:
        self.banner.hide()

    @Slot(str)
    def _on_conn_disconnected(self, reason: str) -> None:
        self.banner.show_message(f"Lost the connection to the runtime: {reason}. Reconnecting automatically…")

    @Slot(str)
    def _on_conn_call_failed(self, sentence: str) -> None:
        self.statusBar().showMessage(sentence, 15000)

    @Slot(str)
    def _on_panel_message_posted(self, sentence: str) -> None:
        self.statusBar().showMessage(sentence, 6000)

    def _on_theme_action_triggered(self, mode: str) -> None:
        theme.apply_theme(QApplication.instance(), mode)  # type: ignore[arg-type]

    @Slot(str)
    def _on_theme_changed(self, _resolved: str) -> None:
        refresh_icons(self.actions_.panels + list(self.actions_))
        for row, cls in enumerate(PANELS):
            self.sidebar.item(row).setIcon(theme.icon(cls.icon))
        mode = theme.current_mode()
        for m, action in (("system", self.actions_.theme_system), ("light", self.actions_.theme_light),
                          ("dark", self.actions_.theme_dark)):  # fmt: skip
            action.setChecked(m == mode)
