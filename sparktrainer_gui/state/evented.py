"""A typed event without Qt (napari's ``EventEmitter``, much smaller).

``Emitter[T]`` keeps its callbacks in connection order and calls each with the value on
``emit``. It is synchronous: a state object emits after it has changed, so a callback reads
the new state. Qt receivers are connected through a Qt object that owns the state (a panel):
both are deleted together, so no callback outlives its receiver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Emitter(Generic[T]):
    def __init__(self) -> None:
        self._callbacks: list[Callable[[T], object]] = []

    def connect(self, callback: Callable[[T], object]) -> Callable[[T], object]:
        """Call ``callback(value)`` on every ``emit``; returns it (usable as a decorator)."""
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[[T], object]) -> None:
        self._callbacks.remove(callback)

    def emit(self, value: T) -> None:
        for callback in list(self._callbacks):
            callback(value)

    def __len__(self) -> int:
        return len(self._callbacks)


__all__ = ["Emitter"]
