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
    qtbot.wait(100)  # let any singleShot delivery run
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
