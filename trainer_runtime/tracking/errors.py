"""What went wrong talking to MLflow, sorted into the three kinds the mirror treats apart.

- ``unreachable``: the server is down, the network or a timeout failed, the database is busy
  or the disk is full. It passes: the mirror retries with backoff and catches up later.
- ``rejected``: MLflow refused this one request (a bad value, a deleted run or experiment).
  Sending it again fails the same way: the mirror stops that job and keeps the sentence on it.
- ``broken``: the tracking store itself cannot work (a half-made or damaged schema, a file that
  is not a database, a schema made by a newer MLflow, credentials refused). No request can
  succeed until someone repairs it: after a few tries the mirror stops and says so.

Importing this module does not import mlflow.
"""

from __future__ import annotations

import re
from enum import StrEnum


class ErrorKind(StrEnum):
    UNREACHABLE = "unreachable"
    REJECTED = "rejected"
    BROKEN = "broken"


class MirrorUnavailable(Exception):
    """MLflow could not do what was asked. The message is a sentence for the user.

    ``kind`` says what the mirror does about it (see the module doc). ``reason`` is the
    short cause without the action, so that the same broken store seen by two different
    calls counts as the same cause. ``error_code`` is MLflow's error code when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind = ErrorKind.UNREACHABLE,
        error_code: str | None = None,
        reason: str | None = None,
    ):
        super().__init__(message)
        self.kind = kind
        self.error_code = error_code
        self.reason = reason if reason is not None else message

    @property
    def retryable(self) -> bool:
        """True for an outage that passes by itself (kind ``unreachable``)."""
        return self.kind is ErrorKind.UNREACHABLE

    @property
    def cause(self) -> tuple[str, str | None, str]:
        """What identifies "the same cause" across calls."""
        return (self.kind.value, self.error_code, self.reason)


# MLflow error codes that mean "this request is wrong", so sending it again cannot help.
REJECTED_CODES = frozenset(
    {
        "INVALID_PARAMETER_VALUE",
        "RESOURCE_DOES_NOT_EXIST",
        "RESOURCE_ALREADY_EXISTS",
        "INVALID_STATE",
        "MALFORMED_REQUEST",
        "BAD_REQUEST",
        "NOT_IMPLEMENTED",
    }
)
# The server refuses who we are: no request can succeed until the credentials change.
DENIED_CODES = frozenset({"PERMISSION_DENIED", "UNAUTHENTICATED", "CUSTOMER_UNAUTHORIZED"})

# Database errors that only a repair of the store can end (SQLite and PostgreSQL wording).
_BROKEN_STORE = re.compile(
    r"\b(?:table|relation|index) [\"'`]?[\w.]+[\"'`]? already exists"
    r"|duplicate column name"
    r"|no such (?:table|column)\b"
    r"|out-of-date database schema"
    r"|can't locate revision"
    r"|file is not a database"
    r"|database disk image is malformed"
    r"|attempt to write a readonly database",
    re.IGNORECASE,
)


def broken_store_reason(err: BaseException) -> str | None:
    """The message (of ``err`` or an error it was raised from) that says the store is broken."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(getattr(current, "message", None) or current)
        match = _BROKEN_STORE.search(text)
        if match:
            return first_line(text[match.start() :])
        current = current.__cause__ or current.__context__
    return None


def kind_of_code(code: str | None) -> ErrorKind:
    if code in DENIED_CODES:
        return ErrorKind.BROKEN
    if code in REJECTED_CODES:
        return ErrorKind.REJECTED
    return ErrorKind.UNREACHABLE


def first_line(text: object, limit: int = 300) -> str:
    """The first line of an error text, at most ``limit`` characters, without a final full stop."""
    stripped = str(text).strip()
    line = stripped.splitlines()[0] if stripped else "no details"
    if len(line) > limit:
        line = line[: limit - 3] + "..."
    return line.rstrip(".")


__all__ = ["ErrorKind", "MirrorUnavailable", "broken_store_reason", "first_line", "kind_of_code"]
