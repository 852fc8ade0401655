"""A watch on the daemon's event loop: when one turn of the loop runs longer than a bound, the
daemon's log says so, with what the loop thread was doing.

Off unless ``SPARKTRAINER_LOOP_WATCH_MS`` is set (the tests set it: a CI failure then shows the
stack that held the loop). A thread wakes every few milliseconds and compares the loop's
heartbeat with the clock; the heartbeat is a callback the loop runs every ``interval``. A late
beat alone proves nothing on a busy machine (no process gets a core in time), so a turn is
reported when the loop thread itself spent more than the bound on the CPU since its last beat
(its own CPU clock, read from the watching thread: work on the loop, not waiting), or when it
has sat in one call, outside the selector's wait, for ``BLOCKED_S`` (a blocking read or lock).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
import traceback

log = logging.getLogger(__name__)

ENV = "SPARKTRAINER_LOOP_WATCH_MS"
STALL_MARK = "event loop held"  # the log line's words (tests look for them)
BLOCKED_S = 2.0  # wall seconds in one call (not the selector's wait) that count as blocked


class LoopWatch:
    def __init__(self, loop: asyncio.AbstractEventLoop, bound_s: float, interval_s: float = 0.01):
        self.loop = loop
        self.bound_s = bound_s
        self.interval_s = interval_s
        self.stalls: list[float] = []  # CPU seconds of each reported stall
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="loop-watch", daemon=True)
        self._loop_ident = threading.get_ident()
        self._clock = time.pthread_getcpuclockid(self._loop_ident)
        self._beat_cpu = time.clock_gettime(self._clock)
        self._beat_wall = time.monotonic()
        self._handle: asyncio.TimerHandle | None = None

    @classmethod
    def from_environment(cls, loop: asyncio.AbstractEventLoop) -> LoopWatch | None:
        raw = os.environ.get(ENV)
        if not raw:
            return None
        try:
            bound_ms = float(raw)
        except ValueError:
            log.warning("%s=%r is not a number of milliseconds; the loop watch stays off", ENV, raw)
            return None
        return cls(loop, bound_ms / 1000)

    def start(self) -> None:
        self._beat()
        self._thread.start()
        log.info("loop watch on: a turn of the event loop over %.0f ms of CPU is logged", self.bound_s * 1000)

    def stop(self) -> None:
        self._stop.set()
        if self._handle is not None:
            self._handle.cancel()
        self._thread.join(1)

    def _beat(self) -> None:
        self._beat_cpu = time.clock_gettime(self._clock)
        self._beat_wall = time.monotonic()
        self._handle = self.loop.call_later(self.interval_s, self._beat)

    def _watch(self) -> None:
        reported_for = None
        while not self._stop.wait(self.interval_s / 2):
            beat = self._beat_wall
            held = time.clock_gettime(self._clock) - self._beat_cpu
            late = time.monotonic() - beat
            if reported_for == beat or (held <= self.bound_s and late <= BLOCKED_S):
                continue
            frame = sys._current_frames().get(self._loop_ident)
            if held <= self.bound_s and (frame is None or _waiting(frame)):
                continue  # late, but waiting in the selector: the machine is busy, not the loop
            reported_for = beat
            self.stalls.append(held)
            log.warning(
                "%s for %.0f ms of CPU (%.0f ms since its last turn); the loop thread is at:\n%s",
                STALL_MARK,
                held * 1000,
                late * 1000,
                _where(frame) if frame else "(no frame)",
            )


def _waiting(frame) -> bool:
    """The loop thread is in the selector's wait (nothing to run), not in a callback."""
    return frame.f_code.co_name == "select" and frame.f_code.co_filename.endswith("selectors.py")


def _where(frame) -> str:
    """The loop thread's stack: our own frames (what called into a library), then the innermost three."""
    stack = traceback.extract_stack(frame)
    ours = traceback.StackSummary.from_list(
        [f for f in stack[:-3] if f"{os.sep}trainer_runtime{os.sep}" in f.filename]
    )
    inner = traceback.StackSummary.from_list(stack[-3:])
    return "".join([*ours.format(), "  ...\n" if ours else "", *inner.format()]).rstrip()
