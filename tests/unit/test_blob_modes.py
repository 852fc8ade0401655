"""Stored files are read-only and private as the umask allows (0440 or 0400, never
world-readable), the datasets tree is 0700, and ``--link`` never changes a source file's mode or
owner: a file is linked only when its mode already is what a blob gets, else it is copied."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import dataset_fixtures as fx
from trainer_runtime.datasets.service import DatasetService
from trainer_runtime.store.store import Store


@pytest.fixture
def umask() -> Iterator:
    """Set the process umask for one test (tests here make no threads of their own meanwhile)."""
    old = os.umask(0o022)
    os.umask(old)

    def _set(mask: int) -> None:
        os.umask(mask)

    yield _set
    os.umask(old)


def service(home: Path) -> tuple[Store, DatasetService]:
    home.mkdir(parents=True, exist_ok=True)
    store = Store(f"sqlite:///{home / 'sparktrainer.db'}")
    return store, DatasetService(home / "datasets", store.engine)


def mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]


@pytest.mark.parametrize(
    ("mask", "expected"),
    [(0o022, 0o440), (0o002, 0o440), (0o077, 0o400)],
    ids=["umask022", "umask002", "umask077"],
)
def test_blobs_and_materialized_files_follow_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    store, svc = service(tmp_path / "home")
    try:
        svc.import_(fx.text_corpus(tmp_path / "corpus", files=2), "corpus")  # copied blobs
        svc.import_(fx.tar_of(fx.image_folder(tmp_path / "pets"), tmp_path / "pets.tar.gz"), "pets")  # linked
        _, corpus = svc.materialize_text("corpus")  # written .jsonl
        _, files = svc.materialize_images("pets")  # links, and labels.json
    finally:
        store.close()
    blobs = stored_files(svc.blobs.root)
    made = stored_files(svc.materialized)
    assert blobs and made and corpus in made and (files.parent / "labels.json") in made
    assert {p.name: mode(p) for p in blobs + made} == {p.name: expected for p in blobs + made}
    assert mode(svc.root) == 0o700, "the datasets tree is private"
    for folder in [svc.blobs.root, *svc.blobs.root.iterdir(), svc.materialized, files.parent, files]:
        assert not mode(folder) & 0o077, f"{folder} is open to others"


def test_an_existing_open_datasets_folder_is_made_private(tmp_path):
    root = tmp_path / "home" / "datasets"
    root.mkdir(parents=True)
    os.chmod(root, 0o755)  # as made before this rule
    store, _ = service(tmp_path / "home")
    store.close()
    assert mode(root) == 0o700


@pytest.mark.parametrize(
    ("source_mode", "linked"),
    [(0o600, False), (0o644, False), (0o640, False), (0o440, True), (0o400, True)],
    ids=["0600", "0644", "0640", "0440", "0400"],
)
def test_link_never_changes_a_source_files_mode(tmp_path, umask, source_mode, linked):
    umask(0o022)
    src = tmp_path / "mine"
    src.mkdir()
    f = src / "notes.txt"
    f.write_text("a private note\n")
    os.chmod(f, source_mode)
    before = os.stat(f)
    store, svc = service(tmp_path / "home")
    try:
        v = svc.import_(src, "mine", link=True)
    finally:
        store.close()
    blob = svc.blobs.path(svc.entries("mine")[1][0].sha256)
    after = os.stat(f)
    assert (mode(f), after.st_uid, after.st_gid) == (source_mode, before.st_uid, before.st_gid)
    assert (blob.stat().st_ino == after.st_ino) is linked
    assert mode(blob) == source_mode if linked else mode(blob) == 0o440
    if linked:
        assert "link_note" not in v.meta
    else:
        assert "1 of 1 file(s) were copied instead of linked" in v.meta["link_note"]


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_link_copies_a_hard_link_to_another_users_file(tmp_path, umask):
    umask(0o022)
    theirs = tmp_path / "theirs.txt"
    theirs.write_text("someone else's data\n")
    os.chown(theirs, 4242, 4242)
    os.chmod(theirs, 0o440)
    src = tmp_path / "mine"
    src.mkdir()
    os.link(theirs, src / "borrowed.txt")  # a hard link in my folder to their file
    store, svc = service(tmp_path / "home")
    try:
        svc.import_(src, "borrowed", link=True)
    finally:
        store.close()
    blob = svc.blobs.path(svc.entries("borrowed")[1][0].sha256)
    st = os.stat(theirs)
    assert (st.st_uid, mode(theirs), st.st_nlink) == (4242, 0o440, 2), "their file is untouched"
    assert blob.stat().st_ino != st.st_ino and blob.stat().st_uid == os.geteuid()
