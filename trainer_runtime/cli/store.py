"""``sparktrainer store info|backup|restore|gc``: the store's identity, backups, and unused files.

These commands work on the files directly and never start the daemon: ``info`` and ``backup``
run beside a running daemon (the backup is one consistent snapshot); ``restore`` and ``gc``
hold daemon.lock while they work, so they refuse while a daemon serves the data dir."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from trainer_runtime.cli.output import emit_json, error
from trainer_runtime.paths import DataDir, open_private

# SQLAlchemy and the store load only when a store command runs (every CLI command imports this module)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("store", help="the store's identity, backup and restore, unused dataset files")
    ssub = p.add_subparsers(dest="store_cmd", required=True, metavar="COMMAND")
    s = ssub.add_parser("info", help="which store this data dir holds, and what the database says")
    s.add_argument("--json", action="store_true")
    s = ssub.add_parser("backup", help="copy the database to FILE (safe while the runtime runs)")
    s.add_argument("file", type=Path)
    s.add_argument("--json", action="store_true")
    s = ssub.add_parser("restore", help="put a backup in place of the database (the runtime must be stopped)")
    s.add_argument("file", type=Path)
    s.add_argument("--force", action="store_true", help="adopt a backup of another store (another store id)")
    s.add_argument("--json", action="store_true")
    s = ssub.add_parser(
        "gc", help="list (or with --apply remove) stored dataset files no version uses (runtime stopped)"
    )
    s.add_argument("--apply", action="store_true", help="remove them (default: only list them)")
    s.add_argument("--json", action="store_true")


@contextlib.contextmanager
def _exclusive(data: DataDir, what: str) -> Iterator[None]:
    """Hold daemon.lock (no daemon serves the data dir meanwhile) and log to daemon.log."""
    from trainer_runtime.daemon_lock import AlreadyRunning, DaemonLock
    from trainer_runtime.store.backup import BackupError

    try:
        lock = DaemonLock.acquire(data)
    except AlreadyRunning as err:
        raise BackupError(
            f"{err}; {what} needs the runtime stopped: run `sparktrainer runtime stop` first"
        ) from None
    os.close(open_private(data.daemon_log))  # 0600, as the daemon makes it
    handler = logging.FileHandler(data.daemon_log, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s (cli): %(message)s"))
    logger = logging.getLogger("trainer_runtime.store")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
        lock.release()


def run(args: argparse.Namespace, data: DataDir) -> int:
    from trainer_runtime.store.backup import BackupError
    from trainer_runtime.store.health import DatabaseDamaged
    from trainer_runtime.store.identity import StoreRefused

    try:
        return _run(args, data.ensure())
    except (BackupError, StoreRefused, DatabaseDamaged) as err:
        error(str(err))
        return 2


def _run(args: argparse.Namespace, data: DataDir) -> int:
    from trainer_runtime.store.backup import backup, restore

    cmd = args.store_cmd
    if cmd == "info":
        return _info(args, data)
    if cmd == "backup":
        info = backup(data, args.file)
        out = {"file": str(info.path), "bytes": info.size, "store_id": info.store_id, "jobs": info.jobs,
               "dataset_files": info.dataset_files}  # fmt: skip
        if args.json:
            emit_json(out)
        else:
            print(
                f"backed up the store {info.store_id or '(no id yet)'} to {info.path} ({info.size:,} bytes, "
                f"{info.jobs} job(s)); restore it with `sparktrainer store restore {info.path}`"
            )
        return 0
    if cmd == "restore":
        with _exclusive(data, "restore"):
            res = restore(data, args.file, force=args.force)
        out = {"store_id": res.store_id, "replaced": [str(p) for p in res.replaced], "adopted": res.adopted}
        if args.json:
            emit_json(out)
            return 0
        print(f"restored {args.file} as the store {res.store_id or '(an id is given at the next start)'}")
        for p in res.replaced:
            print(f"the replaced database is kept as {p}")
        if res.adopted:
            print("this data dir now belongs to the restored store (--force)")
        if res.marker_moved:
            print(f"the old store.json is kept as {res.marker_moved}")
        return 0
    from trainer_runtime.store import gc
    from trainer_runtime.store.store import Store

    with _exclusive(data, "gc"):
        store = Store(data.database_url, migrate=False)
        try:
            rep = gc.collect(data, store.engine, apply=args.apply)
        finally:
            store.close()
    if args.json:
        emit_json({"stored": rep.stored, "referenced": rep.referenced, "orphans": rep.orphans,
                   "orphan_bytes": rep.orphan_bytes, "removed": rep.removed})  # fmt: skip
        return 0
    print(f"{rep.stored} stored file(s), {rep.referenced} used by dataset versions, "
          f"{len(rep.orphans)} unused ({rep.orphan_bytes:,} bytes)")  # fmt: skip
    if rep.orphans and not args.apply:
        print("nothing was removed; run `sparktrainer store gc --apply` to remove the unused files")
    elif rep.removed:
        print(f"removed {rep.removed} unused file(s) (logged in {data.daemon_log})")
    return 0


def _info(args: argparse.Namespace, data: DataDir) -> int:
    from trainer_runtime.store.health import DatabaseDamaged, shown_url
    from trainer_runtime.store.identity import StoreRefused, probe, read_marker, scan_contents

    marker = read_marker(data)
    try:
        db = probe(data.database_url)
        state, db_id, jobs = db.state, db.store_id, len(db.job_ids)
        problem = None
    except (StoreRefused, DatabaseDamaged) as err:
        state, db_id, jobs, problem = "unusable", None, 0, str(err)
    contents = scan_contents(data)
    out = {
        "data_dir": str(data.root), "database": shown_url(data.database_url), "database_state": state,
        "database_store_id": db_id, "marker_store_id": marker.store_id if marker else None,
        "jobs": jobs, "job_dirs": len(contents.job_dirs), "dataset_files": contents.blobs, "problem": problem,
    }  # fmt: skip
    if args.json:
        emit_json(out)
        return 0
    print(f"data dir:  {data.root}\ndatabase:  {out['database']} ({state})")
    print(f"store id:  {db_id or '-'} (database), {out['marker_store_id'] or '-'} (store.json)")
    print(
        f"contents:  {jobs} job(s) in the database, {len(contents.job_dirs)} job dir(s), {contents.blobs} stored dataset file(s)"
    )
    if problem:
        print(f"problem:   {problem}")
    return 0
