"""Datasets through the real CLI and daemon: import → list → diff → rollback → verify, progress
events on the stream, and a causal-lm job trained on `dataset: {name, version}`."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests import dataset_fixtures as fx
from tests.helpers import SAMPLE_CORPUS, cli, start_import
from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.datasets import ImportTaskView
from trainer_runtime.datasets.tasks import ImportState

pytestmark = pytest.mark.e2e


def cli_json(*args: str):
    out = cli(*args, "--json", check=True)
    return json.loads(out.stdout)


def test_import_list_diff_rollback_verify_and_bad_input(daemon, home: Path, tmp_path: Path):
    src = fx.text_corpus(tmp_path / "corpus", files=2)
    v1 = cli_json("datasets", "import", str(src), "--name", "corpus")
    assert (v1["version"], v1["files"], v1["meta"]["format"]) == (1, 2, "text")
    (src / "part1.txt").write_text("a changed part\n" * 10)
    (src / "part2.txt").write_text("a new part\n" * 10)
    v2 = cli_json("datasets", "import", str(src), "--name", "corpus")
    listed = cli_json("datasets", "list")
    assert [(d["name"], d["latest"], d["files"]) for d in listed] == [("corpus", 2, 3)]
    diff = cli_json("datasets", "diff", "corpus", "1", "2")
    assert (diff["added"], diff["removed"], diff["changed"]) == (["part2.txt"], [], ["part1.txt"])
    text = cli("datasets", "diff", "corpus", "1", "2", check=True).stdout
    assert "+ part2.txt" in text and "~ part1.txt" in text and "1 added, 0 removed, 1 changed" in text
    v3 = cli_json("datasets", "rollback", "corpus", "1")
    assert v3["version"] == 3 and v3["manifest_hash"] == v1["manifest_hash"] != v2["manifest_hash"]
    assert [v["version"] for v in cli_json("datasets", "versions", "corpus")] == [1, 2, 3]
    ok = cli("datasets", "verify", "corpus", check=True)
    assert "2 files checked, all intact" in ok.stdout
    q = cli_json("datasets", "quality", "corpus")
    assert q["summary"]["undecodable"] == 0
    deleted = cli_json("datasets", "delete", "corpus", "--version", "2")
    assert deleted["reclaimed_blobs"] == 2  # part1 (changed) and part2 were only in v2
    assert cli("datasets", "verify", "corpus", "--version", "3", check=True).returncode == 0
    bad = cli("datasets", "import", str(src), "--name", "../up")
    assert bad.returncode == 2 and "looks like a path" in bad.stderr
    broken = tmp_path / "broken.csv"
    broken.write_text("a,b\n1,2\n3\n")
    bad = cli("datasets", "import", str(broken))
    assert bad.returncode == 2 and "line 3: 1 columns, but the header has 2" in bad.stderr
    assert cli("datasets", "show", "nope").returncode == 2
    assert [d["name"] for d in cli_json("datasets", "list")] == ["corpus"]
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "new.txt").write_text("content no other version has\n")
    (linked / "new.txt").chmod(0o440)  # --link links only files a link would not change
    cli_json("datasets", "import", str(linked), "--name", "linked", "--link")
    entry = daemon.dataset_version("linked", 1).entries[0]
    blob = home / "datasets" / "blobs" / entry.sha256[:2] / entry.sha256[2:]
    assert blob.stat().st_ino == (linked / entry.path).stat().st_ino, "--link stores by hard link"


def test_import_progress_arrives_on_the_event_stream(daemon, tmp_path: Path):
    src = fx.image_folder(tmp_path / "pets", {"cat": 20, "dog": 20})
    events: list = []
    subscribed = threading.Event()

    def listen() -> None:
        for ev in daemon.events(types=["dataset_import", "dataset_changed"]):
            subscribed.set()
            events.append(ev)
            if ev.type == "dataset_changed":
                return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert subscribed.wait(10)
    pv = daemon.dataset_detect(str(src))
    assert (pv.format, pv.classes) == ("image-folder", {"cat": 20, "dog": 20})
    task = start_import(daemon, src, "pets")
    t.join(60)
    imports = [parse(ImportTaskView, e.import_) for e in events if e.type == "dataset_import"]
    assert imports[-1].state is ImportState.COMPLETED and imports[-1].version.version == 1
    assert any(i.phase == "store" and i.total == 40 for i in imports)
    assert daemon.dataset_import_status(task.id).state is ImportState.COMPLETED
    assert daemon.dataset("pets").items == 40


def test_causal_lm_trains_on_a_dataset_version_and_records_its_hash(daemon_with, home: Path, tmp_path: Path):
    client = daemon_with(mlflow_sync_interval_s=0.5)
    src = tmp_path / "texts"
    src.mkdir()
    shutil.copy(SAMPLE_CORPUS, src / "corpus.txt")
    v1 = cli_json("datasets", "import", str(src), "--name", "sample")
    (src / "extra.txt").write_text("more words for the second version\n" * 20)
    cli_json("datasets", "import", str(src), "--name", "sample")
    spec = {
        "name": "on-dataset", "recipe": "causal-lm", "model": {"builtin": "tiny-gpt2"}, "method": "lora",
        "dataset": {"name": "sample", "version": 1},
        "train": {"max_steps": 10, "batch_size": 4, "seq_len": 32, "lr": 3e-3, "eval_every": 5},
    }  # fmt: skip
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    job_id = cli("jobs", "submit", str(spec_path), check=True).stdout.strip()
    out = cli("jobs", "wait", job_id, "--timeout", "300", "--json", timeout=330)
    job = json.loads(out.stdout)
    assert job["state"] == "COMPLETED", cli("jobs", "logs", job_id).stdout[-3000:]
    ds = job["spec"]["dataset"]
    assert (ds["name"], ds["version"], ds["hash"]) == ("sample", 1, v1["manifest_hash"])
    assert cli("jobs", "show", job_id, check=True).stdout.count(v1["manifest_hash"]) == 1
    bad = cli("jobs", "submit", str(spec_path.with_name("bad.yaml")))  # file missing: plain CLI error
    assert bad.returncode != 0
    spec["dataset"] = {"name": "sample", "version": 9}
    spec_path.write_text(yaml.safe_dump(spec))
    bad = cli("jobs", "submit", str(spec_path))
    assert bad.returncode == 2 and "no version 9 of dataset 'sample'" in bad.stderr
    from mlflow.tracking import MlflowClient

    deadline = time.monotonic() + 120
    while not (j := client.job(job_id)).mlflow_done:
        assert time.monotonic() < deadline, j.mlflow_error
        time.sleep(0.2)
    run = MlflowClient(f"sqlite:///{home / 'mlflow' / 'mlflow.db'}").get_run(j.mlflow_run_id)
    assert run.data.tags["sparktrainer.dataset"] == "sample@v1"
    assert run.data.tags["sparktrainer.dataset_hash"] == v1["manifest_hash"]


def test_ctrl_c_cancels_a_queued_import_cleanly(daemon, home: Path, tmp_path: Path):
    """Imports run one at a time; Ctrl-C on the CLI of the waiting one cancels it, and nothing
    of it is stored, while the running one completes."""
    import os
    import signal
    import subprocess
    import sys

    from tests.helpers import ROOT

    small = fx.text_corpus(tmp_path / "small")
    # The CLI's import must arrive while the first still runs. On a loaded machine the CLI's start
    # can outlast an import of 15,000 files; then the scenario did not happen, and it is run again
    # with a first import twice as long (the outcome asserted is the same).
    for attempt, files in enumerate((15_000, 30_000, 60_000)):
        big = tmp_path / f"big{attempt}"  # many files: an import of a few seconds, cheap to generate
        big.mkdir()
        for i in range(files):
            (big / f"t{i:05d}.txt").write_text(f"document {i}\n")
        running = start_import(daemon, big, f"big{attempt}")
        proc = subprocess.Popen(
            [sys.executable, "-m", "trainer_runtime.cli.main", "datasets", "import", str(small),
             "--name", f"small{attempt}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=os.environ.copy(),
        )  # fmt: skip
        assert proc.stderr is not None
        first_line = proc.stderr.readline().strip()
        if first_line == "queued":
            break
        proc.communicate(timeout=120)  # not queued: the first had ended; go again, under other names
        deadline = time.monotonic() + 60
        while not daemon.dataset_import_status(running.id).is_terminal:
            assert time.monotonic() < deadline, first_line
            time.sleep(0.2)
    else:
        pytest.fail("the first import always ended before the second arrived, even with 60,000 files")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "the import was cancelled; nothing was stored" in err
    deadline = time.monotonic() + 120
    while not daemon.dataset_import_status(running.id).is_terminal:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert daemon.dataset_import_status(running.id).state is ImportState.COMPLETED
    names = {d.name for d in daemon.datasets()}
    assert f"big{attempt}" in names and f"small{attempt}" not in names  # nothing of the cancelled one
    assert daemon.dataset_verify(f"big{attempt}").ok


E2E_FORMATS = [
    ("image-folder", lambda d: fx.image_folder(d / "pets")),
    ("image-flat", lambda d: fx.image_flat(d / "flat")),
    ("coco", lambda d: fx.coco(d / "coco")),
    ("yolo", lambda d: fx.yolo(d / "yolo")),
    ("csv", lambda d: fx.csv_file(d / "rows.csv")),
    ("jsonl", lambda d: fx.jsonl_file(d / "docs.jsonl")),
    ("parquet", lambda d: fx.parquet_file(d / "t.parquet")),
    ("text", lambda d: fx.text_corpus(d / "corpus")),
    ("yolo", lambda d: fx.zip_of(fx.yolo(d / "z" / "yolo"), d / "yolo.zip")),
    ("image-folder", lambda d: fx.tar_of(fx.image_folder(d / "t" / "pets"), d / "pets.tar.gz")),
]


def test_every_format_imports_through_the_daemon_and_verifies(daemon, tmp_path: Path):
    """Each format (and zip / tar.gz archives) through the real CLI and daemon: detected,
    imported as version 1, listed, and verified against its manifest."""
    for i, (fmt, make) in enumerate(E2E_FORMATS):
        src = make(tmp_path / f"src{i}")
        name = f"ds{i}-{fmt}"
        v = cli_json("datasets", "import", str(src), "--name", name)
        assert (v["version"], v["meta"]["format"]) == (1, fmt), f"{src.name}: {v}"
        out = cli("datasets", "verify", name, check=True)
        assert "all intact" in out.stdout
    assert len(cli_json("datasets", "list")) == len(E2E_FORMATS)
