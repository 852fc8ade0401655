"""Label exports: never into the data dir, never over a folder of the user's, an earlier export
replaced only when asked, and a failed export (a real full tmpfs) leaves nothing behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import dataset_fixtures as fx
from trainer_runtime.datasets.service import DatasetService
from trainer_runtime.labeling.service import LabelService
from trainer_runtime.labeling.shapes import LabelError
from trainer_runtime.store.store import Store


@pytest.fixture
def labels(tmp_path: Path) -> Iterator[LabelService]:
    home = tmp_path / "home"
    home.mkdir()
    store = Store(f"sqlite:///{home / 'sparktrainer.db'}")
    svc = LabelService(DatasetService(home / "datasets", store.engine), data_dir=home)
    svc.ds.import_(fx.image_folder(tmp_path / "pics"), "pics")
    yield svc
    store.close()


@pytest.fixture
def tiny_tmpfs(tmpfs, tmp_path: Path) -> Path:
    return tmpfs(tmp_path / "small", "8k")


def test_no_export_into_the_data_dir(labels: LabelService, tmp_path: Path) -> None:
    home = tmp_path / "home"
    blobs = sorted(p for p in (home / "datasets").rglob("*"))
    for out in (home, home / "datasets" / "blobs", home / "datasets" / "blobs" / "new", home / "jobs" / "x"):
        with pytest.raises(LabelError, match="inside SparkTrainer's data dir"):
            labels.export("pics", "latest", "coco", out)
    (tmp_path / "link").symlink_to(home / "datasets")
    with pytest.raises(LabelError, match="inside SparkTrainer's data dir"):
        labels.export("pics", "latest", "coco", tmp_path / "link" / "out")
    with pytest.raises(LabelError, match="holds it"):
        labels.export("pics", "latest", "coco", tmp_path, force=True)
    assert sorted(p for p in (home / "datasets").rglob("*")) == blobs


def test_only_new_empty_or_earlier_exports(labels: LabelService, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    with pytest.raises(LabelError, match="not empty"):
        labels.export("pics", "latest", "coco", mine)
    with pytest.raises(LabelError, match="not an earlier SparkTrainer export"):
        labels.export("pics", "latest", "coco", mine, force=True)
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]
    empty = tmp_path / "empty"
    empty.mkdir()
    out = labels.export("pics", "latest", "coco", empty)
    assert out["written"]["out"] == str(empty) and (empty / "annotations.json").is_file()
    with pytest.raises(LabelError, match="--force"):
        labels.export("pics", "latest", "yolo", empty)
    labels.export("pics", "latest", "yolo", empty, force=True)
    assert (empty / "data.yaml").is_file() and not (empty / "annotations.json").exists()
    assert f"path: {empty}" in (empty / "data.yaml").read_text()  # the final folder, not the temporary one
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_failed_export_leaves_nothing(labels: LabelService, tiny_tmpfs: Path) -> None:
    with pytest.raises(LabelError, match="No space left on device.*nothing was written there"):
        labels.export("pics", "latest", "coco", tiny_tmpfs / "out")
    assert list(tiny_tmpfs.iterdir()) == []
