"""``python -m trainer_runtime.worker JOB_DIR``: run one attempt of a job.

Exit codes: 0 = completed or paused (see events.jsonl), 1 = failed (see error.json),
2 = bad command line. SIGTERM (cancel) flushes the events and ends the process by that signal.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

from trainer_runtime.worker import allocator, redaction
from trainer_runtime.worker.disk import DiskReserve


def _rank() -> int:
    return int(os.environ.get("RANK", "0") or 0)


def _setup_logging() -> None:
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    prefix = f"[rank {_rank()}] " if world > 1 else ""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if _rank() == 0 else logging.WARNING,  # rank 0 tells the story
        format=f"%(asctime)s %(levelname)s {prefix}%(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no \r-animated bars in log.txt


def _on_sigterm(signum, frame):
    from trainer_runtime.worker.errors import Cancelled

    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one unwind is enough
    raise Cancelled()


def _die_by_sigterm() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
    os._exit(128 + signal.SIGTERM)


def _say(text: str) -> None:
    """Write to the log (stderr); on a full disk the log may be unwritable too."""
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except OSError:
        return


def _record_failure(job_dir: Path, exc: BaseException, redactor, started: float) -> None:
    """error.json first (the daemon reads it; on a full disk the reserve was just given up for
    it), then the traceback and the sentence in the log."""
    from trainer_runtime.worker.errors import error_record, write_error_file

    record = error_record(exc, redactor, job_dir if job_dir.is_dir() else None)
    target = job_dir / "error.json"
    # The first failure of this run wins: under torchrun a rank's real error is often followed by
    # "connection closed" errors on the others.
    try:
        first = not (target.exists() and target.stat().st_mtime >= started)
    except OSError:
        first = True
    if first and job_dir.is_dir():
        try:
            write_error_file(job_dir, record)
        except OSError as err:
            _say(f"error: could not write {target}: {err}\n")
    _say(record["traceback"])
    _say(f"error: {record['error']}\n")


def main(argv: list[str] | None = None) -> int:
    started = time.time() - 1.0  # mtime granularity: an error.json from this run is newer than this
    allocation = allocator.tune()  # before torch allocates anything
    redactor = redaction.install()
    _setup_logging()
    parser = argparse.ArgumentParser(prog="python -m trainer_runtime.worker")
    parser.add_argument("job_dir", help="the job dir holding spec.json and run.json")
    args = parser.parse_args(argv)
    job_dir = Path(args.job_dir).resolve()
    log = logging.getLogger("trainer_runtime.worker")

    from trainer_runtime.worker.errors import Cancelled
    from trainer_runtime.worker.job import PauseRequest, run_job

    credentials = redaction.secret_names()
    if _rank() == 0:
        log.info(allocation)
        redaction.log_credentials()
    pause = PauseRequest(job_dir)
    pause.install_signal()
    signal.signal(signal.SIGTERM, _on_sigterm)
    reserve = DiskReserve.for_rank(job_dir, _rank())
    try:
        if job_dir.is_dir():
            reserve.claim()  # a disk too full for it fails the job now, resumably (see disk.py)
        trainer = run_job(job_dir, credentials=credentials, pause=pause, reserve=reserve)
    except Cancelled:
        reserve.release()
        log.info("cancelled (SIGTERM)")
        _die_by_sigterm()
        return 128 + signal.SIGTERM
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - the worker's top level records any failure
        reserve.release()
        _record_failure(job_dir, exc, redactor, started)
        _leave_if_distributed(1)  # while the traceback still holds the model (see below)
        return 1
    reserve.release()
    log.info("worker finished: %s", trainer.outcome)
    sys.stdout.flush()
    sys.stderr.flush()
    _leave_if_distributed(0)  # before ``trainer`` is freed
    return 0


def _leave_if_distributed(rc: int) -> None:
    """Under DDP, freeing the model can deadlock: the reducer's destructor joins gloo's worker
    thread while holding the GIL that thread waits for (to free a tensor). So a rank leaves with
    ``os._exit`` while the model is still referenced; events, checkpoints and logs are flushed
    and closed by then."""
    if int(os.environ.get("WORLD_SIZE", "1") or 1) > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)


if __name__ == "__main__":
    sys.exit(main())
