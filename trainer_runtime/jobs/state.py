"""The job state machine (contract, see DESIGN.md section 4).

PENDING -> QUEUED -> RUNNING -> {PAUSED, COMPLETED, FAILED, CANCELLED}
PAUSED -> {QUEUED, CANCELLED}
PENDING and QUEUED may also be CANCELLED, and a job whose worker cannot be
started goes QUEUED -> FAILED. Terminal states are final: a restart makes a
new attempt that starts again at PENDING.
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    PENDING = "PENDING"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    def is_terminal(self) -> bool:
        return self in TERMINAL

    def can_go_to(self, target: JobState) -> bool:
        return target in _ALLOWED[self]


TERMINAL = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED})

_ALLOWED: dict[JobState, frozenset[JobState]] = {
    JobState.PENDING: frozenset({JobState.QUEUED, JobState.CANCELLED, JobState.FAILED}),
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.CANCELLED, JobState.FAILED}),
    JobState.RUNNING: frozenset({JobState.PAUSED, JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED}),
    JobState.PAUSED: frozenset({JobState.QUEUED, JobState.CANCELLED}),
    JobState.COMPLETED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
}


class IllegalTransition(ValueError):
    def __init__(self, job_id: str, current: JobState, target: JobState, action: str | None = None):
        self.current, self.target = current, target
        what = action or f"move to {target}"
        allowed = ", ".join(sorted(_ALLOWED[current])) or "nothing (it is finished; use restart)"
        super().__init__(
            f"cannot {what} job {job_id}: it is {current}; from {current} it can go to {allowed}"
        )
