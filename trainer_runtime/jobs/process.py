"""Worker processes: spawning in a new session, finding them again after a daemon
restart (pid + start time, so a reused pid is never mistaken for our worker),
stopping the whole group, and naming how they ended.

A job dir has one worker at a time: the daemon takes an flock on ``worker.lock`` before it
spawns and hands the locked descriptor to the worker, which holds it for its whole life. A
daemon killed between spawning a worker and recording it leaves a job that still looks queued;
the next daemon finds the lock held and re-attaches to that worker instead of starting another
in the same job dir."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import psutil


def signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def process_start_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def worker_command(job_dir: Path, nproc: int) -> list[str]:
    if nproc <= 1:
        return [sys.executable, "-m", "trainer_runtime.worker", str(job_dir)]
    # --standalone: torchrun binds its own free rendezvous port, so two jobs never race for one.
    return [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
        "-m", "trainer_runtime.worker", str(job_dir),
    ]  # fmt: skip


@dataclass
class WorkerHandle:
    job_id: str
    attempt: int
    job_dir: Path
    pid: int
    create_time: float | None
    popen: subprocess.Popen | None = None  # None when re-attached after a daemon restart
    term_sent_at: float | None = None  # cancel: SIGTERM sent (SIGKILL follows after the timeout)
    pause_sent_at: float | None = None  # pause asked (the reason says so if no checkpoint follows)
    log_offset: int = 0
    extra: dict = field(default_factory=dict)

    def poll(self) -> tuple[bool, int | None]:
        """(exited, returncode); returncode is None when it cannot be known (not our child)."""
        if self.popen is not None:
            rc = self.popen.poll()
            return rc is not None, rc
        try:
            proc = psutil.Process(self.pid)
            if self.create_time is not None and abs(proc.create_time() - self.create_time) > 0.01:
                return True, None  # the pid was reused by another process
            if proc.status() == psutil.STATUS_ZOMBIE:
                return True, None
            return False, None
        except psutil.NoSuchProcess:
            return True, None

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            os.kill(self.pid, sig)


LOCK_FD_ENV = "SPARKTRAINER_WORKER_LOCK_FD"  # the spawner passes this descriptor on to the worker


class JobDirBusy(OSError):
    """A process holds the job dir's worker lock, but it is no worker the daemon can attach to."""


def lock_job_dir(job_dir: Path) -> int | None:
    """A descriptor holding ``job_dir``'s worker lock, or None when a live worker holds it."""
    fd = os.open(job_dir / "worker.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def find_worker(job_dir: Path) -> psutil.Process | None:
    """The worker (a session leader whose working dir is ``job_dir``) that holds its lock."""
    want = str(job_dir)
    for p in psutil.process_iter(["pid", "cwd"]):
        try:
            if p.info["cwd"] == want and os.getsid(p.info["pid"]) == p.info["pid"]:
                return p
        except (ProcessLookupError, PermissionError):
            continue
    return None


def spawn_worker(job_dir: Path, nproc: int, env: dict[str, str]) -> subprocess.Popen:
    env = dict(env)
    lock = env.pop(LOCK_FD_ENV, None)
    log = (job_dir / "log.txt").open("ab")
    try:
        return subprocess.Popen(
            worker_command(job_dir, nproc),
            cwd=job_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            pass_fds=(int(lock),) if lock is not None else (),
        )
    finally:
        log.close()


def attach(
    job_id: str, attempt: int, job_dir: Path, pid: int, create_time: float | None
) -> WorkerHandle | None:
    """A handle on a worker started by an earlier daemon, if that very process still lives."""
    now = process_start_time(pid)
    if now is None or create_time is None or abs(now - create_time) > 0.01:
        return None
    handle = WorkerHandle(job_id, attempt, job_dir, pid, create_time)
    exited, _ = handle.poll()
    return None if exited else handle
