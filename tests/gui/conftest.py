"""GUI fixtures: offscreen Qt, an isolated QSettings store per test, main windows
connected to the ``daemon`` fixture's data dir, and a ``qtbot`` whose waits are long
enough for a loaded machine."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QSettings
from pytestqt.qtbot import QtBot

# Every wait is a deadline for a failure, never a pause: a condition that holds returns at
# once. pytest-qt's 5 s default (and the 1-10 s some tests once passed) failed on a busy
# 2-core machine, where a daemon answer or a thread-pool result can take 5-10x as long.
MIN_WAIT_MS = 30_000


class LoadTolerantQtBot(QtBot):
    """``QtBot`` whose waits (waitUntil, waitSignal(s), waitExposed, waitActive, waitCallback)
    last at least MIN_WAIT_MS before they fail. ``wait(ms)`` and ``assertNotEmitted(wait=…)``
    are observation windows, not deadlines, and keep their lengths."""

    def waitUntil(self, callback, *, timeout: int = MIN_WAIT_MS) -> None:
        super().waitUntil(callback, timeout=max(timeout, MIN_WAIT_MS))

    def waitSignal(self, signal=None, *, timeout: int = MIN_WAIT_MS, **kwargs):
        return super().waitSignal(signal, timeout=max(timeout, MIN_WAIT_MS), **kwargs)

    def waitSignals(self, signals=None, *, timeout: int = MIN_WAIT_MS, **kwargs):
        return super().waitSignals(signals, timeout=max(timeout, MIN_WAIT_MS), **kwargs)

    def waitExposed(self, widget, *, timeout: int = MIN_WAIT_MS):
        return super().waitExposed(widget, timeout=max(timeout, MIN_WAIT_MS))

    def waitActive(self, widget, *, timeout: int = MIN_WAIT_MS):
        return super().waitActive(widget, timeout=max(timeout, MIN_WAIT_MS))

    def waitCallback(self, *, timeout: int = MIN_WAIT_MS, **kwargs):
        return super().waitCallback(timeout=max(timeout, MIN_WAIT_MS), **kwargs)


@pytest.fixture
def qtbot(qapp, request) -> QtBot:
    """pytest-qt's ``qtbot`` with load-tolerant waits (widgets added to it close as before)."""
    return LoadTolerantQtBot(request)


@pytest.fixture(autouse=True)
def isolated_qsettings(qapp, tmp_path: Path) -> Iterator[Path]:
    """Every QSettings() of the app lands in this test's tmp dir, never the user's."""
    from sparktrainer_gui import theme

    where = tmp_path / "qsettings"
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(where))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.SystemScope, str(where / "system"))
    QCoreApplication.setOrganizationName("SparkTrainerTests")
    QCoreApplication.setApplicationName("gui-tests")
    theme.apply_theme(qapp, "light", persist=False)
    yield where
    # The clipboard owns whatever a test copied; left there, Qt frees it after the application
    # object is gone at interpreter exit and the process dies with SIGSEGV after a green run.
    qapp.clipboard().clear()


@pytest.fixture
def make_window(qtbot, home: Path) -> Iterator[Callable]:
    """``make_window(autostart=True)`` → (MainWindow, RuntimeConnection), shown and
    connecting to the test's data dir. Connections are stopped at the end."""
    from sparktrainer_gui.main_window import MainWindow
    from sparktrainer_gui.runtime import RuntimeConnection
    from trainer_runtime.paths import DataDir

    made: list = []

    def _make(autostart: bool = True, wait_connected: bool = True):
        conn = RuntimeConnection(DataDir.default(), autostart_daemon=autostart)
        window = MainWindow(conn)
        qtbot.addWidget(window)
        with qtbot.waitActive(window):  # window shortcuts need an active window
            window.show()
            window.activateWindow()
        conn.start()
        made.append((window, conn))
        if wait_connected:  # is_connected turns True once the window has been told (same turn)
            qtbot.waitUntil(lambda: conn.is_connected, timeout=60_000)
        return window, conn

    yield _make
    for window, conn in made:
        conn.stop()
        window.close()


@pytest.fixture
def model_tester(qapp) -> Iterator[Callable]:
    """``model_tester(model)`` watches ``model`` with QAbstractItemModelTester; any of its
    failures (reported as qt.modeltest warnings) fails the test at the end."""
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtTest import QAbstractItemModelTester

    failures: list[str] = []
    testers: list = []

    def _handler(_mode, context, message: str) -> None:
        if context.category == "qt.modeltest" or "FAIL!" in message:
            failures.append(message)

    previous = qInstallMessageHandler(_handler)

    def _watch(model) -> None:
        testers.append(QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Warning))

    yield _watch
    qInstallMessageHandler(previous)
    testers.clear()
    assert not failures, "QAbstractItemModelTester failed:\n" + "\n".join(failures)


@pytest.fixture
def conn(home: Path) -> Iterator:
    """A runtime connection to the test's data dir that never starts a daemon itself."""
    from sparktrainer_gui.runtime import RuntimeConnection
    from trainer_runtime.paths import DataDir

    c = RuntimeConnection(DataDir.default(), autostart_daemon=False)
    yield c
    c.stop()
