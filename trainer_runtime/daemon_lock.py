"""One daemon per data dir: an flock on ``daemon.lock``, kept and checked.

A lock file deleted while the daemon runs would let a second daemon lock a new file of the
same name and serve the same data dir (two supervisors of the same jobs). So a starting daemon
also asks whether another one already answers for the data dir (its socket, then the pointer
file's pid), and the running daemon checks on every supervisor tick that the lock file is still
the inode it holds, recreating and re-locking it when it is not."""

from __future__ import annotations

import fcntl
import json
import logging
import os
from pathlib import Path

from trainer_runtime.paths import PRIVATE_FILE, DataDir

log = logging.getLogger(__name__)


class AlreadyRunning(RuntimeError):
    pass


class DaemonLock:
    def __init__(self, data: DataDir):
        self.data = data
        self.fd = -1

    @classmethod
    def acquire(cls, data: DataDir) -> DaemonLock:
        """Lock the data dir, or raise AlreadyRunning with a sentence naming the other daemon."""
        lock = cls(data)
        lock.fd = _open_locked(data.lock_file)
        if lock.fd < 0:
            raise AlreadyRunning(
                f"a daemon is already running for data dir {data.root} (pid {_pointer_pid(data)})"
            )
        other = live_daemon(data)
        if other:
            lock.release()
            raise AlreadyRunning(
                f"a daemon is already running for data dir {data.root} ({other}), although "
                f"{data.lock_file.name} was not locked (it was deleted or replaced); that daemon "
                "re-creates its lock, so use it, or stop it with `sparktrainer runtime stop`"
            )
        return lock

    def check(self) -> None:
        """Called on every tick: re-create and re-lock a lock file that was deleted or replaced."""
        try:
            held, now = os.fstat(self.fd), os.stat(self.data.lock_file)
            if (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino):
                return
        except FileNotFoundError:
            pass
        fd = _open_locked(self.data.lock_file)
        if fd < 0:  # another process locked the new file first; it will see us and leave
            log.error("%s was replaced and someone else holds the new one; retrying", self.data.lock_file)
            return
        os.close(self.fd)
        self.fd = fd
        log.warning(
            "%s was deleted or replaced while the daemon ran; re-created and locked it", self.data.lock_file
        )

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _open_locked(path: Path) -> int:
    """An fd holding an exclusive flock on ``path`` (created 0600), or -1 when another holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return -1
    return fd


def _pointer_pid(data: DataDir) -> int | None:
    try:
        return int(json.loads(data.pointer_file.read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def live_daemon(data: DataDir) -> str | None:
    """Another daemon serving ``data`` ("pid N"), found by its socket or its pointer file's pid."""
    from trainer_runtime.client.client import ApiError, Client, DaemonUnavailable

    try:
        status = Client(data, timeout=3).request("GET", "/v1/status")  # any version: a dict
    except ApiError:
        return "something answers on its socket"
    except DaemonUnavailable:
        status = None
    if status and status.get("data_dir") == str(data.root) and status.get("pid") != os.getpid():
        return f"pid {status.get('pid')}, answering on {data.socket_path}"
    pid = _pointer_pid(data)
    if pid is None or pid == os.getpid():
        return None
    import psutil

    try:
        proc = psutil.Process(pid)
        ours = "trainer_runtime.daemon" in " ".join(proc.cmdline()) and Path(proc.cwd()) == data.root
    except (psutil.Error, OSError):
        return None
    return f"pid {pid}, which does not answer on its socket" if ours else None
