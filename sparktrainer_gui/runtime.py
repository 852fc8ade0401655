"""The GUI's connection to the runtime daemon.

Every daemon call runs on a worker thread (``call`` returns an awaitable for
qasync code, or takes a callback); the event stream is read on its own thread
and re-emitted as Qt signals, which Qt delivers on the main thread. When the
stream drops, ``disconnected`` fires and the connection retries with backoff,
starting the daemon if it is not running."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from trainer_runtime.client.client import ApiError, Client, DaemonUnavailable, start_daemon
from trainer_runtime.paths import DataDir

log = logging.getLogger(__name__)
RETRY_S = (0.5, 1, 2, 4, 5)
# What shiboken raises when Python code touches a Qt object that C++ has already deleted.
DELETED_OBJECT_MESSAGES = ("Signal source has been deleted", "already deleted")


class RuntimeConnection(QObject):
    connected = Signal(dict)  # the daemon's status
    disconnected = Signal(str)  # a sentence saying why
    job_changed = Signal(dict)  # a job's view (state, progress, …) after any change
    job_removed = Signal(str)
    metrics_added = Signal(str, int, list)  # job id, attempt, [{"key","step","value","time"}]
    progress_changed = Signal(str, int, int)  # job id, step, total
    log_added = Signal(str, str)  # job id, text
    call_failed = Signal(str)  # a sentence for the status bar when a background call fails
    dataset_import_changed = Signal(dict)  # an import's view (state, phase, done, total, error)
    dataset_changed = Signal(str)  # a dataset's name after a new or deleted version

    def __init__(
        self, data: DataDir | None = None, autostart_daemon: bool = True, parent: QObject | None = None
    ):
        super().__init__(parent)
        self.data = data or DataDir.default()
        self.client = Client(self.data)
        self.autostart_daemon = autostart_daemon
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="daemon-call")
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.is_connected = False
        self.last_error = ""

    # ------------------------------------------------------------------ calls
    def submit(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[Exception], None] | None = None) -> Future | None:  # fmt: skip
        """Run ``fn(*args)`` off the main thread; callbacks run on the main thread.
        After ``stop()`` (the window is closing) nothing runs and None is returned."""
        if self._stop.is_set():
            return None
        fut = self._pool.submit(fn, *args)

        def _finish(f: Future) -> None:
            if f.cancelled():  # stop() dropped it before it ran: nobody waits for an answer
                return
            QTimer.singleShot(0, self, lambda: self._deliver(f, on_done, on_error))

        fut.add_done_callback(_finish)
        return fut

    def _deliver(self, f: Future, on_done, on_error) -> None:  # noqa: ANN001
        if f.cancelled():
            return
        err = f.exception()
        try:
            if err is None:
                if on_done:
                    on_done(f.result())
                return
            if on_error:
                on_error(err)  # type: ignore[arg-type]
            else:
                self.call_failed.emit(str(err))
        except RuntimeError as exc:
            # The view that asked was closed while the call ran: its reply has no one to show it.
            if not any(m in str(exc) for m in DELETED_OBJECT_MESSAGES):
                raise
            log.debug("dropped a reply for a closed view: %s", exc)

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``await conn.call(conn.client.job, job_id)`` from qasync coroutines."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    # ----------------------------------------------------------------- stream
    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._listen, name="daemon-events", daemon=True)
        self._thread.start()

    @Slot()
    def retry_now(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _listen(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                if not self.client.ping():
                    if not self.autostart_daemon:
                        raise DaemonUnavailable(
                            f"the SparkTrainer daemon is not running for {self.data.root}"
                        )
                    start_daemon(self.data)
                status = self.client.status()
                stream = self.client.events()
                first = next(stream)  # "hello": the stream is open
                del first
                attempt = 0
                self.is_connected = True
                self.connected.emit(status)
                for ev in stream:
                    if self._stop.is_set():
                        return
                    self._dispatch(ev)
                raise DaemonUnavailable("the daemon closed the connection")
            except (DaemonUnavailable, ApiError, OSError, StopIteration, ValueError) as err:
                if self._stop.is_set():
                    return
                self.last_error = str(err) or type(err).__name__
                if self.is_connected or attempt == 0:
                    self.disconnected.emit(self.last_error)
                self.is_connected = False
                delay = RETRY_S[min(attempt, len(RETRY_S) - 1)]
                attempt += 1
                self._wake.wait(delay)
                self._wake.clear()

    def _dispatch(self, ev: dict[str, Any]) -> None:
        kind = ev.get("type")
        if kind == "job_state":
            self.job_changed.emit(ev["job"])
        elif kind == "metrics":
            self.metrics_added.emit(ev["job_id"], int(ev.get("attempt", 1)), ev["points"])
        elif kind == "progress":
            self.progress_changed.emit(ev["job_id"], int(ev.get("step") or 0), int(ev.get("total") or 0))
        elif kind == "log":
            self.log_added.emit(ev["job_id"], ev["text"])
        elif kind == "job_deleted":
            self.job_removed.emit(ev["job_id"])
        elif kind == "dataset_import":
            self.dataset_import_changed.emit(ev["import"])
        elif kind == "dataset_changed":
            self.dataset_changed.emit(str(ev.get("name", "")))
        elif kind == "lagged":
            raise DaemonUnavailable("this window fell behind the daemon's event stream; reconnecting")
