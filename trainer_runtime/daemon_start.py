"""How a daemon tells the client that started it whether it is serving, and where it logs.

``start_daemon`` (client.py) hands the daemon the write end of a pipe (``SPARKTRAINER_START_FD``);
the daemon writes one JSON line on it, ``{"ok": true, "pid": N}`` once its socket serves or
``{"ok": false, "code": 4, "kind": "store_refused", "message": sentence}`` when it will not
start, and closes it. So the user gets the daemon's own sentence (a refused store, an unsafe
socket dir), not an exit code and a log tail, and the client needs no log parsing.

Logging: one line per event in ``daemon.log``. The client sends the daemon's stdout and stderr
to daemon.log as well (so a crash before logging is set up still lands there), so the log
handler on stderr is added only when stderr is *not* daemon.log (a daemon run by hand in a
terminal); before, every line was written twice."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

from trainer_runtime.paths import DataDir, open_private

log = logging.getLogger("trainer_runtime.daemon")
START_FD_ENV = "SPARKTRAINER_START_FD"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class StartReport:
    def __init__(self, fd: int | None):
        self.fd = fd

    @classmethod
    def from_environment(cls) -> StartReport:
        raw = os.environ.pop(START_FD_ENV, None)  # workers must not inherit it
        try:
            fd = int(raw) if raw else None
            if fd is not None:
                os.fstat(fd)
        except (ValueError, OSError):
            fd = None
        return cls(fd)

    def _send(self, doc: dict[str, Any]) -> None:
        if self.fd is None:
            return
        try:
            os.write(self.fd, (json.dumps(doc) + "\n").encode())
        except OSError as err:  # the client gave up waiting; the log has the same sentence
            log.debug("could not send the start report: %s", err)
        finally:
            os.close(self.fd)
            self.fd = None

    def ready(self) -> None:
        self._send({"ok": True, "pid": os.getpid()})

    def refused(self, message: str, code: int, kind: str) -> int:
        """Log why the daemon will not start, tell the client, and return the exit code."""
        log.error("%s", message)
        self._send({"ok": False, "code": code, "kind": kind, "message": message})
        return code


def _is_file(stream: Any, path: os.PathLike[str]) -> bool:
    try:
        a, b = os.fstat(stream.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def setup_logging(data: DataDir) -> None:
    os.close(open_private(data.daemon_log))  # created 0600 (a FileHandler would make it 0644)
    handlers: list[logging.Handler] = [logging.FileHandler(data.daemon_log, encoding="utf-8")]
    if not _is_file(sys.stderr, data.daemon_log):
        handlers.append(logging.StreamHandler(sys.stderr))
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, handlers=handlers, force=True)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # seven lines per start
