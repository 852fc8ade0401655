"""The GUI's daemon connection: background calls and shutdown."""

from __future__ import annotations

import threading

from sparktrainer_gui.runtime import RuntimeConnection


def test_calls_queued_when_the_window_closes_are_dropped_quietly(qtbot, home) -> None:
    """Closing the window cancels calls still waiting for a thread; their callbacks must not run
    and nothing may raise in the Qt event loop (pytest-qt fails the test if something does)."""
    conn = RuntimeConnection(autostart_daemon=False)
    release = threading.Event()
    done: list[object] = []
    errors: list[Exception] = []
    # four pool threads block, so the next calls wait in the queue
    busy = [conn.submit(release.wait, 5) for _ in range(4)]
    queued = [conn.submit(lambda: "late", on_done=done.append, on_error=errors.append) for _ in range(3)]
    conn.stop()
    release.set()
    qtbot.waitUntil(lambda: all(f is not None and f.done() for f in busy + queued), timeout=5000)
    qtbot.wait(100)  # an observation window: a wrongly delivered callback would run in it
    assert all(f is not None and f.cancelled() for f in queued)
    assert done == [] and errors == []
    assert conn.submit(lambda: 1) is None  # nothing runs after stop()


def test_a_finished_call_delivers_its_result_on_the_main_thread(qtbot, home) -> None:
    conn = RuntimeConnection(autostart_daemon=False)
    main = threading.get_ident()
    seen: list[tuple[object, int]] = []
    conn.submit(lambda: 41 + 1, on_done=lambda v: seen.append((v, threading.get_ident())))
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    assert seen == [(42, main)]
    errs: list[Exception] = []
    conn.submit(lambda: 1 / 0, on_error=errs.append)
    qtbot.waitUntil(lambda: bool(errs), timeout=5000)
    assert isinstance(errs[0], ZeroDivisionError)
    conn.stop()


def test_a_reply_for_a_view_deleted_meanwhile_is_dropped_by_its_op(qtbot, home) -> None:
    """A panel closed while its call ran: its op drops the answer (success or failure), so
    nothing touches the deleted Qt object and nothing raises in the Qt event loop (pytest-qt
    fails the test if something does). The connection itself matches no error messages."""
    import shiboken6
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QLabel

    from sparktrainer_gui import runtime
    from sparktrainer_gui.ops import op

    class View(QObject):
        page_failed = Signal(str)

    conn = RuntimeConnection(autostart_daemon=False)
    release = threading.Event()
    view, label = View(), QLabel()
    calls: list[str] = []
    a = (
        op(conn, view, lambda: release.wait(5) and 1 / 0)
        .failure(lambda e: calls.append("error") or view.page_failed.emit(str(e)))
        .run()
    )
    b = (
        op(conn, label, lambda: release.wait(5))
        .success(lambda _v: calls.append("done") or label.setText("late"))
        .run()
    )
    shiboken6.delete(view)
    shiboken6.delete(label)
    release.set()
    qtbot.waitUntil(lambda: all(o.future is not None and o.future.done() for o in (a, b)), timeout=5000)
    probe: list[int] = []  # answers are delivered in order: once this one is in, so were theirs
    conn.submit(lambda: 1, on_done=probe.append)
    qtbot.waitUntil(lambda: probe == [1], timeout=5000)
    assert calls == []
    assert not hasattr(runtime, "DELETED_OBJECT_MESSAGES")
    conn.stop()


def test_is_connected_turns_true_only_in_the_turn_that_tells_the_receivers(qtbot, daemon) -> None:
    """The stream thread only posts what it learns: ``is_connected`` changes on the main thread,
    with ``connected``. (It used to be set by the thread first, so a test waiting for it saw
    the status bar still "Connecting…" on a busy machine.)"""
    import time

    conn = RuntimeConnection(autostart_daemon=False)
    told: list[bool] = []
    conn.connected.connect(lambda _status: told.append(conn.is_connected))
    conn.start()
    # This thread processes no Qt events for a while: the stream connects meanwhile (the daemon
    # runs), but nothing the main thread reads may change before it is told.
    quiet_until = time.monotonic() + 3.0
    while time.monotonic() < quiet_until and not conn.is_connected:
        threading.Event().wait(0.05)
    assert not conn.is_connected and told == []
    qtbot.waitUntil(lambda: conn.is_connected)
    assert told == [True]
    conn.stop()
