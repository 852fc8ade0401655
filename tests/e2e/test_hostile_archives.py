"""Hostile archives, pictures and text through a real daemon: each is detected and imported over
the socket and ends in a clear sentence (never a 500, a repr, a NUL or a traceback), nothing is
stored, and the daemon's peak memory (VmHWM, its whole life) stays under 500 MB. One daemon
serves the module, so the bound holds for all of them together."""

from __future__ import annotations

import io
import os
import re
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import dataset_fixtures as fx
from tests import hostile_files as hf
from tests.helpers import daemon_pid, peak_rss_mb, start_import, stop_everything, wait_import
from trainer_runtime.client.client import ApiError, Client
from trainer_runtime.datasets.tasks import ImportState

pytestmark = pytest.mark.e2e
PEAK_MB = 500


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Client, Path]]:
    from trainer_runtime.client.client import start_daemon
    from trainer_runtime.paths import DataDir

    home = tmp_path_factory.mktemp("hostile") / "home"
    saved = os.environ.get("SPARKTRAINER_HOME")
    os.environ["SPARKTRAINER_HOME"] = str(home)
    try:
        data = DataDir(home.resolve()).ensure()
        start_daemon(data)
        client = Client(data, timeout=300)
        src = fx.image_folder(tmp_path_factory.mktemp("existing") / "pets")
        assert wait_import(client, start_import(client, src, "existing")).state is ImportState.COMPLETED
        yield client, home
    finally:
        stop_everything(home)
        if saved is None:
            os.environ.pop("SPARKTRAINER_HOME", None)
        else:
            os.environ["SPARKTRAINER_HOME"] = saved


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path


def sentence(text: Any) -> str:
    """``text`` is a sentence fit to show: no repr, NUL, control character or traceback."""
    assert isinstance(text, str) and 10 < len(text) < 800, text
    assert text.isprintable(), f"control characters in {text[:200]!r}"
    for bad in ("object at 0x", "Traceback", "internal error", "Error(", "DecompressionBomb"):
        assert bad not in text, text
    return text


def storage(home: Path) -> tuple[set[str], list[str]]:
    blobs = {p.name for p in (home / "datasets" / "blobs").rglob("*") if p.is_file()}
    tmp = home / "datasets" / "tmp"
    return blobs, sorted(os.listdir(tmp)) if tmp.is_dir() else []


def within_memory(home: Path) -> None:
    peak = peak_rss_mb(daemon_pid(home))
    assert peak < PEAK_MB, f"the daemon's peak memory is {peak:.0f} MB"


def detect(client: Client, path: Path) -> tuple[int, Any]:
    try:
        return 200, client.dataset_detect(str(path))
    except ApiError as err:
        return err.status, err.message


def refused(served: tuple[Client, Path], path: Path, message: str, detect_status: int = 400) -> None:
    """Detect answers ``detect_status`` (a sentence when 400), the import fails with a sentence
    matching ``message``, nothing is stored, and the daemon's memory stayed bounded."""
    client, home = served
    before, names = storage(home), [d.name for d in client.datasets()]
    status, answer = detect(client, path)
    assert status == detect_status, answer
    if status == 400:
        assert re.search(message, sentence(answer)), answer
    task = wait_import(client, start_import(client, path, "hostile"))
    assert task.state is ImportState.FAILED, task
    assert re.search(message, sentence(task.error or "")), task.error
    assert storage(home) == before, "a refused import left something behind"
    assert [d.name for d in client.datasets()] == names
    within_memory(home)


# ---------------------------------------------------------------------------- archives
def test_zip_symlink_member_is_refused_by_its_header(served, work):
    bomb = hf.zip_symlink_bomb(work / "link.zip", 256 * hf.MiB)  # 256 MB of zeros in 0.3 MB
    refused(served, bomb, r"link 'd/link.txt' has a target of more than 4,096 bytes")


def test_tar_with_300000_members_stops_at_the_member_limit(served, work):
    t0 = time.monotonic()
    many = hf.many_member_tar(work / "many.tar.gz", 300_000)
    refused(served, many, r"many.tar.gz holds more than 100,000 members")
    assert time.monotonic() - t0 < 120


def test_zip_claiming_200000_members_is_refused_before_its_directory_is_read(served, work):
    refused(served, hf.zip_claiming_members(work / "claims.zip", 200_000), r"holds more than 100,000 members")


def test_tar_holding_a_file_and_a_folder_of_the_same_name(served, work):
    for order in ("file-first", "folder-first"):
        members = [(hf.member("d/a"), b"a file\n"), (hf.member("d/a/b.txt"), b"inside\n")]
        tar = hf.tar_of_members(work / f"{order}.tar.gz", members if order == "file-first" else members[::-1])
        refused(served, tar, r"holds both a file and a folder named 'd/a'")


def test_non_utf8_member_names(served, work):
    tar = work / "latin1.tar"
    with tarfile.open(tar, "w", format=tarfile.GNU_FORMAT, encoding="latin-1") as tf:
        info = tarfile.TarInfo("d/café.txt")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"x\n"))
    refused(served, tar, r"member whose name is not UTF-8 \('d/caf\\xe9.txt'\)")
    refused(served, hf.zip_with_bad_utf8_name(work / "bad.zip"), r"marked as UTF-8 but is not")


def test_non_utf8_file_name_in_a_folder(served, work):
    src = fx.text_corpus(work / "corpus")
    os.close(os.open(os.fsencode(src) + b"/caf\xe9.txt", os.O_CREAT | os.O_WRONLY, 0o644))
    refused(served, src, r"the name of 'caf\\xe9.txt' is not UTF-8 text")


def test_hard_links_that_would_copy_far_more_than_the_archive(served, work):
    data = os.urandom(hf.MiB)
    members = [(hf.member("d/big.bin"), data)]
    members += [(hf.member(f"d/copy{i}.bin", tarfile.LNKTYPE, "d/big.bin"), None) for i in range(500)]
    refused(served, hf.tar_of_members(work / "links.tar.gz", members), r"expands at least \d+× \(over 100×")


def test_tar_member_header_too_long_to_be_a_name(served, work):
    members = [(hf.member("d/" + "n" * (2 * hf.MiB)), b"x\n")]  # a GNU long name of 2 MB
    refused(
        served,
        hf.tar_of_members(work / "longname.tar.gz", members),
        r"holds a member header of more than 1 MiB",
    )


@pytest.mark.parametrize(
    ("name", "members", "message"),
    [
        ("climb.zip", [("../evil.txt", b"x\n")], r"climbs out of the archive \('\.\./evil\.txt'\)"),
        ("abs.zip", [("/tmp/abs-evil.txt", b"x\n")], r"absolute path \('/tmp/abs-evil.txt'\)"),
        (
            "dup.zip",
            [("d/a.txt", b"one\n"), ("d/a.txt", b"two\n")],
            r"holds the member 'd/a.txt' more than once",
        ),
        ("ratio.zip", [("d/zeros.txt", b"0" * (64 * hf.MiB))], r"expands \d+× \(over 100×, a zip bomb\?\)"),
    ],
)
def test_zip_members_refused_by_header(served, work, name, members, message):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about a duplicate name: that is the point
        with zipfile.ZipFile(work / name, "w", zipfile.ZIP_DEFLATED) as zf:
            for member_name, payload in members:
                zf.writestr(member_name, payload)
    refused(served, work / name, message)


def test_tar_symlink_out_of_the_tree(served, work):
    members = [(hf.member("d/a.txt"), b"hi\n"), (hf.member("d/pw.txt", tarfile.SYMTYPE, "/etc/passwd"), None)]
    refused(
        served,
        hf.tar_of_members(work / "out.tar.gz", members),
        r"points to '/etc/passwd', outside the archive",
    )


# ---------------------------------------------------------------------------- pictures
def test_png_declaring_40000_by_40000_pixels(served, work):
    client, home = served
    src = work / "bomb"
    src.mkdir()
    hf.png_declaring(src / "bomb.png", 40_000, 40_000, rows=1)
    status, answer = detect(client, src)  # detect reads headers only: the sample says why
    assert status == 200, answer
    assert "40,000 × 40,000 pixels" in sentence(answer.image_samples[0].error or "")
    refused(
        served,
        src,
        r"'bomb.png' is 40,000 × 40,000 pixels \(1,600 megapixels\), more than the 178,956,970",
        200,
    )


def test_10000_by_10000_pictures_import_with_bounded_memory(served, work):
    client, home = served
    src = work / "large"
    src.mkdir()
    hf.png_declaring(src / "big.png", 10_000, 10_000)
    hf.jpeg_of_size(src / "big.jpg", 10_000, 10_000)
    task = wait_import(client, start_import(client, src, "large"))
    assert task.state is ImportState.COMPLETED, task
    q = client.dataset_quality("large")
    assert q.summary.undecodable == 0 and [n.path for n in q.not_compared] == ["big.png"]
    within_memory(home)
    hf.png_declaring(src / "big.png", 10_000, 10_000, rows=9_000)  # cut short: found by the stream check
    task = wait_import(client, start_import(client, src, "large"))
    assert task.state is ImportState.FAILED and "big.png: the image file is truncated" in sentence(
        task.error or ""
    )
    within_memory(home)


def test_undecodable_pictures_are_named_without_reprs(served, work):
    src = fx.image_flat(work / "imgs", n=2)
    good = fx.jpeg(src / "photo.jpg", 7, size=64).read_bytes()
    (src / "photo.jpg").write_bytes(good[: len(good) // 2])
    (src / "junk.png").write_bytes(b"not a picture at all")  # Pillow's error named a BytesIO repr
    refused(served, src, r"2 image\(s\) cannot be decoded \(junk.png: not a picture Pillow can read", 200)


# ---------------------------------------------------------------------------- text
def test_a_200_kb_csv_field_is_accepted(served, work):
    client, _ = served
    f = work / "field.csv"
    f.write_text("id,text\n1," + "a" * 200_000 + "\n2,short\n")
    task = wait_import(client, start_import(client, f, "wide"))
    assert task.state is ImportState.COMPLETED, task
    assert task.version.item_count == 2


def test_a_line_longer_than_the_record_limit_is_refused(served, work):
    long = hf.long_line_text(work / "long.txt", 20 * hf.MiB)
    refused(served, long, r"'long.txt', line 2 is longer than 16 MiB, the most one record may be")


def test_deeply_nested_json_is_refused_with_a_sentence(served, work):
    coco = fx.coco(work / "coco")
    (coco / "annotations.json").write_text("[" * 100_000 + "]" * 100_000)
    refused(served, coco, r"COCO file 'annotations.json' nests too deeply")
    deep = work / "deep.jsonl"
    deep.write_text('{"text": "fine"}\n' + '{"a": ' * 50_000 + "1" + "}" * 50_000 + "\n")
    refused(served, deep, r"JSONL file 'deep.jsonl', line 2 nests too deeply")
