"""Versions: list, diff, rollback, delete with blob reclaim; verify; quality reports and gates;
text datasets made into a worker's file; the job spec's dataset reference."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests import dataset_fixtures as fx
from trainer_runtime.datasets.errors import DatasetError, DatasetNotFound
from trainer_runtime.datasets.phash import near_duplicate_groups
from trainer_runtime.jobs.spec import SpecError, parse_spec


def test_versions_diff_rollback_and_delete_with_reclaim(svc, tmp_path):
    src = fx.image_folder(tmp_path / "pets", {"cat": 2, "dog": 2})
    v1 = svc.import_(src, "pets", link=False)
    os.remove(src / "dog" / "dog1.png")  # removed
    fx.png(src / "bird" / "bird0.png", 900)  # added
    fx.png(src / "cat" / "cat0.png", 901)  # changed content
    shutil.move(src / "dog" / "dog0.png", src / "cat" / "dog0.png")  # path changes with its label
    v2 = svc.import_(src, "pets", link=False)
    assert [v.number for v in svc.versions("pets")] == [1, 2]
    d = svc.diff("pets", 1, 2)
    assert d["added"] == ["bird/bird0.png", "cat/dog0.png"]
    assert d["removed"] == ["dog/dog0.png", "dog/dog1.png"]
    assert d["changed"] == ["cat/cat0.png"] and d["labels"] == []
    # rollback: a new version equal to v1, with v1's manifest hash
    v3 = svc.rollback("pets", 1)
    assert (v3.number, v3.manifest_hash) == (3, v1.manifest_hash) and "rollback to version 1" in v3.message
    assert svc.diff("pets", 1, 3) == {**svc.diff("pets", 1, 1), "to": 3}
    # delete v1: its blobs are still used by v3, so nothing is reclaimed
    before = set(svc.blobs.all())
    assert svc.delete_version("pets", 1)["reclaimed_blobs"] == 0
    assert set(svc.blobs.all()) == before and svc.verify("pets", 3)["ok"]
    # delete v2: the blobs only v2 used (new cat0, bird0) go
    _, e2 = svc.entries("pets", 2)
    only_v2 = {e.sha256 for e in e2} - {e.sha256 for e in svc.entries("pets", 3)[1]}
    assert svc.delete_version("pets", 2)["reclaimed_blobs"] == len(only_v2) == 2
    assert set(svc.blobs.all()) == before - only_v2
    with pytest.raises(DatasetNotFound, match="no version 2 of dataset 'pets'"):
        svc.entries("pets", 2)
    v4 = svc.import_(src, "pets", link=False)
    assert v4.number == 4, "version numbers are never reused"
    assert v2.manifest_hash == v4.manifest_hash


# Crash leftovers: tests/unit/test_store_identity.py (staging goes at start, blobs only by `store gc`).


def test_label_changes_show_in_the_diff(svc, tmp_path):
    src = fx.yolo(tmp_path / "yolo")
    svc.import_(src, "y", link=False)
    (src / "labels" / "b.txt").write_text("0 0.5 0.5 0.4 0.4\n")
    svc.import_(src, "y", link=False)
    d = svc.diff("y", 1, 2)
    assert d["changed"] == ["labels/b.txt"]
    assert d["labels"] == [{"path": "images/b.png", "from": "person", "to": "car"}]


def test_verify_reports_corrupt_and_missing_files_by_path(svc, tmp_path):
    svc.import_(fx.text_corpus(tmp_path / "c", files=3), "c", link=False)
    _, entries = svc.entries("c")
    blob = svc.blobs.path(entries[0].sha256)
    os.chmod(blob, 0o644)
    blob.write_bytes(blob.read_bytes()[:-3] + b"XYZ")
    os.remove(svc.blobs.path(entries[1].sha256))
    v = svc.verify("c")
    assert not v["ok"] and v["corrupt"] == ["part0.txt"] and v["missing"] == ["part1.txt"]
    with pytest.raises(DatasetError, match="missing from storage"):
        svc.rollback("c", 1)


def _shifted(path: Path, base: np.ndarray, shift: int) -> Path:
    Image.fromarray(np.clip(base.astype(int) + shift, 0, 255).astype(np.uint8)).save(path)
    return path


def test_quality_report_and_gates_make_a_new_cleaned_version(svc, tmp_path):
    src = fx.image_folder(tmp_path / "pets", {"cat": 4, "dog": 1})
    shutil.copy(src / "cat" / "cat0.png", src / "dog" / "copy-of-cat0.png")  # exact duplicate
    grad = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (64, 1))
    base = np.stack([grad, grad.T, grad], axis=-1)
    _shifted(src / "cat" / "near-a.png", base, 0)
    _shifted(src / "dog" / "near-b.png", base, 3)  # same picture, slightly brighter
    (src / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\ngarbage")
    v1 = svc.import_(src, "pets", keep_corrupt=True, link=False)
    assert v1.meta["corrupt"] == ["dog/broken.png"]
    q = svc.quality("pets")
    assert [u["path"] for u in q["undecodable"]] == ["dog/broken.png"]
    assert q["exact_duplicates"] == [["cat/cat0.png", "dog/copy-of-cat0.png"]]
    assert q["near_duplicates"] == [["cat/near-a.png", "dog/near-b.png"]]
    assert q["class_counts"] == {"cat": 5, "dog": 4} and q["imbalance_ratio"] == pytest.approx(1.25)
    out = svc.apply_gates("pets", 1, ["dedupe", "drop-corrupt"])
    assert out["version"] == 2 and out["dropped"] == ["dog/broken.png", "dog/copy-of-cat0.png"]
    q2 = svc.quality("pets", 2)
    assert not q2["undecodable"] and not q2["exact_duplicates"]
    assert q2["class_counts"] == {"cat": 5, "dog": 2} and svc.get("pets").to_json()["items"] == 7
    assert svc.entries("pets", 1)[0].manifest_hash == v1.manifest_hash, "the old version is untouched"
    assert len(svc.entries("pets", 1)[1]) == 9
    with pytest.raises(DatasetError, match="unknown quality gate"):
        svc.apply_gates("pets", 2, ["shred"])


def test_text_and_schema_checks(svc, tmp_path):
    f = tmp_path / "rows.jsonl"
    f.write_text("\n".join(json.dumps({"text": t}) for t in ["fine", "", "   ", "x" * 50]) + "\n")
    svc.import_(f, "rows")
    q = svc.quality("rows", max_text_chars=40)
    assert q["empty_rows"] == [{"path": "rows.jsonl", "line": 2}, {"path": "rows.jsonl", "line": 3}]
    assert q["overlong_rows"] == [{"path": "rows.jsonl", "line": 4, "chars": 50}]
    y = fx.yolo(
        tmp_path / "yolo", {"a": "0 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.2 0.2\n", "b": "1 1.5 0.5 0.4 0.4\n"}
    )
    svc.import_(y, "y")
    msgs = [(e["path"], e["line"], e["message"]) for e in svc.quality("y")["schema_errors"]]
    assert ("labels/a.txt", 2, "class id 7 is outside 0..1") in msgs
    assert ("labels/b.txt", 1, "coordinates must be normalised to 0..1") in msgs
    c = fx.coco(tmp_path / "coco", boxes=[[1, 1, 4, 4], [10, 10, 10, 10], [0, 0, 0, 5]])
    svc.import_(c, "c")
    errs = [e["message"] for e in svc.quality("c")["schema_errors"]]
    assert errs == [
        "box [10, 10, 10, 10] lies outside 1.png (16×16)",
        "box of 2.png has no area: [0, 0, 0, 5]",
    ]


def test_near_duplicate_buckets_find_all_pairs_within_threshold():
    rng = np.random.default_rng(0)
    hashes = {f"k{i}": int(rng.integers(0, 2**63)) for i in range(2000)}
    hashes["twin"] = hashes["k5"] ^ 0b1011  # 3 bits away
    hashes["far"] = hashes["k6"] ^ 0b11111  # 5 bits away
    groups = near_duplicate_groups(hashes, threshold=4)
    assert ["k5", "twin"] in groups and not any("far" in g for g in groups)


def test_text_dataset_is_made_into_a_read_only_training_file(svc, tmp_path):
    svc.import_(fx.csv_file(tmp_path / "rows.csv"), "rows")
    info, path = svc.materialize_text("rows", "latest")
    lines = [json.loads(x)["text"] for x in path.read_text().splitlines()]
    assert lines[0] == "row number 0, with a comma" and len(lines) == 5
    assert path.parent.name == info.manifest_hash
    assert not path.stat().st_mode & 0o222, "the worker's file is read-only"
    svc.import_(fx.image_flat(tmp_path / "imgs"), "imgs")
    with pytest.raises(DatasetError, match="is image data .* trains on a text dataset"):
        svc.materialize_text("imgs")


def test_files_of_a_version_are_made_into_a_read_only_tree(svc, tmp_path):
    src = fx.image_folder(tmp_path / "pets")
    info = svc.import_(src, "pets")
    _, folder = svc.materialize_files("pets", 1)
    assert folder.parent.name == info.manifest_hash
    got = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert got == sorted(e.path for e in svc.entries("pets")[1])
    assert (folder / "cat" / "cat0.png").read_bytes() == (src / "cat" / "cat0.png").read_bytes()
    assert not (folder / "cat" / "cat0.png").stat().st_mode & 0o222
    svc.import_(fx.csv_file(tmp_path / "rows.csv"), "rows")
    assert svc.materialize_files("rows")[1].name == "rows.csv", "a one-file version gives the file"


def test_parquet_without_pyarrow_says_how_to_get_it(svc, tmp_path, monkeypatch):
    f = fx.parquet_file(tmp_path / "t.parquet")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # as if pyarrow were not installed
    with pytest.raises(DatasetError, match=r"needs pyarrow: install it \(pip install pyarrow\)"):
        svc.preview(f)


def test_job_spec_takes_a_dataset_by_name_and_version():
    base = {"name": "j", "model": {"builtin": "tiny-gpt2"}, "train": {"max_steps": 1}}
    spec = parse_spec({**base, "dataset": {"name": "corpus", "version": 2}})
    assert (spec.dataset.name, spec.dataset.version, spec.dataset.path) == ("corpus", 2, None)
    assert (
        parse_spec({**base, "dataset": {"name": "corpus", "version": "latest"}}).dataset.version == "latest"
    )
    for bad, msg in (({}, "give dataset.path"), ({"name": "a/b"}, "dataset.name"),
                     ({"name": "c", "path": "/x.txt"}, "not both"), ({"path": "/x", "version": 1}, "belong to"),
                     ({"name": "c", "version": 0}, "starts at 1")):  # fmt: skip
        with pytest.raises(SpecError, match=msg):
            parse_spec({**base, "dataset": bad})
