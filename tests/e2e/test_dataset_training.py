"""Training and pre-labelling on imported image datasets through the real CLI, daemon and
workers: image-classification (a small CNN and a Hugging Face model folder) and the graph
recipe on `dataset: {name, version}` with the version's hash on the job, then prelabel jobs
(the trained classifier's tags, a tiny detector's boxes) over unlabeled images.

(The causal-lm recipe on an imported text dataset is in test_datasets_cli.py.)"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.graph_helpers import image_cnn, make_image_folder
from tests.helpers import cli
from tests.image_helpers import tiny_vit_classifier, tiny_yolos_detector

pytestmark = pytest.mark.e2e
TRAIN = {"max_steps": 30, "batch_size": 16, "lr": 0.01, "eval_every": 10, "seed": 1}


def cli_json(*args: str):
    return json.loads(cli(*args, "--json", check=True).stdout)


def run_job(tmp_path: Path, spec: dict, state: str = "COMPLETED") -> dict:
    path = tmp_path / f"{spec['name']}.yaml"
    path.write_text(yaml.safe_dump(spec))
    job_id = cli("jobs", "submit", str(path), check=True).stdout.strip()
    job = json.loads(cli("jobs", "wait", job_id, "--timeout", "300", "--json", timeout=330).stdout)
    assert job["state"] == state, cli("jobs", "logs", job_id).stdout[-3000:]
    return job


def test_image_recipes_train_on_a_dataset_version_and_prelabel_its_unlabeled_images(daemon, tmp_path: Path):
    src = make_image_folder(tmp_path / "shapes", per_class=16)  # 3 classes of 16×16 PNGs
    v1 = cli_json("datasets", "import", str(src), "--name", "shapes")
    assert (v1["version"], v1["meta"]["format"]) == (1, "image-folder")
    (src / "checks" / "extra.png").write_bytes((src / "checks" / "000.png").read_bytes())
    cli_json("datasets", "import", str(src), "--name", "shapes")  # version 2 exists; the jobs pin 1
    spec = {
        "name": "cnn", "recipe": "image-classification", "model": {"builtin": "small-cnn"},
        "dataset": {"name": "shapes", "version": 1, "eval_fraction": 0.25}, "train": TRAIN,
    }  # fmt: skip
    job = run_job(tmp_path, spec)
    ds = job["spec"]["dataset"]
    assert (ds["name"], ds["version"], ds["hash"]) == ("shapes", 1, v1["manifest_hash"])
    assert cli("jobs", "show", job["id"], check=True).stdout.count(v1["manifest_hash"]) == 1
    assert job["metrics"]["eval_accuracy"]["last"] >= 0.75, job["metrics"]  # chance: 1/3
    final = Path(job["job_dir"]) / "final"
    assert json.loads((final / "classes.json").read_text()) == ["checks", "horizontal", "vertical"]

    graph = tmp_path / "cnn.json"
    image_cnn(classes=3).save(graph)
    graph_spec = {
        "name": "graph", "recipe": "graph", "model": {"graph": str(graph)},
        "dataset": {"name": "shapes", "version": 1, "eval_fraction": 0.25}, "train": {**TRAIN, "max_steps": 10},
    }  # fmt: skip
    gjob = run_job(tmp_path, graph_spec)
    assert gjob["spec"]["dataset"]["hash"] == v1["manifest_hash"]
    assert "eval_accuracy" in gjob["metrics"]

    flat = tmp_path / "flat"  # the same pictures without labels; the class is in the name
    flat.mkdir()
    for png in src.glob("*/0*.png"):
        shutil.copy(png, flat / f"{png.parent.name}-{png.name}")
    u1 = cli_json("datasets", "import", str(flat), "--name", "unlabeled")
    assert u1["meta"]["format"] == "image-flat"
    pre = {
        "name": "tags",
        "recipe": "prelabel",
        "model": {"path": str(final)},
        "dataset": {"name": "unlabeled"},
    }
    pjob = run_job(tmp_path, pre)
    assert pjob["spec"]["dataset"]["version"] == 1 and pjob["progress"] == 1.0
    doc = json.loads((Path(pjob["job_dir"]) / "suggestions.json").read_text())
    assert (doc["dataset"], doc["version"], doc["kind"], doc["model"]) == ("unlabeled", 1, "tags", str(final))
    assert len(doc["images"]) == 48
    right = sum(sugg[0]["label"] == path.split("-")[0] for path, sugg in doc["images"].items())
    assert right / 48 >= 0.75, right
    assert all(s[0]["kind"] == "tag" and 0 < s[0]["score"] <= 1 for s in doc["images"].values())


def test_detection_prelabel_and_a_hugging_face_classifier_on_datasets(daemon, tmp_path: Path):
    src = make_image_folder(tmp_path / "shapes", per_class=8)
    cli_json("datasets", "import", str(src), "--name", "shapes")
    vit = tiny_vit_classifier(tmp_path / "vit", num_labels=2, size=16)
    spec = {
        "name": "vit", "recipe": "image-classification", "model": {"path": str(vit)},
        "dataset": {"name": "shapes", "version": "latest"}, "train": {**TRAIN, "max_steps": 4, "eval_every": 0},
    }  # fmt: skip
    job = run_job(tmp_path, spec)
    assert json.loads((Path(job["job_dir"]) / "final" / "config.json").read_text())["id2label"] == {
        "0": "checks", "1": "horizontal", "2": "vertical",
    }  # fmt: skip
    detector = tiny_yolos_detector(tmp_path / "yolos")
    pre = {
        "name": "boxes", "recipe": "prelabel", "model": {"path": str(detector)},
        "dataset": {"name": "shapes", "version": 1}, "prelabel": {"only_unlabeled": False, "min_score": 0.1},
    }  # fmt: skip
    pjob = run_job(tmp_path, pre)
    doc = json.loads((Path(pjob["job_dir"]) / "suggestions.json").read_text())
    assert doc["kind"] == "boxes" and len(doc["images"]) == 24
    shapes = [s for found in doc["images"].values() for s in found]
    assert shapes
    for s in shapes:
        (x0, y0), (x1, y1) = s["points"]
        assert s["kind"] == "rect" and s["label"] in ("stripes", "checks") and 0.1 <= s["score"] <= 1
        assert 0 <= x0 < x1 <= 16 and 0 <= y0 < y1 <= 16
    kinds = {a.kind for a in daemon.artifacts(pjob["id"])}
    assert kinds == {"suggestions"}


def test_image_recipes_refuse_unfit_datasets_at_submit(daemon, tmp_path: Path):
    text = tmp_path / "texts"
    text.mkdir()
    (text / "a.txt").write_text("some words\n" * 20)
    cli_json("datasets", "import", str(text), "--name", "words")
    one = tmp_path / "one"
    make_image_folder(tmp_path / "three", per_class=2)
    shutil.copytree(tmp_path / "three" / "checks", one / "checks")
    cli_json("datasets", "import", str(one), "--name", "one-class")
    spec = {
        "name": "bad",
        "recipe": "image-classification",
        "model": {"builtin": "small-cnn"},
        "train": TRAIN,
    }
    path = tmp_path / "bad.yaml"
    for dataset, message in (
        ("words", "dataset 'words' version 1 is text data (text); this recipe needs an image dataset"),
        ("one-class", "needs at least two classes with images; this dataset has 1: checks"),
    ):
        path.write_text(yaml.safe_dump({**spec, "dataset": {"name": dataset}}))
        bad = cli("jobs", "submit", str(path))
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr
    assert cli_json("jobs", "list") == []


def tiff_class_folder(root: Path, per_class: int = 6) -> Path:
    """Two classes of small TIFF pictures (.tif and .tiff), made with Pillow."""
    from PIL import Image

    for c, (name, colour) in enumerate((("red", (220, 30, 30)), ("blue", (30, 30, 220)))):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            suffix = ".tif" if i % 2 else ".tiff"
            Image.new("RGB", (16, 16), tuple(max(0, v - 7 * i) for v in colour)).save(
                root / name / f"{c}{i:02d}{suffix}"
            )
    return root


def test_a_tiff_class_folder_imports_and_trains(daemon, tmp_path: Path):
    """One list of image suffixes (trainer_runtime.datasets.formats): the TIFF folder the
    importer takes is one the image-classification checks and worker take too, by name or path."""
    src = tiff_class_folder(tmp_path / "tiffs")
    v1 = cli_json("datasets", "import", str(src), "--name", "tiffs")
    assert (v1["meta"]["format"], v1["meta"]["item_count"], v1["meta"]["classes"]) == (
        "image-folder", 12, {"blue": 6, "red": 6})  # fmt: skip
    train = {"max_steps": 3, "batch_size": 4, "lr": 0.01, "eval_every": 3, "seed": 1}
    for dataset in ({"name": "tiffs", "version": 1}, {"path": str(src)}):
        spec = {
            "name": "tiff-cnn", "recipe": "image-classification", "model": {"builtin": "small-cnn"},
            "dataset": {**dataset, "eval_fraction": 0.25}, "train": train,
        }  # fmt: skip
        job = run_job(tmp_path, spec)
        final = Path(job["job_dir"]) / "final"
        assert json.loads((final / "classes.json").read_text()) == ["blue", "red"], dataset
