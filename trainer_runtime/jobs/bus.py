"""In-process event bus feeding the API's event stream (job states, metrics, logs)."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

QUEUE_SIZE = 20_000


class Subscription:
    def __init__(self, bus: EventBus, types: set[str] | None, job_id: str | None):
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_SIZE)
        self.types, self.job_id, self._bus = types, job_id, bus
        self.lagged = False

    def wants(self, event: dict[str, Any]) -> bool:
        if self.types and event["type"] not in self.types:
            return False
        return not (self.job_id and event.get("job_id") not in (None, self.job_id))

    def close(self) -> None:
        self._bus._subs.discard(self)


class EventBus:
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()
        self._seq = itertools.count(1)

    @property
    def has_subscribers(self) -> bool:
        return bool(self._subs)

    def subscribe(self, types: set[str] | None = None, job_id: str | None = None) -> Subscription:
        sub = Subscription(self, types, job_id)
        self._subs.add(sub)
        return sub

    def publish(self, type_: str, **payload: Any) -> None:
        if not self._subs:
            return
        event = {"seq": next(self._seq), "type": type_, "time": time.time(), **payload}
        for sub in list(self._subs):
            if not sub.wants(event):
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                # A client that stops reading must not grow the daemon's memory: drop it;
                # it reconnects and re-reads state through the API.
                sub.lagged = True
                sub.close()
                sub.queue.get_nowait()
                sub.queue.put_nowait(None)

    def close_all(self) -> None:
        for sub in list(self._subs):
            try:
                sub.queue.put_nowait(None)
            except asyncio.QueueFull:
                sub.lagged = True
            sub.close()
