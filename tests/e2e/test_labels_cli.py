"""Labels through the real CLI, client and daemon: a YOLO dataset imported with `datasets import`,
exported as COCO, imported back; saving labels over the API, drafts, bad shapes refused, and the
export report of a clipped box."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import cli
from tests.label_fixtures import make_yolo
from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.labels import LabelsView, SuggestionsView
from trainer_runtime.client.client import ApiError

pytestmark = pytest.mark.e2e


def cli_json(*args: str):
    return json.loads(cli(*args, "--json", check=True).stdout)


def _shapes(labels: LabelsView) -> dict[str, list]:
    return {im.path: [(s.kind, s.label, s.points) for s in im.annotation.shapes] for im in labels.images}


def test_yolo_to_coco_and_back_with_reports(daemon, tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_yolo(src, n_classes=30)
    with (src / "labels" / "img_01.txt").open("a", encoding="utf-8") as fh:
        fh.write("7 0.950000 0.500000 0.200000 0.200000\n")  # reaches past the right edge
    lines = (src / "labels" / "img_01.txt").read_text().count("\n")
    v1 = cli_json("datasets", "import", str(src), "--name", "boxes", "--format", "yolo")
    assert v1["version"] == 1

    out = cli_json("labels", "export", "boxes", "--format", "coco", "--out", str(tmp_path / "coco"))
    assert out["written"]["images"] == 12
    assert [(r["action"], r["file"], r["line"]) for r in out["report"]] == [
        ("clipped", "labels/img_01.txt", lines)
    ]
    doc = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    assert len(doc["categories"]) == 30 and doc["categories"][0] == {"id": 1, "name": "class_00"}

    back = cli_json("labels", "import", "boxes", str(tmp_path / "coco"), "--format", "coco")
    assert back["report"] == [] and back["version"]["version"] == 2
    first, second = daemon.labels("boxes", 1), daemon.labels("boxes", 2)
    assert second.classes.classes == first.classes.classes  # ids kept
    a, b = _shapes(first), _shapes(second)
    assert a.keys() == b.keys()
    for path in a:
        assert [(k, lbl) for k, lbl, _ in a[path]] == [(k, lbl) for k, lbl, _ in b[path]], path
        for (_, _, pa), (_, _, pb) in zip(a[path], b[path], strict=True):
            assert all(
                abs(x0 - x1) <= 0.005 and abs(y0 - y1) <= 0.005
                for (x0, y0), (x1, y1) in zip(pa, pb, strict=True)
            )
    image = next(im for im in second.images if im.path == "images/img_01.png")
    assert Path(image.blob).is_file() and image.annotation.w == 640

    # a box saved partly outside the image is clipped on export, and the report says so
    ann = image.annotation.model_dump(mode="json")
    ann["shapes"].append({"kind": "rect", "label": "class_03", "points": [[600, 300], [700, 400]]})
    daemon.labels_draft_put("boxes", 2, {image.path: ann})
    assert daemon.labels_draft("boxes").annotations[image.path] == ann
    v3 = daemon.labels_save("boxes", 2, {image.path: ann}, message="one more box")
    assert v3.version == 3 and daemon.labels_draft("boxes") is None
    text = cli(
        "labels", "export", "boxes", "--format", "yolo", "--out", str(tmp_path / "yolo"), check=True
    ).stdout
    assert f"clipped  images/img_01.png shape {len(ann['shapes'])} 'class_03'" in text
    assert "report: 0 skipped, 1 clipped" in text
    last = (tmp_path / "yolo" / "labels" / "img_01.txt").read_text().splitlines()[-1]
    assert last == "3 0.968750 0.950450 0.062500 0.099099"  # x 600..640, y 300..333 of 640 x 333

    # bad input: a two-point polygon is refused naming the image; an unknown job has no suggestions
    ann["shapes"].append({"kind": "polygon", "label": "class_03", "points": [[1, 1], [5, 5]]})
    with pytest.raises(ApiError) as err:
        daemon.labels_save("boxes", 3, {image.path: ann})
    assert (
        err.value.status == 400
        and "images/img_01.png" in err.value.message
        and "3 points" in err.value.message
    )
    missing = cli("labels", "import", "boxes", str(tmp_path / "nowhere"), "--format", "yolo")
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    with pytest.raises(ApiError) as err:
        daemon.job_suggestions("nope")
    assert err.value.status == 404


def test_job_suggestions_are_served_once_written(daemon, spec_file) -> None:
    import yaml

    spec = yaml.safe_load(spec_file(train={"max_steps": 2}).read_text())
    job = daemon.submit(spec)
    assert daemon.job_suggestions(job.id) is None  # not written yet: None (404 underneath)
    written = {"dataset": "boxes", "version": 1, "model": "/m", "kind": "boxes",
               "images": {"a.png": [{"kind": "rect", "label": "car", "score": 0.9, "points": [[1, 2], [3, 4]]}]}}  # fmt: skip
    job_dir = Path(daemon.job(job.id).job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / "suggestions.json").write_text(json.dumps(written), encoding="utf-8")
    assert daemon.job_suggestions(job.id) == parse(SuggestionsView, written)
    daemon.action(job.id, "cancel")
    assert daemon.labels_draft_delete("nothing-here") is False
