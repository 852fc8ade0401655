"""The worker's side of ``events.jsonl`` (see "Worker contract" in docs/architecture.md).

Lines are buffered in memory and written whole, so a training step costs one list append.
A background thread flushes the buffer at least once a second; lifecycle events (started,
checkpoint, paused, completed) are flushed at once, and ``close()`` flushes before exit.
Only rank 0 writes: other ranks get a ``NullEventWriter``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

FLUSH_INTERVAL_S = 1.0


class EventWriter:
    def __init__(self, path: str | Path, redact=None, clock=time.time, interval_s: float = FLUSH_INTERVAL_S):
        self.path = Path(path)
        self._redact = redact
        self._clock = clock
        self._buf: list[bytes] = []
        self._lock = threading.Lock()
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            # An earlier worker ended mid-line (killed, or the disk was full): start a line of our own.
            self._buf.append(b"\n")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if interval_s > 0:
            self._thread = threading.Thread(
                target=self._flush_loop, args=(interval_s,), name="events-flush", daemon=True
            )
            self._thread.start()

    def emit(self, type_: str, flush: bool = False, **fields: Any) -> dict[str, Any]:
        event = {"type": type_, "time": round(self._clock(), 3), **fields}
        if self._redact:
            event = self._redact.redact_obj(event)
        line = (json.dumps(event, separators=(",", ":"), allow_nan=True) + "\n").encode("utf-8")
        with self._lock:
            self._buf.append(line)
        if flush:
            self.flush()
        return event

    def metrics(self, step: int, values: dict[str, float]) -> None:
        self.emit("metrics", step=step, values=values)

    def flush(self) -> None:
        with self._lock:
            lines, self._buf = self._buf, []
            if not lines:
                return
            data = b"".join(lines)
            view = memoryview(data)
            try:
                while view:
                    n = os.write(self._fd, view)
                    view = view[n:]
            except OSError:
                # Keep what was not written (a line may be half on disk): the next flush, e.g. once
                # the worker has given up its disk reserve, writes the rest and the file stays whole.
                self._buf.insert(0, bytes(view))
                raise

    def _flush_loop(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            try:
                self.flush()
            except OSError:
                # The main thread meets the same error on its next flush and reports it.
                return

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        try:
            self.flush()
        finally:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


class NullEventWriter:
    """For ranks other than 0: accepts events and writes nothing."""

    def emit(self, type_: str, flush: bool = False, **fields: Any) -> dict[str, Any]:
        return {"type": type_, **fields}

    def metrics(self, step: int, values: dict[str, float]) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass
