"""A blob under its hash name is always whole: a process killed while it writes one leaves only
a staging file (removed at the next start), never a torn blob that a later import would trust."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from trainer_runtime.datasets.blobs import BlobStore
from trainer_runtime.datasets.service import DatasetService
from trainer_runtime.store.store import Store

CHILD = """
import os, sys
from pathlib import Path
from trainer_runtime.datasets import blobs

def dying_write(fd, data):
    os.write(fd, bytes(data[: len(data) // 2]))
    os._exit(9)  # a crash: no finally, no clean-up

blobs._write_all = dying_write
store = blobs.BlobStore(Path(sys.argv[1]))
store.ensure()
data = Path(sys.argv[2]).read_bytes()
store.put_file(Path(sys.argv[2]), sys.argv[3], data=data)
"""


def test_a_crash_mid_write_leaves_no_blob_under_its_name(tmp_path: Path) -> None:
    src = tmp_path / "picture.bin"
    src.write_bytes(bytes(range(256)) * 4096)
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    root = tmp_path / "home" / "datasets"
    proc = subprocess.run([sys.executable, "-c", CHILD, str(root / "blobs"), str(src), sha], check=False)
    assert proc.returncode == 9
    blobs = BlobStore(root / "blobs")
    assert not blobs.has(sha), "a torn blob was left under its hash name"
    assert list((root / "blobs" / ".staging").iterdir()), "the half-written file should be in staging"

    store = Store(f"sqlite:///{tmp_path / 'home' / 'sparktrainer.db'}")
    try:
        DatasetService(root, store.engine).clean_leftovers()  # what the next start does
    finally:
        store.close()
    assert not (root / "blobs" / ".staging").exists()
    assert blobs.put_file(src, sha, data=src.read_bytes())
    assert hashlib.sha256(blobs.path(sha).read_bytes()).hexdigest() == sha


def test_storing_the_same_blob_twice_keeps_one_and_no_staging_file(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs").ensure()
    data = b"same bytes" * 1000
    sha = hashlib.sha256(data).hexdigest()
    assert blobs.put_bytes(data, sha) is True
    assert blobs.put_bytes(data, sha) is False
    assert blobs.path(sha).read_bytes() == data
    assert list((tmp_path / "blobs" / ".staging").iterdir()) == []
    assert blobs.existing() == {sha}
