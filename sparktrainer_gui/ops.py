"""Background calls from a view, bound to the widget that asked (after Anki's ``QueryOp``).

A view never calls the daemon on the main thread, and never checks by hand whether it still
exists when the answer comes::

    Op(self.conn, self, self.conn.client.dataset, name, what="load the dataset") \\
        .success(self._fill) \\
        .failure(self._show_error) \\
        .run()

``fn(*args)`` runs on the connection's thread pool; ``success(result)`` or ``failure(error)``
run on the main thread, and only while ``parent`` lives: a panel closed while its call ran
drops the answer (logged). Without a ``failure`` callback the error reaches the default
display: the connection's ``call_failed`` signal (the status bar), as "Could not <what>: <why>".
This is the one place that knows a Qt object can be deleted under a pending call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject
from shiboken6 import isValid

from sparktrainer_gui.runtime import RuntimeConnection

log = logging.getLogger(__name__)
T = TypeVar("T")


class Op(Generic[T]):
    def __init__(
        self,
        conn: RuntimeConnection,
        parent: QObject,
        fn: Callable[..., T],
        *args: Any,
        what: str = "",
    ) -> None:
        self.conn, self.parent, self.fn, self.args = conn, parent, fn, args
        self.what = what or getattr(fn, "__name__", "call the runtime").replace("_", " ")
        self._on_success: Callable[[T], None] | None = None
        self._on_failure: Callable[[Exception], None] | None = None
        self.future: Future[T] | None = None  # set by run(); None after the connection stopped

    def success(self, callback: Callable[[T], None]) -> Op[T]:
        self._on_success = callback
        return self

    def failure(self, callback: Callable[[Exception], None]) -> Op[T]:
        self._on_failure = callback
        return self

    def run(self) -> Op[T]:
        """Start the call; returns self. After the connection stopped (the window is closing)
        nothing runs."""
        self.future = self.conn.submit(self.fn, *self.args, on_done=self._succeeded, on_error=self._failed)
        return self

    def alive(self) -> bool:
        return isValid(self.parent)

    def _succeeded(self, result: T) -> None:
        if not self.alive():
            log.debug("dropped the answer to %r: its view was closed", self.what)
            return
        if self._on_success is not None:
            self._on_success(result)

    def _failed(self, err: Exception) -> None:
        if not self.alive():
            log.info("could not %s (its view was closed meanwhile): %s", self.what, err)
        elif self._on_failure is not None:
            self._on_failure(err)
        else:
            self.conn.call_failed.emit(f"Could not {self.what}: {err}")


def op(conn: RuntimeConnection, parent: QObject, fn: Callable[..., T], *args: Any, what: str = "") -> Op[T]:
    """``Op(...)``, for a shorter line."""
    return Op(conn, parent, fn, *args, what=what)


__all__ = ["Op", "op"]
