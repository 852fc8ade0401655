"""Hostile and bad input: each ends in a clear sentence, and storage (blob files, dataset rows,
staging folders) is exactly as before, existing versions included."""

from __future__ import annotations

import io
import json
import os
import random
import string
import tarfile
import warnings
import zipfile
from pathlib import Path

import pytest

from tests import dataset_fixtures as fx
from trainer_runtime.datasets.archives import Limits
from trainer_runtime.datasets.errors import DatasetError
from trainer_runtime.datasets.service import DatasetService
from trainer_runtime.store.store import Store


def make_service(home: Path, limits: Limits | None = None) -> tuple[Store, DatasetService]:
    home.mkdir(parents=True, exist_ok=True)
    store = Store(f"sqlite:///{home / 'sparktrainer.db'}")
    svc = DatasetService(home / "datasets", store.engine, **({"limits": limits} if limits else {}))
    return store, svc


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def svc(home: Path, tmp_path: Path):
    store, svc = make_service(home, Limits(max_total_bytes=200_000))
    svc.import_(fx.image_folder(tmp_path / "existing"), "existing")  # a version that must stay intact
    yield svc
    store.close()


def refused(svc: DatasetService, home: Path, source: Path, message: str, name: str = "new", **kw) -> None:
    before = fx.storage_snapshot(home)
    existing = svc.entries("existing")
    with pytest.raises(DatasetError, match=message):
        svc.import_(source, name, **kw)
    assert fx.storage_snapshot(home) == before, "storage changed after a refused import"
    assert svc.entries("existing") == existing and svc.verify("existing")["ok"]


def zip_with(path: Path, members: list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names; that is the point
        with zipfile.ZipFile(path, "w", compression) as zf:
            for name, data in members:
                zf.writestr(name, data)
    return path


def tar_with(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for m in members:
            payload = (data or {}).get(m.name)
            tf.addfile(m, io.BytesIO(payload) if payload is not None else None)
    return path


def file_info(name: str, data: bytes) -> tarfile.TarInfo:
    m = tarfile.TarInfo(name)
    m.size = len(data)
    return m


def link_info(name: str, target: str) -> tarfile.TarInfo:
    m = tarfile.TarInfo(name)
    m.type, m.linkname = tarfile.SYMTYPE, target
    return m


def test_zip_member_climbing_out(svc, home, tmp_path):
    z = zip_with(tmp_path / "a.zip", [("data/a.txt", b"hello\n"), ("../evil.txt", b"x\n")])
    refused(svc, home, z, r"climbs out of the archive \('\.\./evil\.txt'\)")
    assert not (home / "datasets" / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()


def test_zip_absolute_member(svc, home, tmp_path):
    z = zip_with(tmp_path / "a.zip", [("/tmp/abs-evil.txt", b"x\n")])
    refused(svc, home, z, r"absolute path \('/tmp/abs-evil.txt'\)")


def test_tar_symlink_out_of_the_tree(svc, home, tmp_path):
    t = tar_with(tmp_path / "a.tar.gz", [file_info("d/a.txt", b"hi\n"), link_info("d/pw.txt", "/etc/passwd")],
                 {"d/a.txt": b"hi\n"})  # fmt: skip
    refused(svc, home, t, r"link 'd/pw.txt' points to '/etc/passwd', outside the archive")
    t2 = tar_with(tmp_path / "b.tar.gz", [link_info("d/up.txt", "../../secret.txt")])
    refused(svc, home, t2, "outside the archive")


def test_folder_symlink_out_of_the_tree(svc, home, tmp_path):
    src = fx.text_corpus(tmp_path / "corpus")
    (tmp_path / "secret.txt").write_text("not yours\n")
    os.symlink(tmp_path / "secret.txt", src / "leak.txt")
    refused(svc, home, src, r"'leak.txt' is a symbolic link to .*secret.txt, outside the folder")


def test_zip_bomb_by_ratio(svc, home, tmp_path):
    z = zip_with(tmp_path / "bomb.zip", [("d/zeros.txt", b"0" * (4 << 20))])
    refused(svc, home, z, r"expands \d+× \(over 100×, a zip bomb\?\)")


def test_zip_bomb_by_total_size(svc, home, tmp_path):
    rnd = random.Random(0)
    members = [
        (f"d/{i}.txt", "".join(rnd.choices(string.ascii_letters, k=60_000)).encode()) for i in range(5)
    ]
    z = zip_with(tmp_path / "big.zip", members, zipfile.ZIP_STORED)
    refused(svc, home, z, r"unpacks to more than 195 KiB \(a zip bomb\?\)")


def test_duplicated_member_names(svc, home, tmp_path):
    z = zip_with(tmp_path / "dup.zip", [("d/a.txt", b"one\n"), ("d/a.txt", b"two\n")])
    refused(svc, home, z, r"holds the member 'd/a.txt' more than once")


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_truncated_archives(svc, home, tmp_path, kind):
    folder = fx.text_corpus(tmp_path / "src" / "c", files=3)
    rnd = random.Random(1)
    (folder / "noise.txt").write_text("".join(rnd.choices(string.ascii_letters + "\n", k=50_000)))
    full = (fx.zip_of if kind == "zip" else fx.tar_of)(folder, tmp_path / f"c.{kind}")
    cut = tmp_path / f"cut.{kind}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 2 // 3])
    refused(svc, home, cut, r"(truncated or damaged|not a readable)")


def test_undecodable_images(svc, home, tmp_path):
    src = fx.image_flat(tmp_path / "imgs", n=2)
    good = fx.jpeg(src / "photo.jpg", 7, size=64).read_bytes()
    (src / "photo.jpg").write_bytes(good[: len(good) // 2])  # Image.verify() would pass this
    (src / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    refused(svc, home, src, r"2 image\(s\) cannot be decoded \(junk.png: .*photo.jpg: .*truncated")


def test_coco_not_json_and_missing_keys(svc, home, tmp_path):
    src = fx.coco(tmp_path / "coco")
    (src / "annotations.json").write_text("{not json")
    refused(svc, home, src, r"COCO file 'annotations.json' is not valid JSON \(line 1, column 2")
    (src / "annotations.json").write_text(json.dumps({"images": [], "annotations": []}))
    refused(svc, home, src, r"misses the required key\(s\) categories", fmt="coco")


def test_yolo_label_with_wrong_columns(svc, home, tmp_path):
    src = fx.yolo(tmp_path / "yolo", {"a": "0 0.5 0.5 0.2 0.2\n", "b": "1 0.5 0.5 0.4 0.4\n0 0.1 0.2\n"})
    refused(svc, home, src, r"YOLO label file 'labels/b.txt', line 2: 3 columns; expected 5")


def test_csv_with_inconsistent_columns(svc, home, tmp_path):
    f = tmp_path / "rows.csv"
    f.write_text("id,text\n1,hello\n2,hello,extra\n")
    refused(svc, home, f, r"CSV file 'rows.csv', line 3: 3 columns, but the header has 2")


def test_non_utf8_text(svc, home, tmp_path):
    src = fx.text_corpus(tmp_path / "corpus")
    (src / "latin1.txt").write_bytes("line one\ncaf\xe9 au lait\n".encode("latin-1"))
    refused(svc, home, src, r"'latin1.txt' is not UTF-8 text \(bad byte 0xe9 on line 2\)")


@pytest.mark.parametrize(("name", "message"), [
    ("../escape", "looks like a path"), ("a/b", "looks like a path"), ("", "invalid dataset name"),
    ("bad name!", "invalid dataset name 'bad name!'"), (".hidden", "invalid dataset name"),
])  # fmt: skip
def test_bad_dataset_names(svc, home, tmp_path, name, message):
    refused(svc, home, fx.text_corpus(tmp_path / "corpus"), message, name=name)


def test_missing_source(svc, home, tmp_path):
    refused(svc, home, tmp_path / "nope", "nothing to import at .*nope: no such file or folder")


@pytest.fixture
def small_disk(tmpfs, tmp_path: Path) -> Path:
    """A real 2 MB tmpfs (needs root, as in CI containers)."""
    return tmpfs(tmp_path / "small-disk", "2m")


def test_disk_full_mid_import_is_rolled_back(small_disk, tmp_path):
    home = small_disk / "home"
    store, svc = make_service(home)
    try:
        svc.import_(fx.text_corpus(tmp_path / "small"), "existing")
        src = tmp_path / "big"
        src.mkdir()
        rnd = random.Random(2)
        for i in range(8):  # 8 × 300 KB of text does not fit in what is left of 2 MB
            (src / f"part{i}.txt").write_text("".join(rnd.choices(string.ascii_letters + "\n", k=300_000)))
        before = fx.storage_snapshot(home)
        with pytest.raises(
            DatasetError, match=r"the disk holding the data dir .* is full .*Nothing was stored"
        ):
            svc.import_(src, "big")
        assert fx.storage_snapshot(home) == before
        assert set(svc.blobs.all()) == {e.sha256 for e in svc.entries("existing")[1]}, (
            "no partial blob is left"
        )
        assert svc.verify("existing")["ok"]
    finally:
        store.close()


def test_archive_bigger_than_the_free_space_is_refused_before_extracting(small_disk, tmp_path):
    home = small_disk / "home"
    store, svc = make_service(home)
    try:
        svc.import_(fx.text_corpus(tmp_path / "small"), "existing")
        rnd = random.Random(3)
        text = "".join(rnd.choices(string.ascii_letters, k=1_500_000)).encode()
        z = zip_with(tmp_path / "big.zip", [("d/a.txt", text), ("d/b.txt", text[::-1])], zipfile.ZIP_STORED)
        before = fx.storage_snapshot(home)
        with pytest.raises(
            DatasetError, match=r"big.zip unpacks to 3 MiB but the disk holding the data dir has only"
        ):
            svc.import_(z, "big")
        assert fx.storage_snapshot(home) == before
    finally:
        store.close()


def test_non_utf8_file_names_are_refused_with_the_name_shown(svc, home, tmp_path):
    src = fx.text_corpus(tmp_path / "corpus")
    bad = os.fsencode(src) + b"/caf\xe9.txt"
    with open(bad, "wb") as fh:
        fh.write(b"text\n")
    refused(svc, home, src, r"the name of 'caf\\xe9.txt' is not UTF-8 text; rename it")
    refused(svc, home, Path(os.fsdecode(bad)), r"the name of 'caf\\xe9.txt' is not UTF-8 text")
