"""The owner-bound background call (sparktrainer_gui/ops.py): answers reach a living view,
are dropped for a closed one, and an unhandled failure reaches the status bar's signal."""

from __future__ import annotations

import threading

from PySide6.QtWidgets import QWidget

from sparktrainer_gui.ops import op


def test_success_reaches_the_view_on_the_main_thread(qtbot, conn):
    view = QWidget()
    qtbot.addWidget(view)
    got: list[tuple[int, bool]] = []
    op(conn, view, lambda a, b: a + b, 2, 3).success(
        lambda r: got.append((r, threading.current_thread() is threading.main_thread()))
    ).run()
    qtbot.waitUntil(lambda: bool(got))
    assert got == [(5, True)]


def test_a_closed_view_gets_no_answer(qtbot, conn):
    release = threading.Event()
    view = QWidget()
    called: list[object] = []
    pending = (
        op(conn, view, lambda: release.wait(30) and "late").success(called.append).failure(called.append)
    )
    pending.run()
    view.deleteLater()
    qtbot.waitUntil(lambda: not pending.alive())  # deleted while its call still runs
    release.set()
    qtbot.waitUntil(lambda: pending.future is not None and pending.future.done())
    # its answer is posted to the main thread now; a later call's answer comes after it
    probe = QWidget()
    qtbot.addWidget(probe)
    after: list[str] = []
    op(conn, probe, lambda: "after").success(after.append).run()
    qtbot.waitUntil(lambda: after == ["after"])
    assert called == []


def test_an_unhandled_failure_is_shown_with_what_was_being_done(qtbot, conn):
    view = QWidget()
    qtbot.addWidget(view)

    def boom() -> None:
        raise OSError("the disk is full")

    with qtbot.waitSignal(conn.call_failed) as sig:
        op(conn, view, boom, what="save the draft").run()
    assert sig.args == ["Could not save the draft: the disk is full"]


def test_a_failure_callback_replaces_the_default_display(qtbot, conn):
    view = QWidget()
    qtbot.addWidget(view)
    errors: list[str] = []
    shown: list[str] = []
    conn.call_failed.connect(shown.append)

    def boom() -> None:
        raise ValueError("bad")

    op(conn, view, boom).failure(lambda e: errors.append(str(e))).run()
    qtbot.waitUntil(lambda: errors == ["bad"])
    assert shown == []
