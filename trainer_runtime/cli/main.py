"""The ``sparktrainer`` command."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import signal
import sys
import time
from pathlib import Path

from trainer_runtime import __version__
from trainer_runtime.cli import datasets as datasets_cli
from trainer_runtime.cli import gpus as gpus_cli
from trainer_runtime.cli import graph as graph_cli
from trainer_runtime.cli import jobs as jobs_cli
from trainer_runtime.cli import labels as labels_cli
from trainer_runtime.cli import settings as settings_cli
from trainer_runtime.cli import store as store_cli
from trainer_runtime.cli.output import emit_json, error, table
from trainer_runtime.client.client import ApiError, Client, DaemonUnavailable, ensure_daemon, start_daemon
from trainer_runtime.jobs.spec import SpecError
from trainer_runtime.jobs.state import JobState
from trainer_runtime.paths import DataDir

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sparktrainer", description="SparkTrainer: real training jobs on your workstation"
    )
    p.add_argument("--version", action="version", version=f"sparktrainer {__version__}")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")
    r = sub.add_parser("runtime", help="start, stop or inspect the background daemon")
    r.add_argument("action", choices=["start", "stop", "status"])
    r.add_argument("--json", action="store_true")
    jobs_cli.add_parser(sub)
    gpus_cli.add_parser(sub)
    graph_cli.add_parser(sub)
    datasets_cli.add_parser(sub)
    labels_cli.add_parser(sub)
    settings_cli.add_parser(sub)
    store_cli.add_parser(sub)
    s = sub.add_parser("secrets", help="API credentials in the OS keyring (values are never printed)")
    s.add_argument("action", choices=["set", "list", "delete"])
    s.add_argument("name", nargs="?", help="e.g. HF_TOKEN, WANDB_API_KEY, OPENAI_API_KEY")
    s.add_argument("--json", action="store_true")
    d = sub.add_parser(
        "demo", help="start the runtime and run the bundled sample job, following its progress"
    )
    d.add_argument("--spec", type=Path, default=SAMPLES / "tiny-lora.yaml")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.cmd is None:
        args = build_parser().parse_args(["demo"])
    try:
        return dispatch(args)
    except SpecError as err:
        error("invalid job spec:")
        for field, msg in err.problems:
            print(f"  {field or '(spec)'}: {msg}", file=sys.stderr)
        return 2
    except ApiError as err:
        error(str(err))
        return 2 if err.status < 500 else 1
    except DaemonUnavailable as err:
        error(str(err))
        return 3
    except KeyboardInterrupt:
        return 130


def dispatch(args: argparse.Namespace) -> int:
    data = DataDir.default()
    if args.cmd == "runtime":
        return runtime(args, data)
    if args.cmd == "secrets":
        return secrets(args)
    if args.cmd == "store":
        return store_cli.run(args, data)
    if args.cmd == "demo":
        return demo(args, data)
    if args.cmd in ("gpus", "mig"):
        return gpus_cli.run(args, data)
    if args.cmd == "graph":
        return graph_cli.run(args, lambda: ensure_daemon(data))
    if args.cmd == "datasets":
        return datasets_cli.run(args, ensure_daemon(data))
    if args.cmd == "labels":
        return labels_cli.run(args, ensure_daemon(data))
    if args.cmd == "settings":
        return settings_cli.run(args, ensure_daemon(data))
    return jobs_cli.run(args, ensure_daemon(data))


def runtime(args: argparse.Namespace, data: DataDir) -> int:
    client = Client(data, timeout=10)
    if args.action == "start":
        if client.ping():
            print(f"daemon already running (pid {client.status().pid})")
            return 0
        pid = start_daemon(data)
        print(f"daemon started (pid {pid}), data dir {data.root}")
        return 0
    if args.action == "stop":
        if not client.ping():
            print("daemon is not running")
            return 0
        pid = client.status().pid
        client.shutdown()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and client.ping():
            time.sleep(0.1)
        print(f"daemon stopped (pid {pid}); running jobs keep running and are picked up at the next start")
        return 0
    if not client.ping():
        if args.json:
            emit_json({"running": False, "data_dir": str(data.root), "socket": str(data.socket_path)})
        else:
            print(f"daemon is not running (data dir {data.root})")
        return 1
    st = client.status()
    if args.json:
        emit_json({"running": True, **st.model_dump(mode="json")})
        return 0
    print(f"daemon running: pid {st.pid}, version {st.version}, api {st.api}")
    print(f"data dir: {st.data_dir}\nsocket:   {st.socket}\nmlflow:   {st.tracking_uri}")
    dev = st.devices
    print(f"devices:  {dev.total} {dev.kind} ({dev.busy} busy)")
    print("jobs:     " + (", ".join(f"{k.label.lower()} {v}" for k, v in st.jobs.items()) or "none"))
    if st.mlflow.permanent_error:
        print(f"MLflow:   not mirroring: {st.mlflow.permanent_error}")
    elif st.mlflow.last_error:
        print(f"MLflow:   behind, retrying: {st.mlflow.last_error}")
    return 0


def secrets(args: argparse.Namespace) -> int:
    from trainer_runtime.secrets.store import KeyringUnavailable, SecretStore

    try:
        store = SecretStore()
        if args.action == "list":
            names = store.names()
            if args.json:
                emit_json(names)
            else:
                print("\n".join(names) if names else "no credentials stored")
            return 0
        if not args.name:
            error(f"secrets {args.action} needs a NAME (e.g. HF_TOKEN)")
            return 2
        if args.action == "delete":
            store.delete(args.name)
            print(f"deleted {args.name}")
            return 0
        value = getpass.getpass(f"{args.name}: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
        store.set(args.name, value)
        print(f"stored {args.name} in the OS keyring")
        return 0
    except KeyringUnavailable as err:
        error(str(err))
        return 4
    except ValueError as err:
        error(str(err))
        return 2


def demo(args: argparse.Namespace, data: DataDir) -> int:
    from trainer_runtime.jobs.spec import load_spec_file

    client = ensure_daemon(data)
    spec = load_spec_file(args.spec)
    job = client.submit(spec.to_dict(), base_dir=str(args.spec.resolve().parent))
    print(f"SparkTrainer runtime is running (data dir {data.root}).")
    print(
        f"Submitted the sample job '{job.name}' as {job.id}; following it (Ctrl+C stops watching, not the job)."
    )
    signal.signal(signal.SIGINT, signal.default_int_handler)
    last = None
    while True:
        job = client.job(job.id)
        loss = job.metrics["loss"].last if "loss" in job.metrics else None
        line = f"{job.state:<10} step {job.step}/{job.total_steps or '?'}" + (
            f"  loss {loss:.4f}" if loss else ""
        )
        if line != last:
            print(line, flush=True)
            last = line
        if job.is_terminal:
            break
        time.sleep(1)
    print(f"\n{job.state}: {job.reason}")
    if job.metrics:
        rows = [[k, f"{m.last:.4g}", f"{m.min:.4g}"] for k, m in job.metrics.items()]
        print(table(rows, ["METRIC", "LAST", "MIN"]))
    print(f"\nMore: sparktrainer jobs show {job.id} | jobs logs {job.id} | runtime status")
    print("The MLflow UI: mlflow ui --backend-store-uri " + json.dumps(client.status().tracking_uri))
    return 0 if job.state is JobState.COMPLETED else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
