"""``sparktrainer jobs ...``"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from trainer_runtime.api.schema.jobs import JobRow, JobView
from trainer_runtime.cli.output import emit_json, fmt_duration, fmt_num, table
from trainer_runtime.client.client import Client, DaemonUnavailable
from trainer_runtime.jobs.spec import load_spec_file
from trainer_runtime.jobs.state import JobAction, JobState


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("jobs", help="submit, watch and control training jobs")
    jsub = p.add_subparsers(dest="jobs_cmd", required=True, metavar="COMMAND")
    s = jsub.add_parser("submit", help="validate a YAML spec and queue it; prints the job id")
    s.add_argument("file", type=Path)
    s.add_argument("--json", action="store_true")
    s = jsub.add_parser("list", help="list jobs")
    s.add_argument("--state", action="append", help="only jobs in this state (repeatable)")
    s.add_argument("--json", action="store_true")
    for name, helptext in (("show", "state, progress, metrics summary and MLflow run of a job"),):
        s = jsub.add_parser(name, help=helptext)
        s.add_argument("id")
        s.add_argument("--json", action="store_true")
    s = jsub.add_parser("metrics", help="metric points of a job")
    s.add_argument("id")
    s.add_argument("--key", help="only this metric (e.g. loss, eval_loss)")
    s.add_argument("--json", action="store_true")
    s = jsub.add_parser("logs", help="the worker's log")
    s.add_argument("id")
    s.add_argument("-f", "--follow", action="store_true", help="keep printing until the job ends")
    s = jsub.add_parser("wait", help="wait for a job to end; exit 0 only if it COMPLETED")
    s.add_argument("id")
    s.add_argument("--timeout", type=float, help="seconds")
    s.add_argument("--json", action="store_true")
    for action in JobAction:
        s = jsub.add_parser(action, help=f"{action} a job")
        s.add_argument("id")
        s.add_argument("--json", action="store_true")


def _age(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S") if when else "-"


def _duration(job: JobRow) -> float | None:
    if not job.started_at:
        return None
    return ((job.finished_at or datetime.now(UTC)) - job.started_at).total_seconds()


def run(args: argparse.Namespace, client: Client) -> int:
    cmd = args.jobs_cmd
    if cmd == "submit":
        spec = load_spec_file(args.file)
        job = client.submit(spec.to_dict(), base_dir=str(args.file.resolve().parent))
        emit_json(job) if args.json else print(job.id)
        return 0
    if cmd == "list":
        jobs = client.jobs(args.state)
        if args.json:
            emit_json(jobs)
            return 0
        rows = [
            [j.id, j.name, j.state, f"{100 * j.progress:.0f}%", ",".join(j.devices) or "-",
             _age(j.started_at), fmt_duration(_duration(j)), fmt_num(j.best_eval_loss)]
            for j in jobs
        ]  # fmt: skip
        print(table(rows, ["ID", "NAME", "STATE", "PROGRESS", "DEVICE", "STARTED", "DURATION", "BEST EVAL"]))
        return 0
    if cmd == "show":
        job = client.job(args.id)
        if args.json:
            emit_json(job)
            return 0
        _print_job(job)
        return 0
    if cmd == "metrics":
        points = client.metrics(args.id, key=args.key).points
        if args.json:
            emit_json(points)
            return 0
        print(table([[p.key, str(p.step), f"{p.value:.6g}"] for p in points], ["KEY", "STEP", "VALUE"]))
        return 0
    if cmd == "logs":
        return _logs(client, args.id, args.follow)
    if cmd == "wait":
        try:
            job = client.wait(args.id, timeout=args.timeout)
        except TimeoutError as err:
            print(f"error: {err}", file=sys.stderr)
            return 124
        emit_json(job) if args.json else print(f"{job.id} {job.state}: {job.reason}")
        return 0 if job.state is JobState.COMPLETED else 1
    if cmd == "delete":
        client.delete(args.id)
        print(f"deleted {args.id}")
        return 0
    job = client.action(args.id, cmd)
    emit_json(job) if args.json else print(
        f"{job.id} {job.state}" + (f" ({job.pending_action} requested)" if job.pending_action else "")
    )
    return 0


def _mlflow_state(job: JobView) -> str:
    """The mirror's state of a job: ``mlflow_done`` with an error means the mirror gave up."""
    run, error = job.mlflow_run_id or "-", job.mlflow_error
    if error and job.mlflow_done:
        return f"not mirrored: {error}"
    if error:
        return f"run {run}, behind: {error}"
    return f"run {run}" + (" (mirrored)" if job.mlflow_done else "")


def _print_job(job: JobView) -> None:
    eta = fmt_duration(job.eta_s) if job.eta_s is not None else "-"
    lines = [
        f"id:          {job.id}",
        f"name:        {job.name}  (experiment {job.experiment})",
        f"state:       {job.state}" + (f"  [{job.pending_action} requested]" if job.pending_action else ""),
        f"reason:      {job.reason or '-'}" + (f"; {job.waiting_for}" if job.waiting_for else ""),
        f"attempt:     {job.attempt}",
        f"device:      {', '.join(job.devices) or '-'}" + (f"  ({job.device_label})" if job.device_label else ""),
        f"progress:    {job.step}/{job.total_steps or '?'} ({100 * job.progress:.0f}%), ETA {eta}",
        f"started:     {_age(job.started_at)}   duration {fmt_duration(_duration(job))}",
        f"MLflow:      {_mlflow_state(job)}",
        f"job dir:     {job.job_dir}",
    ]  # fmt: skip
    health = job.health
    if health:  # the watchdog's finding (jobs/watchdog.py): stopped or not responding
        since = datetime.fromtimestamp(health.since, UTC).strftime("%Y-%m-%d %H:%M:%S")
        lines.insert(3, f"health:      {health.status} since {since}: {health.message}")
    ds = job.spec.get("dataset") or {}
    if ds.get("hash"):
        lines.insert(-1, f"dataset:     {ds['name']} v{ds['version']}  (manifest {ds['hash']})")
    print("\n".join(lines))
    if job.metrics:
        print()
        rows = [
            [k, fmt_num(m.last), fmt_num(m.min), fmt_num(m.max), str(m.count)] for k, m in job.metrics.items()
        ]
        print(table(rows, ["METRIC", "LAST", "MIN", "MAX", "POINTS"]))


def _logs(client: Client, job_id: str, follow: bool) -> int:
    offset = 0
    while True:
        try:
            chunk = client.logs(job_id, offset)
        except DaemonUnavailable:
            if not follow:
                raise
            time.sleep(1)
            continue
        if chunk.text:
            sys.stdout.write(chunk.text)
            sys.stdout.flush()
        offset = chunk.offset
        if not follow or (chunk.state.is_terminal() and not chunk.text):
            return 0
        if not chunk.text:
            time.sleep(0.5)
