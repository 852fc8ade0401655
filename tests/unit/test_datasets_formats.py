"""One list of importable suffixes (trainer_runtime.datasets.formats), read by every place that
decides what a file is: the archive reader, the detector, the drop handler, the file dialog and
the image-folder checks of the training recipes. Three lists had drifted apart before."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparktrainer_gui.panels.datasets import drops
from trainer_runtime.architecture.dataset import IMAGE_SUFFIXES as TRAINING_IMAGE_SUFFIXES
from trainer_runtime.datasets import formats
from trainer_runtime.datasets.archives import ARCHIVE_SUFFIXES, is_archive
from trainer_runtime.datasets.detect import BY_SUFFIX


def test_the_readers_and_checks_use_the_one_list():
    assert ARCHIVE_SUFFIXES is formats.ARCHIVE_SUFFIXES
    assert BY_SUFFIX is formats.DATA_SUFFIXES
    assert TRAINING_IMAGE_SUFFIXES is formats.IMAGE_SUFFIXES
    assert {".tbz2", ".txz"} <= set(formats.ARCHIVE_SUFFIXES)
    assert {".tif", ".tiff"} <= set(formats.IMAGE_SUFFIXES)


@pytest.mark.parametrize(
    "suffix", [*formats.ARCHIVE_SUFFIXES, *formats.DATA_SUFFIXES, *formats.IMAGE_SUFFIXES]
)
def test_every_importable_file_is_taken_by_a_drop_and_offered_by_the_file_dialog(tmp_path: Path, suffix: str):
    f = tmp_path / f"photos{suffix.upper()}"
    f.write_bytes(b"x")
    assert drops.drop_problem(f) is None
    assert f"*{suffix}" in formats.file_dialog_filter()


def test_a_dropped_archive_is_named_without_its_suffix(tmp_path: Path):
    for name in ("scans.tbz2", "scans.tar.bz2", "scans.txz", "scans.TAR.XZ", "scans.zip"):
        f = tmp_path / name
        f.write_bytes(b"x")
        assert drops.default_name(f) == "scans", name
        assert is_archive(f), name
    notes = tmp_path / "notes.docx"
    notes.write_bytes(b"x")
    assert "notes.docx is not a dataset" in (drops.drop_problem(notes) or "")
    assert ".tbz2" in (drops.drop_problem(notes) or "")
