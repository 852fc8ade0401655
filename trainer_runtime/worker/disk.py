"""A full disk, as the worker meets it: recognising the error, the sentence the user reads,
and a small reserve file that is given up when the worker fails, so that its last events and
its error report can still be written on a disk that is full to the last byte.

Light on purpose (no torch): the worker claims its reserve before anything heavy is imported.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from trainer_runtime.worker.checkpoint_files import last_good_checkpoint

RESERVE_BYTES = 256 << 10  # the error report (a few KiB) and up to a few seconds of events
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_FULL_TEXTS = ("No space left on device", "Disk quota exceeded", "os error 28", "os error 122")


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
    """``JOB_DIR/.disk-reserve-rankN``: space held while the worker runs, released on failure."""

    def __init__(self, job_dir: Path, rank: int = 0, size: int = RESERVE_BYTES):
        self.path = Path(job_dir) / f".disk-reserve-rank{rank}"
        self.size = size
        self.held = False

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
