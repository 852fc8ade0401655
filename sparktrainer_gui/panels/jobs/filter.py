"""Sorting and filtering of the jobs table: by state (or a group of states) and by text."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel

from sparktrainer_gui.panels.jobs.table_model import JOB_ROLE, SORT_ROLE, health_of, health_text

# What the state combo offers: label -> states (None: all).
STATE_FILTERS: dict[str, frozenset[str] | None] = {
    "All jobs": None,
    "Active": frozenset({"PENDING", "QUEUED", "RUNNING", "PAUSED"}),
    "Running": frozenset({"RUNNING"}),
    "Queued": frozenset({"PENDING", "QUEUED"}),
    "Paused": frozenset({"PAUSED"}),
    "Completed": frozenset({"COMPLETED"}),
    "Failed": frozenset({"FAILED"}),
    "Cancelled": frozenset({"CANCELLED"}),
}


class JobsFilterProxy(QSortFilterProxyModel):
    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._states: frozenset[str] | None = None
        self._words: list[str] = []
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_state_filter(self, label_or_states: str | frozenset[str] | None) -> None:
        states = (
            STATE_FILTERS.get(label_or_states, frozenset({label_or_states.upper()}))
            if isinstance(label_or_states, str)
            else label_or_states
        )
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
        job = self.sourceModel().index(source_row, 0, source_parent).data(JOB_ROLE)
        if not job:
            return False
        if self._states is not None and job.get("state") not in self._states:
            return False
        if not self._words:
            return True
        hay = " ".join(
            str(job.get(k) or "") for k in ("name", "id", "state", "experiment", "reason")
        ).lower() + " " + " ".join(job.get("devices") or []).lower()  # fmt: skip
        health = health_of(job)
        if health:  # "stopped" or "responding" finds the workers in trouble
            hay += " " + health_text(health)
        return all(w in hay for w in self._words)

    def lessThan(
        self, left: QModelIndex | QPersistentModelIndex, right: QModelIndex | QPersistentModelIndex
    ) -> bool:
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        try:
            return a < b
        except TypeError:
            return str(a) < str(b)
