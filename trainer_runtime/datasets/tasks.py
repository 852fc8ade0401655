"""Background imports: the task the daemon keeps per import, and its states.

``ImportState`` is the one list of an import's states: the daemon sets them, the contract
(``api/schema/datasets.py``'s ``ImportTaskView``) carries them, the CLI and the GUI read them
(``is_terminal``, ``label``) and never spell a state themselves."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ImportState(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """The import has ended; nothing about it changes any more."""
        return self is not ImportState.RUNNING

    @property
    def label(self) -> str:
        """Display text for the state."""
        return IMPORT_STATE_LABELS[self]


IMPORT_STATE_LABELS = {
    ImportState.RUNNING: "importing",
    ImportState.COMPLETED: "imported",
    ImportState.FAILED: "failed",
    ImportState.CANCELLED: "cancelled",
}


@dataclass
class ImportTask:
    """One import the daemon runs: ``view()`` is what ``ImportTaskView`` parses."""

    id: str
    name: str
    source: str
    state: ImportState = ImportState.RUNNING
    phase: str = "queued"
    done: int = 0
    total: int = 0
    error: str | None = None
    version: dict[str, Any] | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    def view(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "cancel"}


__all__ = ["IMPORT_STATE_LABELS", "ImportState", "ImportTask"]
