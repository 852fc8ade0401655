"""The daemon's loop watch reports work held on the event loop (with the stack that held it) and
stays quiet while the loop only waits."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from trainer_runtime import loopwatch
from trainer_runtime.loopwatch import STALL_MARK, LoopWatch


def spin(seconds: float) -> None:
    """CPU work on the calling thread (what a 50,000-file walk on the loop would be)."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def watched(body, bound_s: float = 0.05) -> LoopWatch:
    watch = LoopWatch(asyncio.get_running_loop(), bound_s)
    watch.start()
    try:
        await asyncio.sleep(0.05)
        await body()
        await asyncio.sleep(0.1)  # the watch looks again after the turn
    finally:
        watch.stop()
    return watch


def test_cpu_work_on_the_loop_is_reported_with_its_stack(caplog: pytest.LogCaptureFixture):
    async def body() -> None:
        spin(0.3)

    with caplog.at_level(logging.WARNING, logger=loopwatch.__name__):
        watch = asyncio.run(watched(body))
    assert len(watch.stalls) == 1 and watch.stalls[0] > 0.05
    text = caplog.text
    assert STALL_MARK in text and "in spin" in text, text


def test_a_blocking_call_on_the_loop_is_reported(caplog: pytest.LogCaptureFixture, monkeypatch):
    monkeypatch.setattr(loopwatch, "BLOCKED_S", 0.3)

    async def body() -> None:
        time.sleep(0.6)  # no CPU, but the loop answers nothing meanwhile

    with caplog.at_level(logging.WARNING, logger=loopwatch.__name__):
        watch = asyncio.run(watched(body))
    assert len(watch.stalls) == 1, caplog.text
    assert "time.sleep(0.6)" in caplog.text


def test_short_turns_and_waits_are_not_reported():
    async def body() -> None:
        for _ in range(20):
            spin(0.005)  # many short turns: the loop keeps turning
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # waiting in the selector

    watch = asyncio.run(watched(body))
    assert watch.stalls == []
