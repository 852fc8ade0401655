"""Files and folders a user names (graph files, dataset files, model configs, label files, the
folder a spec's relative paths start from), checked before the daemon reads them.

A named path must be a regular file (or a folder where one is asked for): never a FIFO, a
device or a socket, and nothing under ``/proc`` or ``/sys`` (their files claim sizes they do
not have). Files are opened with ``O_NONBLOCK``, so a FIFO swapped in between the check and the
open cannot block the reader, checked again on the open descriptor, and read with a size
bound. Regular files under ``/dev`` (``/dev/shm``) are fine; its devices are not regular files.
Every refusal is a ``UserFileError`` whose message says what was found and what to give instead.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PSEUDO_ROOTS = ("/proc", "/sys")
CHUNK = 1 << 20


class UserFileError(ValueError):
    """A named path that cannot be read as asked; ``message`` is the sentence for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def display(path: str | os.PathLike[str]) -> str:
    """The path as text for a message: bytes that are not UTF-8 become U+FFFD."""
    return os.fsencode(path).decode("utf-8", errors="replace")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n:,} bytes"


def _stat(path: Path, what: str) -> os.stat_result:
    if "\x00" in str(path):
        raise UserFileError(f"{what} {display(path)!r} contains a NUL character; name a real path")
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError) as err:
        raise UserFileError(f"{what} {display(path)} cannot be resolved ({err}); name a real path") from None
    for root in PSEUDO_ROOTS:
        if real == root or real.startswith(root + "/"):
            raise UserFileError(
                f"{what} {display(path)} is under {root}, a kernel pseudo-filesystem; name a file of your own"
            )
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise UserFileError(f"{what} not found: {display(path)}") from None
    except NotADirectoryError:
        raise UserFileError(f"{what} not found: {display(path)} (a part of it is not a folder)") from None
    except PermissionError:
        raise UserFileError(
            f"{what} {display(path)} is not readable by the daemon (permission denied)"
        ) from None
    except OSError as err:
        raise UserFileError(f"{what} {display(path)} cannot be read: {err.strerror or err}") from None


def check_file(path: str | Path, what: str, max_bytes: int | None = None) -> os.stat_result:
    """``path`` is a regular file (of at most ``max_bytes``): its stat, or UserFileError."""
    p = Path(path)
    st = _stat(p, what)
    if not stat.S_ISREG(st.st_mode):
        raise UserFileError(f"{what} {display(p)} is {_kind(st.st_mode)}; name a regular file")
    if max_bytes is not None and st.st_size > max_bytes:
        raise UserFileError(
            f"{what} {display(p)} is {_size(st.st_size)}; the daemon reads at most {_size(max_bytes)} here"
        )
    return st


def check_folder(path: str | Path, what: str) -> os.stat_result:
    """``path`` is a folder: its stat, or UserFileError."""
    p = Path(path)
    st = _stat(p, what)
    if not stat.S_ISDIR(st.st_mode):
        raise UserFileError(f"{what} {display(p)} is {_kind(st.st_mode)}, not a folder")
    return st


def check_file_or_folder(path: str | Path, what: str) -> os.stat_result:
    p = Path(path)
    st = _stat(p, what)
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise UserFileError(f"{what} {display(p)} is {_kind(st.st_mode)}; name a file or a folder")
    return st


def read_bytes(path: str | Path, what: str, max_bytes: int, *, head: bool = False) -> bytes:
    """The bytes of the regular file ``path``; at most ``max_bytes`` (the first ``max_bytes``
    when ``head``, else a larger file is refused). Never blocks on a FIFO."""
    p = Path(path)
    check_file(p, what, None if head else max_bytes)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise UserFileError(f"{what} {display(p)} cannot be opened: {err.strerror or err}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped after the check
            raise UserFileError(f"{what} {display(p)} is {_kind(st.st_mode)}; name a regular file")
        os.set_blocking(fd, True)
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, min(CHUNK, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as err:
        raise UserFileError(f"{what} {display(p)} cannot be read: {err.strerror or err}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        if head:
            return data[:max_bytes]
        raise UserFileError(
            f"{what} {display(p)} grew past {_size(max_bytes)} while it was read; the daemon reads at "
            f"most {_size(max_bytes)} here"
        )
    return data


def read_text(path: str | Path, what: str, max_bytes: int) -> str:
    """A UTF-8 text file of at most ``max_bytes``, or UserFileError."""
    data = read_bytes(path, what, max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UserFileError(
            f"{what} {display(path)} is not UTF-8 text (bad byte at offset {err.start})"
        ) from None
