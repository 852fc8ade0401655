"""The job state machine (contract, see DESIGN.md section 4).

PENDING -> QUEUED -> RUNNING -> {PAUSED, COMPLETED, FAILED, CANCELLED}
PAUSED -> {QUEUED, CANCELLED}
PENDING and QUEUED may also be CANCELLED, and a job whose worker cannot be
started goes QUEUED -> FAILED. Terminal states are final: a restart makes a
new attempt that starts again at PENDING.

What a user may do with a job in each state (``JobState.allowed_actions``) and the display
text of each state (``STATE_LABELS``) are read from here by the daemon, the CLI and the GUI
(through ``trainer_runtime.api.schema.jobs``), so no client restates them.
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

    def allowed_actions(self) -> tuple[JobAction, ...]:
        """The user actions a job in this state accepts, in menu order (the supervisor and the
        store refuse the others with IllegalTransition)."""
        return _ACTIONS[self]

    @property
    def label(self) -> str:
        """The state as a user reads it ("Running")."""
        return STATE_LABELS[self]


class JobAction(StrEnum):
    """What a user can ask of a job (``POST /v1/jobs/{id}/<action>``, ``DELETE`` for delete)."""

    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    RESTART = "restart"
    DELETE = "delete"


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


def _accepts(state: JobState, action: JobAction) -> bool:
    """Each action in terms of the machine: pause and cancel are the moves to PAUSED and
    CANCELLED; resume queues a paused job again; restart (a new attempt) and delete only
    take a job that is finished."""
    if action is JobAction.PAUSE:
        return state.can_go_to(JobState.PAUSED)
    if action is JobAction.RESUME:
        return state is JobState.PAUSED
    if action is JobAction.CANCEL:
        return state.can_go_to(JobState.CANCELLED)
    return state.is_terminal()  # restart, delete


_ACTIONS: dict[JobState, tuple[JobAction, ...]] = {
    s: tuple(a for a in JobAction if _accepts(s, a)) for s in JobState
}

STATE_LABELS: dict[JobState, str] = {
    JobState.PENDING: "Pending",
    JobState.QUEUED: "Queued",
    JobState.RUNNING: "Running",
    JobState.PAUSED: "Paused",
    JobState.COMPLETED: "Completed",
    JobState.FAILED: "Failed",
    JobState.CANCELLED: "Cancelled",
}


class IllegalTransition(ValueError):
    def __init__(self, job_id: str, current: JobState, target: JobState, action: str | None = None):
        self.current, self.target = current, target
        what = action or f"move to {target}"
        allowed = ", ".join(sorted(_ALLOWED[current])) or "nothing (it is finished; use restart)"
        super().__init__(
            f"cannot {what} job {job_id}: it is {current}; from {current} it can go to {allowed}"
        )
