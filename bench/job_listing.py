"""Job listing speed: ``GET /v1/jobs`` and ``GET /v1/status`` (and ``sparktrainer jobs list``)
at 1,000 and 5,000 jobs, this tree's daemon against a baseline release's, measured in one run.

    .venv/bin/python bench/job_listing.py [--jobs 1000,5000] [--rounds 15] [--cli-rounds 5]
                                          [--baseline 360531c]

The baseline (default: the commit before the indexed listing) is taken with ``git archive``
into a temporary folder and run from there (PYTHONPATH), so both daemons are real. For each
size, the baseline's code fills a store with finished and paused jobs (tests/store_fixtures.py:
transitions, experiments, eval-loss summaries); this tree's daemon gets a copy of the same file
and migrates it at start (the upgrade path). Requests alternate between the two daemons (A B,
B A, ...); the first 3 rounds are a warm-up and are dropped. Prints p50 and p95 of each, and
baseline / new; "CPU per call" is the daemon's CPU time (all its threads) plus the client's for
one API call, which a loaded machine does not inflate as it does wall time. "after a commit" lists
right after another connection committed a change (as a running job's progress does every second),
so the daemon's kept rows cannot answer and the list is queried. The target: p95 under 100 ms at
5,000 jobs (API call, client included).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainer_runtime.client.client import Client  # noqa: E402
from trainer_runtime.paths import DataDir  # noqa: E402

WARMUP = 3


def baseline_tree(rev: str, where: Path) -> Path:
    """The baseline's trainer_runtime (and tests package) unpacked under ``where``."""
    where.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "trainer_runtime", "tests/__init__.py"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    shutil.copy(ROOT / "tests" / "store_fixtures.py", where / "tests" / "store_fixtures.py")
    return where


def env_for(home: Path, pythonpath: Path | None) -> dict[str, str]:
    env = {**os.environ, "SPARKTRAINER_HOME": str(home), "SPARKTRAINER_MLFLOW": "off"}
    env.pop("SPARKTRAINER_DB_URL", None)
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    else:
        env.pop("PYTHONPATH", None)
    return env


def run(args: list[str], env: dict[str, str]) -> None:
    """``python ARGS`` in the data dir (not in ROOT: ``-m`` puts the working dir first on sys.path)."""
    proc = subprocess.run(
        [sys.executable, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=env["SPARKTRAINER_HOME"],
    )
    if proc.returncode:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")


def start(home: Path, pythonpath: Path | None) -> Client:
    """A daemon for ``home``, waited for with a long timeout (``runtime start`` gives up after 60 s
    of 5 s pings, and the baseline's status call alone takes longer than that at 5,000 jobs)."""
    with open(home / "daemon.log", "ab") as log:
        subprocess.Popen(
            [sys.executable, "-m", "trainer_runtime.daemon"], env=env_for(home, pythonpath), cwd=home,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    client = Client(DataDir(home), timeout=600)
    deadline = time.monotonic() + 600
    while not (home / "daemon.json").exists() or not client.ping():
        if time.monotonic() > deadline:
            raise SystemExit(f"the daemon for {home} did not start; see its daemon.log")
        time.sleep(0.2)
    return client


def stop(home: Path) -> None:
    """Stop the daemon of ``home`` (whether or not it got as far as answering)."""
    try:
        pid = int(json.loads((home / "daemon.json").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while (home / "daemon.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def _cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def touch(db: Path) -> None:
    """Commit a change to one job row (its step, as progress does) from another connection, so
    nothing kept can answer (a write that changes no value commits nothing in SQLite)."""
    con = sqlite3.connect(db, timeout=30)
    try:
        with con:
            con.execute("UPDATE jobs SET step = step + 1 WHERE id = (SELECT min(id) FROM jobs)")
    finally:
        con.close()


def percentiles(xs: list[float]) -> tuple[float, float]:
    xs = sorted(xs)
    return statistics.median(xs), xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


def measure(n: int, base: Path, tmp: Path, rounds: int, cli_rounds: int) -> dict[str, dict[str, list[float]]]:
    homes = {"baseline": tmp / f"baseline-{n}", "new": tmp / f"new-{n}"}
    paths = {"baseline": base, "new": None}
    for h in homes.values():
        h.mkdir(mode=0o700)
    fill = f"from pathlib import Path; from tests.store_fixtures import bulk_jobs; bulk_jobs(Path({str(homes['baseline'] / 'sparktrainer.db')!r}), {n})"
    run(["-c", fill], env_for(homes["baseline"], base))
    shutil.copy(homes["baseline"] / "sparktrainer.db", homes["new"] / "sparktrainer.db")
    clients: dict[str, Client] = {}
    kinds = ("jobs", "changed", "status", "cli", "jobs-cpu", "changed-cpu", "status-cpu")
    times: dict[str, dict[str, list[float]]] = {name: {k: [] for k in kinds} for name in homes}
    try:
        for name, home in homes.items():
            clients[name] = start(home, paths[name])
        procs = {name: psutil.Process(clients[name].request("GET", "/v1/status")["pid"]) for name in homes}
        for r in range(rounds):
            for name in ("baseline", "new") if r % 2 == 0 else ("new", "baseline"):
                for what, path in (("jobs", "/v1/jobs"), ("changed", "/v1/jobs"), ("status", "/v1/status")):
                    if what == "changed":  # a commit first (as a running job's progress makes every second)
                        touch(homes[name] / "sparktrainer.db")
                    c0, d0, t0 = time.process_time(), _cpu(procs[name]), time.perf_counter()
                    body = clients[name].request("GET", path)
                    elapsed = time.perf_counter() - t0
                    used = time.process_time() - c0 + _cpu(procs[name]) - d0
                    if what != "status":
                        assert len(body["jobs"]) == n, (name, len(body["jobs"]))
                    if r >= WARMUP:
                        times[name][what].append(elapsed)
                        times[name][f"{what}-cpu"].append(used)
        for r in range(cli_rounds + 1):
            for name in ("baseline", "new") if r % 2 == 0 else ("new", "baseline"):
                t0 = time.perf_counter()
                run(["-m", "trainer_runtime.cli.main", "jobs", "list"], env_for(homes[name], paths[name]))
                if r:
                    times[name]["cli"].append(time.perf_counter() - t0)
    finally:
        for home in homes.values():
            stop(home)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", default="1000,5000")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--cli-rounds", type=int, default=5)
    ap.add_argument("--baseline", default="360531c")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="job-listing-"))
    try:
        base = baseline_tree(args.baseline, tmp / "baseline-tree")
        print(f"baseline {args.baseline} vs this tree; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
        print(
            f"{'jobs':>6}  {'call':<16} {'baseline p50/p95 ms':>20} {'new p50/p95 ms':>16} {'p50 ratio':>9}"
        )
        for n in (int(x) for x in args.jobs.split(",")):
            times = measure(n, base, tmp, args.rounds, args.cli_rounds)
            for what, label in (
                ("jobs", "GET /v1/jobs"),
                ("changed", "  after a commit"),
                ("status", "GET /v1/status"),
                ("cli", "jobs list (CLI)"),
                ("jobs-cpu", "  CPU per call"),
                ("changed-cpu", "  CPU, after commit"),
                ("status-cpu", "  CPU per call"),
            ):
                b50, b95 = percentiles(times["baseline"][what])
                n50, n95 = percentiles(times["new"][what])
                print(
                    f"{n:>6}  {label:<16} {b50 * 1000:>9.0f} / {b95 * 1000:<8.0f} {n50 * 1000:>7.0f} / {n95 * 1000:<6.0f}"
                    f" {b50 / n50:>8.1f}x"
                )
        print(f"load after the run: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
