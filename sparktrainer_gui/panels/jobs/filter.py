"""Sorting and filtering of the jobs table: by state (or a group of states) and by text.

The state combo's entries come from the contract: every state by its display label, and
"Active" for the states that are not terminal (``JobState.is_terminal``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel

from sparktrainer_gui.panels.jobs.table_model import JOB_ROLE, SORT_ROLE, device_text, state_text
from trainer_runtime.jobs.state import JobState

if TYPE_CHECKING:
    from trainer_runtime.api.schema.jobs import JobRow

ALL = "All jobs"
ACTIVE = frozenset(s for s in JobState if not s.is_terminal())

# What the state combo offers: label -> states (None: all).
STATE_FILTERS: dict[str, frozenset[JobState] | None] = {
    ALL: None,
    "Active": ACTIVE,
    **{s.label: frozenset({s}) for s in JobState},
}


def states_for(label: str) -> frozenset[JobState] | None:
    """The states a combo entry (or a state's own name) stands for; None: all of them."""
    if label in STATE_FILTERS:
        return STATE_FILTERS[label]
    try:
        return frozenset({JobState(label.upper())})
    except ValueError:
        return None


class JobsFilterProxy(QSortFilterProxyModel):
    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._states: frozenset[JobState] | None = None
        self._words: list[str] = []
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_state_filter(self, label_or_states: str | frozenset[JobState] | None) -> None:
        states = states_for(label_or_states) if isinstance(label_or_states, str) else label_or_states
        if states != self._states:
            self.beginFilterChange()
            self._states = states
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_text_filter(self, text: str) -> None:
        words = text.lower().split()
        if words != self._words:
            self.beginFilterChange()
            self._words = words
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        job: JobRow | None = self.sourceModel().index(source_row, 0, source_parent).data(JOB_ROLE)
        if job is None:
            return False
        if self._states is not None and job.state not in self._states:
            return False
        if not self._words:
            return True
        # What the row says is searchable: "stopped" or "responding" finds the workers in trouble.
        hay = " ".join(
            (job.name, job.id, job.state.label, state_text(job), job.experiment, job.reason or "",
             device_text(job), " ".join(job.devices))
        ).lower()  # fmt: skip
        return all(w in hay for w in self._words)

    def lessThan(
        self, left: QModelIndex | QPersistentModelIndex, right: QModelIndex | QPersistentModelIndex
    ) -> bool:
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        try:
            return a < b
        except TypeError:
            return str(a) < str(b)
