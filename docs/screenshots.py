"""Take the README screenshots of the real app: ``docs/images/*.png``.

    .venv/bin/python docs/screenshots.py
    bash .ci/keyring-session .venv/bin/python docs/screenshots.py   # Settings with a real keyring

Starts Xvfb when DISPLAY is unset, a throwaway SPARKTRAINER_HOME with a real daemon, submits
``resources/samples/tiny-lora.yaml`` (steps raised so it is still RUNNING when captured) and a
short full fine-tune that completes, opens the real MainWindow, and grabs the main window, the
job detail, the new-job wizard, the Settings page and the Builder (a template loaded).
Everything it started is stopped at the end, and the throwaway data dir is removed.
``--only builder`` grabs just the Builder (no jobs are run for it); ``--only datasets`` just the
Datasets panel with an imported image dataset (``docs/screenshots_datasets.py``); ``--only labeling``
the Labeling panel with a labeled street picture (``docs/screenshots_labeling.py``).
The daemon runs with the simulated 8×H100 GPU set, for the GPUs panel and the MIG planner
(``docs/screenshots_gpus.py``); ``--only gpus`` grabs just those two. ``--only trouble``: a stopped worker, an MLflow mirror that
is behind or gave up, and a daemon that refuses to start (``docs/screenshots_trouble.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images"
SAMPLE = ROOT / "resources" / "samples" / "tiny-lora.yaml"
sys.path.insert(0, str(ROOT))

from screenshot_app import main_window, running_daemon  # noqa: E402


def start_xvfb() -> subprocess.Popen | None:
    if os.environ.get("DISPLAY"):
        return None
    if not shutil.which("Xvfb"):
        sys.exit("DISPLAY is unset and Xvfb is not installed: apt-get install -y xvfb")
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    os.close(write)
    with os.fdopen(read) as fh:
        number = fh.readline().strip()
    if not number:
        proc.kill()
        sys.exit("Xvfb did not start")
    os.environ["DISPLAY"] = f":{number}"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return proc


def stop_data_dir_processes(home: Path) -> None:
    """Kill whatever still runs for the throwaway data dir (daemon, workers)."""
    import psutil

    for p in psutil.process_iter(["pid", "environ"]):
        try:
            if p.pid != os.getpid() and (p.info["environ"] or {}).get("SPARKTRAINER_HOME") == str(home):
                p.send_signal(signal.SIGKILL)
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue


def pump(seconds: float, until: Callable[[], bool] | None = None) -> bool:
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if until is not None and until():
            return True
        time.sleep(0.02)
    return until is None


def save(widget, name: str) -> Path:
    pump(0.3)
    path = OUT / f"{name}.png"
    if not widget.grab().save(str(path)):
        raise RuntimeError(f"could not write {path}")
    print(f"wrote {path.relative_to(ROOT)}")
    return path


def submit_jobs(client) -> tuple[str, str]:
    from trainer_runtime.jobs.spec import load_spec_file

    running = load_spec_file(SAMPLE).to_dict()
    running["train"]["max_steps"] = 2_000  # still RUNNING while captured
    running["train"]["eval_every"] = 20
    done = {
        **load_spec_file(SAMPLE).to_dict(),
        "name": "tiny-full",
        "method": "full",
        "experiment": "baselines",
    }
    done.pop("lora")
    done["train"] = {**done["train"], "max_steps": 12, "eval_every": 6, "checkpoint_every": 0}
    done_id = client.submit(done).id
    client.wait(done_id, timeout=300)
    return client.submit(running).id, done_id


def capture_builder(window) -> None:
    """The Builder with the residual-block template, its stem collapsed into a block and
    one layer selected (the inspector shows its parameters and shapes)."""
    size = window.size()
    window.resize(1600, 940)
    window.show_panel("builder")
    builder = window.panels["builder"]
    builder.new_from_template("Residual block")
    editor = builder.editor
    nodes = list(editor.graph.nodes.values())
    editor.select([n.id for n in nodes[1:4]])
    editor.group_selection("stem")
    editor.auto_layout()
    pump(0.3)
    builder.view.fit()
    target = next(n for n in reversed(nodes) if n.type == "Linear")
    editor.select([target.id])
    pump(1.0)
    save(window, "builder")
    window.resize(size)


def capture_builder_only(home: Path) -> None:
    """The Builder needs no daemon and no jobs: the real window, not connected."""
    with main_window(home, connect=False, size=None) as window:
        capture_builder(window)


def start_sample_jobs(client) -> str:
    """Submit the sample jobs; returns the running one's id once it has enough curve points."""
    running_id, _done_id = submit_jobs(client)
    deadline = time.monotonic() + 300
    while (job := client.job(running_id)).step < 60:  # enough points for the curves
        if time.monotonic() > deadline or job.is_terminal:
            raise RuntimeError(f"the sample job did not get going: {job.state} {job.reason}")
        time.sleep(0.5)
    return running_id


def cancel_active_jobs(client) -> None:
    for job in client.jobs():
        if "cancel" in job.allowed_actions:
            client.action(job.id, "cancel")


def capture_pages(window, client, home: Path, running_id: str) -> None:
    from sparktrainer_gui.panels.jobs.wizard import NewJobWizard
    from trainer_runtime.secrets.store import KeyringUnavailable, SecretStore

    conn = window.conn
    try:
        jobs = window.panels["jobs"]
        pump(30, lambda: conn.is_connected and jobs.model.rowCount() >= 2)
        pump(10, lambda: jobs.select_job(running_id))
        pump(4)  # curves and log fill in
        save(window, "main-window")
        save(jobs.detail, "job-detail")

        wizard = NewJobWizard(conn, window)
        wizard.open_spec(SAMPLE)
        wizard.show()
        pump(10, lambda: wizard.form.submit_button.isEnabled())
        save(wizard, "new-job-wizard")
        wizard.close()

        try:  # under `bash .ci/keyring-session`: show one stored credential (a dummy, throwaway service)
            SecretStore().set("HF_TOKEN", "hf_screenshot_dummy_value")
        except KeyringUnavailable as err:
            print(f"no keyring, the Settings page will say so: {err}")
        window.show_panel("settings")
        settings = window.panels["settings"]
        pump(15, lambda: settings.keyring_usable is not None)
        save(window, "settings")

        capture_builder(window)

        from screenshots_gpus import capture_gpus

        capture_gpus(window, pump, save)

        from screenshots_datasets import capture_datasets

        capture_datasets(window, client, home, pump, save)

        from screenshots_labeling import capture_labeling

        capture_labeling(window, client, home, pump, save)
    finally:
        try:
            SecretStore().delete("HF_TOKEN")
        except KeyringUnavailable as err:
            print(f"(no keyring to clean up: {err})")


def capture(home: Path) -> None:
    with running_daemon() as client:
        running_id = start_sample_jobs(client)
        try:
            with main_window(home) as window:
                capture_pages(window, client, home, running_id)
        finally:
            cancel_active_jobs(client)


@contextlib.contextmanager
def screen_session(prefix: str = "sparktrainer-screens-") -> Iterator[Path]:
    """A throwaway SPARKTRAINER_HOME (own keyring service and Qt settings) on Xvfb when DISPLAY
    is unset; everything started under it (daemon, workers, Xvfb) is stopped at the end."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["SPARKTRAINER_HOME"] = str(home)
    os.environ["SPARKTRAINER_KEYRING_SERVICE"] = f"sparktrainer-screenshots-{os.getpid()}"
    os.environ["XDG_CONFIG_HOME"] = str(home / "config")
    xvfb = start_xvfb()
    try:
        yield home
    finally:
        stop_data_dir_processes(home)
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", choices=["builder", "gpus", "datasets", "labeling", "trouble"], help="grab only this page"
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SPARKTRAINER_GPU_SIM", "8xH100-80GB")  # the GPUs panel's simulated set
    with screen_session() as home:
        if args.only == "trouble":
            from screenshots_trouble import capture_trouble_only

            capture_trouble_only(home, pump, save)
        elif args.only == "labeling":
            from screenshots_labeling import capture_labeling_only

            capture_labeling_only(home, pump, save)
        elif args.only == "datasets":
            from screenshots_datasets import capture_datasets_only

            capture_datasets_only(home, pump, save)
        elif args.only == "gpus":
            from screenshots_gpus import capture_gpus_only

            capture_gpus_only(home, pump, save)
        else:
            capture_builder_only(home) if args.only == "builder" else capture(home)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
