"""A full disk, as the worker (and the daemon) meet it: recognising the error, the sentence
the user reads, and a small reserve file that is given up when the worker fails, so that its
last events and its error report can still be written on a disk that is full to the last byte
(the daemon keeps one next to its store for the same reason: ``StoreReserve``).

Light on purpose (no torch): the worker claims its reserve before anything heavy is imported.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from pathlib import Path

from trainer_runtime.worker.checkpoint_files import last_good_checkpoint

log = logging.getLogger(__name__)
RESERVE_BYTES = 256 << 10  # the error report (a few KiB) and up to a few seconds of events
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_FULL_TEXTS = (
    "No space left on device", "Disk quota exceeded", "os error 28", "os error 122",
    "database or disk is full",  # SQLite's SQLITE_FULL, as the daemon's store meets it
)  # fmt: skip


def is_disk_full(exc: BaseException | None) -> bool:
    """True if ``exc`` or an exception it was raised from is a full disk (or a full quota).
    torch and safetensors report it in their own exception types, with the OS text inside."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            return True
        if any(text in str(exc) for text in _FULL_TEXTS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def full_path(exc: BaseException | None) -> str | None:
    """The file an ENOSPC error names, if it names one."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.filename:
            return str(exc.filename)
        exc = exc.__cause__ or exc.__context__
    return None


def disk_full_sentence(job_dir: Path, where: Path | str, checkpoint_step: int | None = None) -> str:
    """What went wrong and what to do, with the step a resume continues from."""
    doing = f"while writing checkpoint step {checkpoint_step}" if checkpoint_step is not None else ""
    last = last_good_checkpoint(Path(job_dir))
    cont = f"continues from step {last.step}" if last else "starts again from step 0: no checkpoint was saved"
    return f"the disk holding {where} is full{' ' + doing if doing else ''}; free space and resume ({cont})."


class DiskReserve:
    """A file of ``size`` bytes held while all is well and deleted when the disk is full:
    ``JOB_DIR/.disk-reserve-rankN`` for a worker (``for_rank``), one in the data dir for the
    daemon (so that it can still record the state of jobs when the store's disk fills up)."""

    def __init__(self, path: Path, size: int = RESERVE_BYTES):
        self.path = Path(path)
        self.size = size
        self.held = False

    @classmethod
    def for_rank(cls, job_dir: Path, rank: int = 0) -> DiskReserve:
        return cls(Path(job_dir) / f".disk-reserve-rank{rank}")

    def claim(self) -> None:
        """Allocate the reserve (real blocks, not a sparse file). Raises OSError (ENOSPC)
        when the disk cannot spare it: the job could not write its checkpoints either."""
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            try:
                os.posix_fallocate(fd, 0, self.size)
            except OSError as err:
                if err.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                    raise
                os.write(fd, os.urandom(self.size))  # no fallocate here (e.g. ZFS): incompressible bytes
        except OSError:
            os.close(fd)
            self.path.unlink(missing_ok=True)
            raise
        os.close(fd)
        self.held = True

    def release(self) -> None:
        """Give the space back (idempotent; the worker calls it on every way out)."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            return  # a read-only or vanished job dir: nothing to give back
        self.held = False


class StoreReserve(DiskReserve):
    """The daemon's reserve next to its store: given up the first time a store write fails on a
    full disk (so the job states that explain it can still be written), claimed again once the
    disk has room (checked at most every ``recheck_s``)."""

    def __init__(self, path: Path, size: int = 8 << 20, recheck_s: float = 60.0):
        super().__init__(path, size)
        self.recheck_s = recheck_s
        self._next_check = 0.0

    def claim_if_room(self, now: float) -> None:
        if self.held or now < self._next_check:
            return
        self._next_check = now + self.recheck_s
        try:
            if shutil.disk_usage(self.path.parent).free > 4 * self.size:
                self.claim()
        except OSError as err:
            log.warning("no disk reserve for the daemon at %s: %s", self.path, err)

    def give_up_for(self, err: BaseException) -> bool:
        """True if ``err`` is a full disk and the reserve was just given up for it."""
        if not (self.held and is_disk_full(err)):
            return False
        self.release()
        log.warning(
            "the disk holding %s is full (%s); gave up the daemon's %d MiB reserve to record job states",
            self.path.parent, err, self.size >> 20,
        )  # fmt: skip
        return True
