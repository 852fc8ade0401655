"""Keep secret values out of the worker's output.

Secrets reach a worker only as environment variables named in ``SPARKTRAINER_SECRET_NAMES``.
``install()`` replaces ``sys.stdout``/``sys.stderr`` with streams that mask those values, before
torch or transformers are imported, so every Python-level writer (print, logging, warnings,
tracebacks, library loggers) goes through the mask. The log names each available credential with
a short fingerprint so a user can tell which token was used, never the value.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import sys
from collections.abc import Mapping

from trainer_runtime.secrets.redact import SECRET_NAMES_ENV, Redactor

log = logging.getLogger("trainer_runtime.worker")


class RedactingStream(io.TextIOBase):
    """A text stream that masks secrets before writing to ``raw``.

    Text is held back until a line ends (or ``flush()``), so a secret written in two pieces by
    one ``print`` call is still masked whole.
    """

    def __init__(self, raw, redactor: Redactor):
        super().__init__()
        self.raw = raw
        self.redactor = redactor
        self._pending = ""

    def writable(self) -> bool:
        return True

    @property
    def encoding(self):  # type: ignore[override]
        return getattr(self.raw, "encoding", "utf-8")

    @property
    def errors(self):  # type: ignore[override]
        return getattr(self.raw, "errors", "strict")

    def fileno(self) -> int:
        return self.raw.fileno()

    def isatty(self) -> bool:
        return self.raw.isatty()

    def write(self, s: str) -> int:
        self._pending += s
        cut = max(self._pending.rfind("\n"), self._pending.rfind("\r"))
        if cut >= 0:
            out, self._pending = self._pending[: cut + 1], self._pending[cut + 1 :]
            self.raw.write(self.redactor(out))
            self.raw.flush()
        return len(s)

    def flush(self) -> None:
        if self._pending:
            out, self._pending = self._pending, ""
            self.raw.write(self.redactor(out))
        self.raw.flush()


def secret_names(env: dict[str, str] | None = None) -> list[str]:
    """The names in ``SPARKTRAINER_SECRET_NAMES`` that are set (to a non-empty value)."""
    src: Mapping[str, str] = os.environ if env is None else env
    names = [n.strip() for n in src.get(SECRET_NAMES_ENV, "").split(",")]
    return [n for n in dict.fromkeys(names) if n and src.get(n)]


def fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


def install(env: dict[str, str] | None = None) -> Redactor:
    """Wrap stdout/stderr with the environment's redactor and return it."""
    redactor = Redactor.from_environ(env)
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, RedactingStream):
            setattr(sys, name, RedactingStream(stream, redactor))
    return redactor


def log_credentials(env: dict[str, str] | None = None) -> list[str]:
    """Log one fingerprint line per available credential; return their names."""
    env = dict(os.environ if env is None else env)
    names = secret_names(env)
    for name in names:
        log.info("credential %s available (sha256 %s)", name, fingerprint(env[name]))
    return names
