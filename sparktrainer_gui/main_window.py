"""The main window: composes the panels (sidebar + stack), the actions, the menus,
the connection banner and the status bar. Behaviour lives in the panels."""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from sparktrainer_gui import theme
from sparktrainer_gui.actions import AppActions, _Group, make_action, refresh_icons
from sparktrainer_gui.palette import CommandPalette
from sparktrainer_gui.panels import PANELS, PanelSpec
from sparktrainer_gui.panels.jobs.notify import JobFinishedNotifier
from sparktrainer_gui.runtime import RuntimeConnection
from sparktrainer_gui.widgets.banner import Banner
from sparktrainer_gui.widgets.runtime_status import RuntimeStatus
from sparktrainer_gui.widgets.shortcuts_dialog import ShortcutsDialog

log = logging.getLogger(__name__)


class LazyPanels(Mapping[str, QWidget]):
    """The window's panels by key, each built the first time it is asked for, so start-up
    builds only the panel that is shown (the others follow once the window has painted)."""

    def __init__(self, keys: list[str], build: Callable[[str], QWidget]):
        self._keys, self._build = keys, build
        self._built: dict[str, QWidget] = {}

    def __getitem__(self, key: str) -> QWidget:
        if key not in self._keys:
            raise KeyError(key)
        if key not in self._built:
            self._built[key] = self._build(key)
        return self._built[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def built(self) -> list[QWidget]:
        return [self._built[k] for k in self._keys if k in self._built]

    def is_built(self, key: str) -> bool:
        return key in self._built


class MainWindow(QMainWindow):
    panel_built = Signal(str)  # a panel's key, once it has been built (on first show or after start-up)
    _panel_modules_imported = Signal()  # from the import thread: build the remaining panels

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
        self._specs = {spec.key: spec for spec in PANELS}
        self.panels = LazyPanels(list(self._specs), self._build_panel)
        for number, spec in enumerate(PANELS, start=1):
            self._add_panel(number, spec)
        self._build_layout()
        self.status = RuntimeStatus(conn, self)
        self.statusBar().addPermanentWidget(self.status)
        self._build_menus()
        self._connect()
        self._restore()
        self._panel_modules_imported.connect(self._build_next_panel)
        self.setAcceptDrops(True)  # files dropped outside a panel that takes them: import as datasets

    # ------------------------------------------------------------------ build
    def _add_panel(self, number: int, cls: PanelSpec) -> None:
        """A sidebar entry, a shortcut and a placeholder page; the panel itself is built later."""
        key = cls.key
        placeholder = QWidget(self.stack)
        placeholder.setObjectName(f"placeholder-{key}")
        self.stack.addWidget(placeholder)
        item = QListWidgetItem(theme.icon(cls.icon), cls.title, self.sidebar)
        item.setData(Qt.ItemDataRole.UserRole, key)
        item.setSizeHint(QSize(0, 40))
        shortcut = f"Ctrl+{number}" if number <= 9 else None
        action = make_action(self, f"Go to {cls.title}", shortcut, cls.icon)
        action.triggered.connect(lambda _checked=False, k=key: self.show_panel(k))
        self.actions_.panels.append(action)

    def _build_panel(self, key: str) -> QWidget:
        cls = self._specs[key].load()
        index = list(self._specs).index(key)
        panel = cls(self.conn, self.stack)
        panel.setObjectName(f"panel-{key}")
        placeholder = self.stack.widget(index)
        assert placeholder is not None  # every key has a page from the start
        showing = self.stack.currentIndex() == index
        self.stack.insertWidget(index, panel)
        self.stack.removeWidget(placeholder)
        placeholder.deleteLater()
        if showing:
            self.stack.setCurrentIndex(index)
        if hasattr(panel, "message_posted"):
            panel.message_posted.connect(self._on_panel_message_posted)
        if hasattr(panel, "job_open_requested"):
            panel.job_open_requested.connect(self.open_job)
        if hasattr(self, "_panel_menu_anchor"):  # built after the menus: add its actions now
            self._install_panel_actions(panel)
        self.panel_built.emit(key)
        return panel

    def build_remaining_panels(self) -> None:
        """Build the panels not shown yet: their modules are imported on a thread (Python
        imports take most of a panel's cost), then each is built on the main thread, one per
        event-loop turn."""
        modules = [self._specs[k].module for k in self.panels if not self.panels.is_built(k)]

        def import_all() -> None:
            for name in modules:
                try:
                    importlib.import_module(name)
                except Exception:  # built on the main thread anyway, which reports the error
                    log.exception("could not import %s in the background", name)
            self._panel_modules_imported.emit()

        threading.Thread(target=import_all, name="panel-imports", daemon=True).start()

    @Slot()
    def _build_next_panel(self) -> None:
        for key in self.panels:
            if not self.panels.is_built(key):
                _ = self.panels[key]
                QTimer.singleShot(0, self, self._build_next_panel)
                return

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
        self._panel_menu_anchor = help_menu.menuAction()  # panel menus go between View and Help
        for panel in self.panels.built():
            self._add_panel_menus(panel)
        for action in self.all_actions():  # window-wide shortcuts whichever panel is shown
            self.addAction(action)

    @staticmethod
    def _groups_of(panel: QWidget) -> list[_Group]:
        return panel.action_groups() if hasattr(panel, "action_groups") else []

    def _add_panel_menus(self, panel: QWidget) -> None:
        bar = self.menuBar()
        for group in self._groups_of(panel):
            menu = QMenu("&" + group.title, bar)
            menu.addActions(list(group))
            bar.insertMenu(self._panel_menu_anchor, menu)

    def _install_panel_actions(self, panel: QWidget) -> None:
        self._add_panel_menus(panel)
        for group in self._groups_of(panel):
            for action in group:
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
        self.conn.start_refused.connect(self._on_conn_start_refused)
        self.conn.call_failed.connect(self._on_conn_call_failed)
        theme.notifier.theme_changed.connect(self._on_theme_changed)
        # A job that ends while the window is in the background: a tray message (or the status bar).
        self.finish_notifier = JobFinishedNotifier(self.conn, self, parent=self)
        self.finish_notifier.status_posted.connect(self.statusBar().showMessage)

    # ---------------------------------------------------------------- public
    def panel_action_groups(self) -> list[_Group]:
        groups: list[_Group] = []
        for panel in self.panels.built():
            groups += self._groups_of(panel)
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

    @Slot(str)
    def open_job(self, job_id: str) -> None:
        """Show ``job_id`` in the Jobs panel (asked for by another panel)."""
        jobs = self.panels.get("jobs")
        if jobs is not None:
            self.show_panel("jobs")
            if not jobs.select_job(job_id):  # type: ignore[attr-defined]
                self.statusBar().showMessage(f"Job {job_id} is not in the jobs list.", 6000)

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

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and "datasets" in self.panels:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        """A drop anywhere on the window opens the Datasets panel's import for those paths."""
        if not event.mimeData().hasUrls() or "datasets" not in self.panels:
            event.ignore()
            return
        self.show_panel("datasets")
        datasets = self.panels["datasets"]
        paths = datasets.dropped_paths(event)  # type: ignore[attr-defined]
        if datasets.import_paths(paths):  # type: ignore[attr-defined]
            event.acceptProposedAction()
        else:
            event.ignore()

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
            _ = self.panels[list(self.panels)[row]]  # built on first show

    @Slot()
    def _on_banner_retry_requested(self) -> None:
        self.banner.retry.setEnabled(False)
        if self.conn.start_refusal:
            self.banner.set_hint("Starting the runtime again…")
        else:
            self.banner.set_hint(f"Reconnecting to the runtime… (last error: {self.conn.last_error})")
        self.conn.retry_now()
        QTimer.singleShot(4000, self.banner, lambda: self.banner.retry.setEnabled(True))

    @Slot(object)
    def _on_conn_connected(self, _status: object) -> None:
        self.banner.hide()

    @Slot(str)
    def _on_conn_disconnected(self, reason: str) -> None:
        self.banner.show_message(
            f"Lost the connection to the runtime: {reason.rstrip('.')}.", hint="Reconnecting automatically…"
        )

    @Slot(str, float)
    def _on_conn_start_refused(self, sentence: str, retry_in: float) -> None:
        when = f"in {retry_in / 60:.0f} min" if retry_in >= 90 else f"in {retry_in:.0f} s"
        self.banner.show_message(
            sentence,
            title="The SparkTrainer runtime could not start",
            hint=f"Fix what it says, then press Retry now; the next automatic try is {when}.",
        )

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
