"""The image-classification and prelabel recipes in real worker subprocesses, and their checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.graph_helpers import make_image_folder
from tests.image_helpers import image_spec, tiny_vit_classifier, tiny_yolos_detector
from trainer_runtime.jobs.checks import check_inputs
from trainer_runtime.jobs.spec import SpecError, parse_spec
from trainer_runtime.worker.testing import (
    log_text,
    metric_series,
    read_events,
    run_paused_then_resumed,
    run_worker,
    write_job,
)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_image_folder(tmp_path_factory.mktemp("imgs") / "imgs", per_class=16)


def test_small_cnn_learns_and_final_reloads_for_inference(tmp_path: Path, images: Path) -> None:
    job = write_job(tmp_path / "job", image_spec(images))
    assert run_worker(job) == 0, log_text(job)
    events = read_events(job)
    assert events[-1]["type"] == "completed"
    acc = metric_series(events, "eval_accuracy")
    assert [s for s, _ in acc] == [0, 10, 20, 30]
    assert acc[-1][1] >= 0.75, acc  # 3 classes: chance is 1/3
    assert {"loss", "lr", "grad_norm", "eval_loss"} <= {
        k for e in events if e["type"] == "metrics" for k in e["values"]
    }
    final = job / "final"
    assert json.loads((final / "classes.json").read_text()) == ["checks", "horizontal", "vertical"]
    from trainer_runtime.worker.image_data import open_image
    from trainer_runtime.worker.image_models import load_classifier

    clf = load_classifier(final)
    paths = sorted(images.glob("*/*.png"))
    probs = clf.probabilities([open_image(p) for p in paths])
    predicted = [clf.classes[int(i)] for i in probs.argmax(dim=-1)]
    right = sum(pred == p.parent.name for pred, p in zip(predicted, paths, strict=True))
    assert right / len(paths) >= 0.75


def test_pause_and_resume_give_the_uninterrupted_curve(tmp_path: Path, images: Path) -> None:
    spec = image_spec(images, max_steps=6, eval_every=3, batch_size=8)
    ref = write_job(tmp_path / "ref", spec)
    assert run_worker(ref) == 0, log_text(ref)
    job = write_job(tmp_path / "job", spec)
    events = run_paused_then_resumed(job, paused_at=1)
    assert events[-1]["type"] == "completed"
    for key in ("loss", "eval_loss", "eval_accuracy"):
        assert metric_series(events, key) == metric_series(read_events(ref), key), key


def test_a_hugging_face_image_model_folder_trains_with_the_datasets_classes(
    tmp_path: Path, images: Path
) -> None:
    model = tiny_vit_classifier(tmp_path / "vit", num_labels=2)  # the dataset has 3 classes
    job = write_job(tmp_path / "job", image_spec(images, {"path": str(model)}, max_steps=4, eval_every=0))
    assert run_worker(job) == 0, log_text(job)
    assert read_events(job)[-1]["type"] == "completed"
    from transformers import AutoModelForImageClassification

    reloaded = AutoModelForImageClassification.from_pretrained(job / "final")
    assert reloaded.config.id2label == {0: "checks", 1: "horizontal", 2: "vertical"}
    assert (job / "final" / "preprocessor_config.json").is_file()
    assert json.loads((job / "final" / "image_classifier.json").read_text())["kind"] == "hf"


def test_bad_image_inputs_get_sentences(tmp_path: Path, images: Path) -> None:
    one = tmp_path / "one"
    shutil.copytree(images / "checks", one / "checks")
    with pytest.raises(SpecError, match="at least two classes with images; this dataset has 1: checks"):
        check_inputs(parse_spec(image_spec(one)))
    text = tmp_path / "c.txt"
    text.write_text("hello\n")
    with pytest.raises(SpecError, match="reads an image folder .* is not a folder"):
        check_inputs(parse_spec(image_spec(text)))
    with pytest.raises(SpecError, match="is an image model: use recipe 'image-classification'"):
        parse_spec({**image_spec(images), "recipe": "causal-lm"})
    with pytest.raises(SpecError, match="trains model.builtin 'small-cnn' or a local"):
        parse_spec(image_spec(images, {"builtin": "tiny-gpt2"}))
    with pytest.raises(SpecError, match="give dataset.name and version"):
        parse_spec(
            {"name": "p", "recipe": "prelabel", "model": {"path": "/m"}, "dataset": {"path": str(images)}}
        )
    broken = tmp_path / "broken"
    shutil.copytree(images, broken)
    (broken / "checks" / "000.png").write_bytes(b"not a png")
    job = write_job(tmp_path / "job", image_spec(broken, max_steps=2))
    assert run_worker(job) == 1
    error = json.loads((job / "error.json").read_text())["error"]
    assert "cannot read image" in error and "000.png" in error


def materialized(tmp_path: Path, images: Path, labels: dict[str, str | None]) -> Path:
    """The layout the daemon builds for a dataset version: files/ and labels.json beside it."""
    root = tmp_path / "version"
    shutil.copytree(images, root / "files")
    (root / "labels.json").write_text(json.dumps({"images": labels}))
    return root / "files"


def prelabel_spec(files: Path, model: Path, **opts) -> dict:
    return {
        "name": "pre", "recipe": "prelabel", "model": {"path": str(model)},
        "dataset": {"name": "shapes", "version": 2, "hash": "ab" * 32, "path": str(files)},
        "prelabel": opts, "train": {"max_steps": 1, "batch_size": 4},
    }  # fmt: skip


def test_detection_prelabel_visits_unlabeled_images_and_resumes_after_a_pause(
    tmp_path: Path, images: Path
) -> None:
    paths = sorted(p.relative_to(images).as_posix() for p in images.glob("*/*.png"))[:12]
    labels: dict[str, str | None] = {p: None for p in paths}
    labels[paths[0]] = "checks"  # a class name: labeled
    labels[paths[1]] = '{"h":16,"shapes":[],"status":"in_progress","tags":["checks"],"w":16}'  # labeled
    labels[paths[2]] = '{"h":16,"shapes":[],"status":"unlabeled","tags":[],"w":16}'  # unlabeled
    files = materialized(tmp_path, images, labels)
    detector = tiny_yolos_detector(tmp_path / "yolos")
    job = write_job(tmp_path / "job", prelabel_spec(files, detector))
    events = run_paused_then_resumed(job, paused_at=4)
    assert events[-1] == {**events[-1], "type": "completed", "step": 10}
    assert events[-1]["artifact"] == {"kind": "suggestions", "path": "suggestions.json"}
    assert [e["step"] for e in events if e["type"] == "progress"] == [4, 8, 10]
    doc = json.loads((job / "suggestions.json").read_text())
    assert (doc["dataset"], doc["version"], doc["kind"]) == ("shapes", 2, "boxes")
    assert sorted(doc["images"]) == sorted(paths[2:])
    for shapes in doc["images"].values():
        assert shapes, "min_score 0 keeps every detection token's box"
        for s in shapes:
            (x0, y0), (x1, y1) = s["points"]
            assert s["kind"] == "rect" and s["label"] in ("stripes", "checks") and 0 <= s["score"] <= 1
            assert 0 <= x0 < x1 <= 16 and 0 <= y0 < y1 <= 16


def test_prelabel_refuses_a_model_that_is_not_a_detector_or_classifier(tmp_path: Path, images: Path) -> None:
    vit = tiny_vit_classifier(tmp_path / "vit")
    files = materialized(tmp_path, images, {})
    with pytest.raises(SpecError, match="holds a ViTForImageClassification model; pre-labelling needs"):
        check_inputs(parse_spec(prelabel_spec(files, vit)))


def test_prelabel_spec_needs_no_train_section_and_takes_no_lora() -> None:
    spec = parse_spec(
        {
            "name": "p",
            "recipe": "prelabel",
            "model": {"path": "/m"},
            "dataset": {"name": "d", "version": "latest"},
        }
    )
    assert spec.method == "full" and spec.lora is None and spec.prelabel is None
    with pytest.raises(SpecError, match="'prelabel' settings belong to recipe 'prelabel'"):
        parse_spec({**image_spec("/d"), "prelabel": {"min_score": 0.5}})
    with pytest.raises(SpecError, match="'lora' settings do not apply to recipe 'image-classification'"):
        parse_spec({**image_spec("/d"), "lora": {"r": 4}})
