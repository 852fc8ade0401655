"""What untrusted input costs: each call runs in a fresh child process (its ``ru_maxrss`` is the
peak of that call alone, after a warm-up that loads the same code) and must grow the peak by
far less than the input would expand to. And the limits behind it: text records, CSV fields,
pictures over the pixel limit, the member limit, all refused or accepted with a sentence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests import dataset_fixtures as fx
from tests import hostile_files as hf
from tests.helpers import ROOT
from trainer_runtime.datasets.archives import Limits
from trainer_runtime.datasets.errors import DatasetError
from trainer_runtime.datasets.service import DatasetService
from trainer_runtime.store.store import Store

CHILD = """
import json, resource, sys
from pathlib import Path
from trainer_runtime.datasets.service import DatasetService
from trainer_runtime.store.store import Store

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

work, warm, big, ops = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4].split(",")
store = Store(f"sqlite:///{work / 'db.sqlite'}")
svc = DatasetService(work / "datasets", store.engine)
svc.preview(warm); svc.import_(warm, "warm"); svc.quality("warm")  # the same code, loaded and used
base, out = peak(), {}
for op in ops:
    try:
        if op == "preview":
            svc.preview(big)
        elif op == "import":
            svc.import_(big, "big")
        elif op == "quality":
            svc.quality("big")
        out[op] = "ok"
    except Exception as err:
        out[op] = f"{type(err).__name__}: {err}"[:300]
out["grown_mb"] = peak() - base
print(json.dumps(out))
"""


def measured(tmp_path: Path, warm: Path, big: Path, ops: str = "preview,import,quality") -> dict:
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD))
    work = tmp_path / "child-home"
    work.mkdir()
    proc = subprocess.run(
        [sys.executable, str(script), str(work), str(warm), str(big), ops],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_big_csv_costs_about_its_longest_record_not_its_size(tmp_path):
    warm = hf.many_lines_csv(tmp_path / "src" / "warm.csv", 1 << 20)
    big = hf.many_lines_csv(tmp_path / "src" / "big.csv", 48 * hf.MiB)
    got = measured(tmp_path, warm, big)
    assert (got["preview"], got["import"], got["quality"]) == ("ok", "ok", "ok"), got
    assert got["grown_mb"] < 40, f"a 48 MB CSV of short rows grew the peak by {got['grown_mb']:.0f} MB"


def test_10000_by_10000_pictures_are_checked_with_bounded_memory(tmp_path):
    warm = fx.image_flat(tmp_path / "warm", n=2)
    fx.jpeg(warm / "photo.jpg", 3, size=64)
    big = tmp_path / "big"
    big.mkdir()
    hf.png_declaring(big / "big.png", 10_000, 10_000)
    hf.jpeg_of_size(big / "big.jpg", 10_000, 10_000)
    got = measured(tmp_path, warm, big)
    assert (got["preview"], got["import"], got["quality"]) == ("ok", "ok", "ok"), got
    # decoded whole, each is 400 MB (Pillow keeps RGB in 32 bits)
    assert got["grown_mb"] < 120, f"two 10,000 × 10,000 pictures grew the peak by {got['grown_mb']:.0f} MB"


def test_a_zip_symlink_is_not_read_whole(tmp_path):
    warm = fx.zip_of(fx.text_corpus(tmp_path / "src" / "warm"), tmp_path / "warm.zip")
    bomb = hf.zip_symlink_bomb(tmp_path / "link.zip", 256 * hf.MiB)
    got = measured(tmp_path, warm, bomb, "preview,import")
    assert "has a target of more than 4,096 bytes" in got["import"], got
    assert "\\u0000" not in json.dumps(got) and got["grown_mb"] < 20, got


# ---------------------------------------------------------------------------- limits
@pytest.fixture
def svc(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    store = Store(f"sqlite:///{home / 'sparktrainer.db'}")
    yield DatasetService(home / "datasets", store.engine, Limits(max_record_bytes=1 << 20, max_members=50))
    store.close()


def test_text_records_are_bounded_and_csv_fields_may_be_large(svc, tmp_path):
    wide = tmp_path / "wide.csv"
    wide.write_text('id,text\n1,"' + "a" * 200_000 + '"\n2,"two\nlines"\n')
    v = svc.import_(wide, "wide")
    assert v.meta["item_count"] == 2 and svc.materialize_text("wide")[1].stat().st_size > 200_000
    with pytest.raises(
        DatasetError, match=r"'long.txt', line 2 is longer than 1 MiB, the most one record may be"
    ):
        svc.import_(hf.long_line_text(tmp_path / "long.txt", 2 * hf.MiB), "long")
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('id,text\n1,"' + "many short lines\n" * 100_000 + '"\n')
    with pytest.raises(
        DatasetError, match=r"'quoted.csv', the record starting on line 2 is longer than 1 MiB"
    ):
        svc.import_(quoted, "quoted")


def test_a_multi_file_corpus_is_written_a_chunk_at_a_time(svc, tmp_path):
    src = tmp_path / "docs"
    src.mkdir()
    (src / "a.txt").write_text('quotes " and \\ backslashes\r\nand a tab\there\n' * 40_000)
    (src / "b.txt").write_text("   \n\n")  # blank: no document
    (src / "c.txt").write_text("é ünïcode ✓\n")
    svc.import_(src, "docs")
    lines = svc.materialize_text("docs")[1].read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["text"] for line in lines] == [
        (src / "a.txt").read_text(encoding="utf-8"),
        "é ünïcode ✓\n",
    ]


def test_pictures_over_the_pixel_limit_are_refused_before_decoding(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    store = Store(f"sqlite:///{home / 'sparktrainer.db'}")
    svc = DatasetService(home / "datasets", store.engine, Limits(max_image_pixels=1_000_000))
    try:
        src = fx.image_flat(tmp_path / "imgs", n=2)
        hf.png_declaring(src / "wide.png", 2_000, 1_000, rows=1)
        pv = svc.preview(src)
        assert any("'wide.png' is 2,000 × 1,000 pixels" in s.get("error", "") for s in pv["samples"]), pv
        with pytest.raises(
            DatasetError,
            match=r"'wide.png' is 2,000 × 1,000 pixels \(2 megapixels\), more than the 1,000,000",
        ):
            svc.import_(src, "imgs", keep_corrupt=True)
        assert svc.list_datasets() == []
    finally:
        store.close()


def test_the_member_limit_is_configurable(svc, tmp_path):
    many = hf.many_member_tar(tmp_path / "many.tar.gz", 51)
    with pytest.raises(DatasetError, match=r"many.tar.gz holds more than 50 members"):
        svc.import_(many, "many")
    assert svc.import_(hf.many_member_tar(tmp_path / "fifty.tar.gz", 50), "fifty").file_count == 50
