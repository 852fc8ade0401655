"""Detection, preview and import of every format, archives included; cheap re-imports."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from tests import dataset_fixtures as fx
from trainer_runtime.datasets.errors import DatasetError, ImportCancelled

FORMATS = [
    ("image-folder", "image", lambda d: fx.image_folder(d / "pets"), 5, {"cat": 3, "dog": 2}, 5),
    ("image-flat", "image", lambda d: fx.image_flat(d / "flat"), 4, {}, 4),
    ("coco", "image", lambda d: fx.coco(d / "coco"), 3, {"car": 2, "person": 1}, 4),
    ("yolo", "image", lambda d: fx.yolo(d / "yolo"), 2, {"car": 1, "person": 2}, 5),
    ("csv", "text", lambda d: fx.csv_file(d / "rows.csv"), 5, {}, 1),
    ("jsonl", "text", lambda d: fx.jsonl_file(d / "docs.jsonl"), 5, {}, 1),
    ("parquet", "text", lambda d: fx.parquet_file(d / "t.parquet"), 5, {}, 1),
    ("text", "text", lambda d: fx.text_corpus(d / "corpus"), 80, {}, 2),
]


@pytest.mark.parametrize(("fmt", "modality", "make", "items", "classes", "files"), FORMATS)
def test_each_format_is_detected_previewed_and_imported(
    svc, tmp_path, fmt, modality, make, items, classes, files
):
    src = make(tmp_path / "src")
    pv = svc.preview(src)
    assert (pv["format"], pv["modality"], pv["items"], pv["classes"], pv["files"]) == (
        fmt, modality, items, classes, files,
    )  # fmt: skip
    assert pv["samples"], "a preview shows some samples"
    v = svc.import_(src, "ds")
    assert (v.number, v.file_count, v.meta["format"], v.meta["item_count"]) == (1, files, fmt, items)
    info, entries = svc.entries("ds")
    assert len(entries) == files and all(svc.blobs.has(e.sha256) for e in entries)
    assert svc.verify("ds")["ok"]


@pytest.mark.parametrize("packer", [fx.zip_of, fx.tar_of])
@pytest.mark.parametrize(
    ("fmt", "make"), [("yolo", fx.yolo), ("image-folder", fx.image_folder), ("text", fx.text_corpus)]
)
def test_archives_of_any_format_import_like_the_folder(svc, tmp_path, packer, fmt, make):
    folder = make(tmp_path / "src" / "data")
    archive = packer(folder, tmp_path / ("data.zip" if packer is fx.zip_of else "data.tar.gz"))
    assert svc.preview(archive)["format"] == fmt
    a = svc.import_(folder, "from-folder")
    b = svc.import_(archive, "from-archive")
    assert a.manifest_hash == b.manifest_hash
    assert not list((svc.root / "tmp").iterdir()), "the extracted archive is removed"


def test_user_can_override_format_and_modality(svc, tmp_path):
    src = fx.image_folder(tmp_path / "pets")
    pv = svc.preview(src, fmt="image-flat", modality="tabular")
    assert (pv["format"], pv["modality"], pv["classes"]) == ("image-flat", "tabular", {})
    assert svc.import_(src, "pets", fmt="image-flat").meta["format"] == "image-flat"


def test_blobs_are_content_addressed_read_only_and_shared(svc, tmp_path):
    src = fx.image_folder(tmp_path / "pets")
    svc.import_(src, "pets")
    _, entries = svc.entries("pets")
    e = entries[0]
    blob = svc.blobs.path(e.sha256)
    assert blob.parent.name == e.sha256[:2] and blob.name == e.sha256[2:]
    assert not blob.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH | stat.S_IROTH)
    # by default a blob never shares its inode with the user's file (an edit cannot reach it)
    assert blob.stat().st_ino != (src / e.path).stat().st_ino
    assert (src / e.path).stat().st_mode & stat.S_IWUSR, "the user's file is left as it was"
    before = sorted(svc.blobs.all())
    svc.import_(fx.image_folder(tmp_path / "copy"), "copy")  # same pictures, other files
    assert sorted(svc.blobs.all()) == before, "equal content is stored once"
    linked = fx.image_flat(tmp_path / "linked", n=2)
    for f in linked.iterdir():
        os.chmod(f, 0o440)  # already read-only and private: linking changes nothing about them
    svc.import_(linked, "linked", link=True)  # asked for: hard links, no bytes copied
    _, entries = svc.entries("linked")
    assert svc.blobs.path(entries[0].sha256).stat().st_ino == (linked / entries[0].path).stat().st_ino


def test_second_import_of_an_unchanged_folder_reads_nothing(svc, tmp_path):
    """The stat cache: (path, size, mtime_ns, inode) equal to the last import → hash reused."""
    src = fx.text_corpus(tmp_path / "corpus")
    v1 = svc.import_(src, "c", link=False)
    part = src / "part0.txt"
    st = part.stat()
    # Same size, same mtime, same inode, different bytes: only a re-read would notice.
    with open(part, "r+b") as fh:
        fh.write(b"LINE")
    os.utime(part, ns=(st.st_atime_ns, st.st_mtime_ns))
    v2 = svc.import_(src, "c", link=False)
    assert v2.manifest_hash == v1.manifest_hash, "the unchanged stat key skipped hashing"
    assert v2.number == 1 and len(svc.versions("c")) == 1, "nothing changed: no new version"
    os.utime(part, ns=(st.st_atime_ns, st.st_mtime_ns + 1000))  # now the key differs
    v3 = svc.import_(src, "c", link=False)
    assert v3.manifest_hash != v1.manifest_hash and v3.number == 2
    assert svc.diff("c", 1, 2)["changed"] == ["part0.txt"]


def test_progress_is_reported_and_cancel_leaves_nothing(svc, tmp_path):
    src = fx.image_flat(tmp_path / "flat", n=30)
    seen: list[tuple[str, int, int]] = []
    svc.import_(src, "flat", progress=lambda *a: seen.append(a))
    assert ("store", 30, 30) in seen and seen[-1][0] == "commit"
    before = fx.storage_snapshot(svc.root.parent)
    cancel = threading.Event()

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "store" and done >= 1:
            cancel.set()

    other = fx.image_flat(tmp_path / "other", n=0)
    for i in range(30):
        fx.png(other / f"o{i}.png", 5000 + i)
    with pytest.raises(ImportCancelled, match="cancelled; nothing was stored"):
        svc.import_(other, "other", progress=progress, cancel=cancel, link=False)
    assert fx.storage_snapshot(svc.root.parent) == before


def test_preview_refuses_unknown_mixtures_with_a_hint(svc, tmp_path):
    d = tmp_path / "mixed"
    d.mkdir()
    (d / "a.txt").write_text("x")
    (d / "b.csv").write_text("a\n1\n")
    with pytest.raises(DatasetError, match=r"cannot tell the format .*--format"):
        svc.preview(d)
    with pytest.raises(DatasetError, match="unknown format 'foo'"):
        svc.preview(d, fmt="foo")
