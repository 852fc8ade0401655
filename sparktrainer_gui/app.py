"""Start-up of the desktop app: QApplication, asyncio on Qt's loop (qasync), the
theme, the main window, and the runtime connection (which starts the daemon when
it is not running, off the main thread: the window appears at once)."""

from __future__ import annotations

import asyncio
import logging
import sys

ORGANIZATION = "SparkTrainer"
APPLICATION = "SparkTrainer Desktop"
CONNECT_DELAY_MS = 50


def main(argv: list[str] | None = None) -> int:
    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from sparktrainer_gui import theme
    from sparktrainer_gui.main_window import MainWindow
    from sparktrainer_gui.runtime import RuntimeConnection

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = QApplication.instance() or QApplication([sys.argv[0], *(argv or [])])
    assert isinstance(app, QApplication)  # instance() is typed as the QCoreApplication base
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("SparkTrainer")
    app.setStyle("Fusion")
    theme.apply_theme(app, theme.saved_mode(), persist=False)  # type: ignore[arg-type]

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    conn = RuntimeConnection()
    window = MainWindow(conn)
    window.show()
    # Connect once the first frame is on screen; the connection thread competes for the GIL.
    QTimer.singleShot(CONNECT_DELAY_MS, conn.start)
    # The other panels are built after the first frame too, one per event-loop turn.
    QTimer.singleShot(CONNECT_DELAY_MS * 2, window, window.build_remaining_panels)

    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    try:
        with loop:
            loop.run_until_complete(closed.wait())
    finally:
        conn.stop()  # the daemon and its jobs keep running
    return 0
