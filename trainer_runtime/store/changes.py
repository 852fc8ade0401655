"""Has anything been committed to the store since I last looked? SQLite's ``PRAGMA data_version``
on a connection of its own, which never writes, changes whenever any other connection commits
(this process's pool or another process), and costs microseconds. The job list keeps its rows
while it has not changed. Other databases have no such counter: ``version`` is None there and
nothing is kept."""

from __future__ import annotations

import sqlite3
import threading

from sqlalchemy.engine import Engine


class ChangeProbe:
    def __init__(self, engine: Engine):
        url = engine.url
        self._path = url.database if url.get_backend_name() == "sqlite" and url.database else None
        if self._path == ":memory:":
            self._path = None
        self._con: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def version(self) -> int | None:
        if self._path is None:
            return None
        with self._lock:
            try:
                if self._con is None:
                    self._con = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
                return int(self._con.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error:
                self.close_locked()
                return None  # then nothing is kept: every list reads the store

    def close(self) -> None:
        with self._lock:
            self.close_locked()

    def close_locked(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
