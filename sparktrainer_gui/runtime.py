"""The GUI's connection to the runtime daemon.

Every daemon call runs on a worker thread (``call`` returns an awaitable for
qasync code, or takes a callback); the event stream is read on its own thread
and re-emitted as Qt signals, which Qt delivers on the main thread. When the
stream drops, ``disconnected`` fires and the connection retries with backoff,
starting the daemon if it is not running.

``is_connected`` and ``last_error`` change on the main thread, in the same turn that emits
``connected`` / ``disconnected``: a panel that reads ``is_connected`` sees what every
receiver of those signals has already been told (the stream thread only posts the news).

A daemon that refuses to start (a missing, foreign or damaged database: its sentence comes
back from ``start_daemon``) is not started again on every retry: ``start_refused`` carries
the sentence, the stream keeps pinging cheaply (a daemon started elsewhere, e.g. by the CLI,
is found), and another start waits for START_RETRY_S or for ``retry_now()``."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cached_property
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from trainer_runtime.client.transport import ApiError, DaemonUnavailable
from trainer_runtime.paths import DataDir

if TYPE_CHECKING:
    from trainer_runtime.api.schema.events import Event
    from trainer_runtime.api.schema.jobs import StatusView
    from trainer_runtime.client.client import Client

RETRY_S = (0.5, 1, 2, 4, 5)
START_RETRY_S = (30, 60, 120, 300)  # between starts of a daemon that refused to start


class StartRefused(DaemonUnavailable):
    """The daemon was started and exited (or never answered): its sentence says why."""


class RuntimeConnection(QObject):
    """Signals carry the contract's models (``trainer_runtime.api.schema``), never dicts."""

    # From the stream thread to the main thread, which updates the state and tells the rest.
    _opened = Signal(object)  # StatusView
    _lost = Signal(str)
    _refused = Signal(str, float)

    connected = Signal(object)  # the daemon's StatusView
    disconnected = Signal(str)  # a sentence saying why
    start_refused = Signal(str, float)  # the daemon's sentence, seconds until the next start
    job_health_changed = Signal(str, object)  # job id, its HealthView (None: fine again)
    job_changed = Signal(object)  # a job's JobRecord (state, progress, …) after any change
    job_removed = Signal(str)
    metrics_added = Signal(str, int, list)  # job id, attempt, [MetricPoint]
    progress_changed = Signal(str, int, int)  # job id, step, total
    log_added = Signal(str, str)  # job id, text
    call_failed = Signal(str)  # a sentence for the status bar when a background call fails
    dataset_import_changed = Signal(object)  # an import task (its dict, or ImportTaskView once typed)
    dataset_changed = Signal(str)  # a dataset's name after a new or deleted version

    def __init__(
        self, data: DataDir | None = None, autostart_daemon: bool = True, parent: QObject | None = None
    ):
        super().__init__(parent)
        self.data = data or DataDir.default()
        self.autostart_daemon = autostart_daemon
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="daemon-call")
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.is_connected = False  # main thread only (see the module doc)
        self.last_error = ""
        self.start_refusal = ""  # the daemon's last start-up refusal; "" once one started
        self._start_failures = 0  # stream thread only, like _next_start
        self._next_start = 0.0  # monotonic time before which no daemon is started again
        self._opened.connect(self._on_stream_opened)
        self._lost.connect(self._on_stream_lost)
        self._refused.connect(self._on_start_refused)

    @cached_property
    def client(self) -> Client:
        """The daemon's client, made on first use: the client and the contract's models (pydantic)
        are imported after the window's first paint, not before it (bench/gui_startup.py)."""
        from trainer_runtime.client.client import Client

        return Client(self.data)

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

    def _deliver(self, f: Future, on_done, on_error) -> None:
        if f.cancelled():
            return
        err = f.exception()
        # A view's call is an ``ops.op``, which drops the answer when the view was closed
        # meanwhile; a callback that still touches a deleted Qt object here is a bug, and raises.
        if err is None:
            if on_done:
                on_done(f.result())
        elif on_error:
            on_error(err)  # type: ignore[arg-type]
        else:
            self.call_failed.emit(str(err))

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
        """Try again now, starting the daemon even if it refused a moment ago."""
        self._next_start = 0.0
        self._wake.set()

    def seconds_until_next_start(self) -> float:
        return max(0.0, self._next_start - time.monotonic())

    @Slot(object)
    def _on_stream_opened(self, status: StatusView) -> None:
        if self._stop.is_set():  # posted just before the window closed
            return
        self.is_connected = True
        self.start_refusal = ""
        self.connected.emit(status)

    @Slot(str)
    def _on_stream_lost(self, reason: str) -> None:
        self.is_connected = False
        if self._stop.is_set():
            return
        self.last_error = reason
        self.disconnected.emit(reason)

    @Slot(str, float)
    def _on_start_refused(self, sentence: str, retry_in: float) -> None:
        self.is_connected = False
        if self._stop.is_set():
            return
        self.last_error = self.start_refusal = sentence
        self.start_refused.emit(sentence, retry_in)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _listen(self) -> None:
        from trainer_runtime.api.schema.events import Hello

        attempt = 0
        streaming = False  # whether the main thread was told about an open stream
        while not self._stop.is_set():
            try:
                if not self._ping():
                    self._start_daemon()
                status = self.client.status()
                stream = self.client.events()
                if not isinstance(next(stream), Hello):  # the stream is open
                    raise DaemonUnavailable("the daemon's event stream did not start with hello")
                attempt = 0
                self._start_failures, self._next_start = 0, 0.0
                streaming = True
                self._opened.emit(status)
                for ev in stream:
                    if self._stop.is_set():
                        return
                    self._dispatch(ev)
                raise DaemonUnavailable("the daemon closed the connection")
            except StartRefused as err:
                if self._stop.is_set():
                    return
                streaming = False
                self._refused.emit(_sentence(err), self.seconds_until_next_start())
                attempt += 1
            except _NotStartedYet:
                attempt += 1  # the refusal was reported; ping again until the next start is due
            except (DaemonUnavailable, ApiError, OSError, StopIteration, ValueError) as err:
                if self._stop.is_set():
                    return
                if streaming or attempt == 0:
                    self._lost.emit(_sentence(err))
                streaming = False
                attempt += 1
            self._wake.wait(RETRY_S[min(attempt - 1, len(RETRY_S) - 1)])
            self._wake.clear()

    def _ping(self) -> bool:
        """Whether the daemon answers (stream thread). The client raises instead of answering
        False only when it must not talk to the socket at all (e.g. an unsafe socket folder):
        a refusal, retried like a daemon's."""
        try:
            return self.client.ping()
        except DaemonUnavailable as err:
            if time.monotonic() < self._next_start:
                raise _NotStartedYet() from err
            raise self._refusal(err) from err

    def _start_daemon(self) -> None:
        """Start the daemon unless it refused to start a short while ago (stream thread)."""
        if not self.autostart_daemon:
            raise DaemonUnavailable(f"the SparkTrainer daemon is not running for {self.data.root}")
        if time.monotonic() < self._next_start:
            raise _NotStartedYet()
        from trainer_runtime.client.client import start_daemon

        try:
            start_daemon(self.data)
        except DaemonUnavailable as err:
            if self._ping():  # another client's daemon answers after all
                return
            raise self._refusal(err) from err

    def _refusal(self, err: DaemonUnavailable) -> StartRefused:
        self._start_failures += 1
        wait = START_RETRY_S[min(self._start_failures - 1, len(START_RETRY_S) - 1)]
        self._next_start = time.monotonic() + wait
        return StartRefused(str(err))

    def _dispatch(self, ev: Event) -> None:
        """Re-emit one event of the stream as the signal for its kind (stream thread; Qt
        delivers the signal on the main thread)."""
        from trainer_runtime.api.schema import events as e

        match ev:
            case e.JobStateEvent():
                self.job_changed.emit(ev.job)
            case e.JobHealthEvent():
                self.job_health_changed.emit(ev.job_id, ev.health)
            case e.MetricsEvent():
                self.metrics_added.emit(ev.job_id, ev.attempt, ev.points)
            case e.ProgressEvent():
                self.progress_changed.emit(ev.job_id, ev.step or 0, ev.total or 0)
            case e.LogEvent():
                self.log_added.emit(ev.job_id, ev.text)
            case e.JobDeleted():
                self.job_removed.emit(ev.job_id)
            case e.DatasetImportEvent():
                self.dataset_import_changed.emit(ev.import_)
            case e.DatasetChanged():
                self.dataset_changed.emit(ev.name)
            case e.Lagged():
                raise DaemonUnavailable("this window fell behind the daemon's event stream; reconnecting")
            case _:  # hello, heartbeat: nothing to tell
                pass


class _NotStartedYet(DaemonUnavailable):
    """No daemon answers and the last one refused to start: wait before starting another."""


def _sentence(err: Exception) -> str:
    """An error's message for a person: its text, or its type's name when it has none."""
    return str(err).strip() or type(err).__name__
