"""The screenshot scripts' shared set-up: a daemon on the throwaway data dir, and the real
MainWindow in a QApplication with throwaway settings and the light theme."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_app: Any = None  # the QApplication lives until the process exits, after every widget


@contextmanager
def running_daemon() -> Iterator[Any]:
    """Start the daemon on ``SPARKTRAINER_HOME``'s data dir; yields its client, shuts it down after."""
    from trainer_runtime.client.client import Client, start_daemon
    from trainer_runtime.paths import DataDir

    data = DataDir.default().ensure()
    start_daemon(data)
    client = Client(data)
    try:
        yield client
    finally:
        client.shutdown()


@contextmanager
def main_window(
    home: Path, *, connect: bool = True, size: tuple[int, int] | None = (1280, 800), autostart: bool = False
) -> Iterator[Any]:
    """The real MainWindow, shown (at ``size`` unless None) and, with ``connect``, connecting to
    the running daemon (it starts one itself only with ``autostart``); closed and disconnected after."""
    from PySide6.QtCore import QCoreApplication, QSettings
    from PySide6.QtWidgets import QApplication

    from sparktrainer_gui import theme
    from sparktrainer_gui.main_window import MainWindow
    from sparktrainer_gui.runtime import RuntimeConnection
    from trainer_runtime.paths import DataDir

    global _app
    app = _app = _app or QApplication([sys.argv[0]])
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(home / "qsettings"))
    QCoreApplication.setOrganizationName("SparkTrainerScreenshots")
    QCoreApplication.setApplicationName("screenshots")
    app.setStyle("Fusion")
    theme.apply_theme(app, "light", persist=False)
    conn = RuntimeConnection(DataDir.default().ensure(), autostart_daemon=autostart)
    window = MainWindow(conn)
    if size is not None:
        window.resize(*size)
    window.show()
    if connect:
        conn.start()
    try:
        yield window
    finally:
        window.close()
        conn.stop()
