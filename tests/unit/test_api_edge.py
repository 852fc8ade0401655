"""The API's edge without a daemon: body parsing and its bounds, error sentences, disk-full
detection, JSON in pieces, and the checks of user-named files (real FIFOs, devices, /proc)."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainer_runtime import jsontext
from trainer_runtime.api.edge import BadRequest, clean, disk_full, error_response, parse_json
from trainer_runtime.userfiles import UserFileError, check_file, check_folder, read_bytes, read_text


# ------------------------------------------------------------------------- bodies
@pytest.mark.parametrize(
    ("raw", "words", "field"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply", None),
        (b'{"a":' * 70 + b"1" + b"}" * 70, "nested more than 64", None),
        (
            b'{"spec": {"train": {"seed": 1000000000000000000000000000000}}}',
            "out of range",
            "spec.train.seed",
        ),
        (b'{"after": -9223372036854775809}', "out of range", "after"),
        (b'{"lr": NaN}', "not finite", "lr"),
        (b'{"x": [1, Infinity]}', "not finite", "x.1"),
        (b'{"path": "/tmp/a\\u0000b"}', "NUL", "path"),
        (b'{"path": "/tmp/\\udcff"}', "not valid Unicode", "path"),
        (b'{"\\u0000": 1}', "field name", ""),
        (b'{"n": ' + b"9" * 5000 + b"}", "not valid JSON", ""),
        (b'{"path": "\xff\xfe"}', "not UTF-8", None),
        (b"{nope", "not valid JSON", ""),
    ],
)
def test_bad_bodies_are_refused_with_a_sentence(raw: bytes, words: str, field: str | None) -> None:
    with pytest.raises(BadRequest) as info:
        parse_json(raw)
    err = info.value
    assert err.status == 400 and words in err.message, err.message
    if field is not None:
        assert err.problems and err.problems[0][0] == field, err.problems


def test_limits_are_exact() -> None:
    assert parse_json(b'{"a":' * 63 + b"1" + b"}" * 63)  # 63 nested objects: fine
    assert parse_json(b'{"i": 9223372036854775807, "j": -9223372036854775808}') == {
        "i": 2**63 - 1,
        "j": -(2**63),
    }
    assert parse_json(b'{"t": "tab\\tline\\nok", "b": true}') == {"t": "tab\tline\nok", "b": True}


# ----------------------------------------------------------------------- answers
def test_error_sentences_are_cleaned() -> None:
    assert clean("nothing at /tmp/" + "\x00" * 4096) == "nothing at /tmp/\ufffd"
    assert clean("cannot identify image file <_io.BytesIO object at 0x7f3a2c1b9e50>") == (
        "cannot identify image file the data"
    )
    assert clean("failed\nTraceback (most recent call last):\n  File 'x'\nKeyError") == (
        "failed (details in daemon.log)"
    )
    assert clean("\x1b[31mred\udcff") == "\ufffd[31mred\ufffd"
    long = clean("x" * 10_000)
    assert len(long) == 2000 and long.endswith("…")
    body = json.loads(error_response(400, "bad \x00", [("f\x00", "m" * 900)]).text)
    assert body == {"error": "bad \ufffd", "problems": [{"field": "f\ufffd", "message": "m" * 499 + "…"}]}


def test_a_full_disk_is_recognised_in_any_part_of_the_chain(tmp_path: Path) -> None:
    with pytest.raises(OSError) as info, open("/dev/full", "wb") as fh:  # a real ENOSPC
        fh.write(b"x" * 8192)
        fh.flush()
    assert info.value.errno == errno.ENOSPC
    wrapped = ValueError("the import failed")
    wrapped.__cause__ = info.value
    assert disk_full(wrapped, "/data") == (
        "the disk holding /data is full; free space and try again (nothing was stored)"
    )
    db = sqlite3.connect(tmp_path / "small.db")  # SQLite's own "database or disk is full"
    db.execute("PRAGMA max_page_count = 8")
    db.execute("CREATE TABLE t (x BLOB)")
    with pytest.raises(sqlite3.OperationalError) as full:
        for _ in range(100):
            db.execute("INSERT INTO t VALUES (?)", (b"x" * 4096,))
    assert "database or disk is full" in str(full.value)
    assert "the database in /data" in (disk_full(full.value, "/data") or "")
    assert disk_full(ValueError("disk is full of cats"), "/data") is None


# ---------------------------------------------------------------- JSON in pieces
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from([None, 1, 2]))
def test_json_in_pieces_is_json(value, indent) -> None:
    text = json.dumps(value, indent=indent)
    assert jsontext.loads(text) == json.loads(text)
    assert jsontext.dumps(value) == json.dumps(value, separators=(",", ":"))


@pytest.mark.parametrize("text", ['{"a" 1}', '{"a": 1,}', "[1 2]", '{"a": 1} x', "", "[", '{"a": [1, }'])
def test_json_in_pieces_refuses_what_json_refuses(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    with pytest.raises(json.JSONDecodeError):
        jsontext.loads(text)


# ---------------------------------------------------------------- user-named files
def test_special_files_are_refused_before_anything_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "graph.json"
    os.mkfifo(fifo)  # opened for reading without O_NONBLOCK, this would block forever
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    (tmp_path / "status.txt").symlink_to("/proc/self/status")
    sparse = tmp_path / "sparse.json"
    with sparse.open("wb") as fh:
        fh.truncate(2 << 30)
    cases = {
        fifo: "is a FIFO (named pipe)",
        tmp_path / "zero.json": "is a character device",
        Path("/dev/zero"): "is a character device",
        tmp_path / "status.txt": "is under /proc",
        Path("/sys/kernel/mm"): "is under /sys",
        sparse: "is 2048.0 MiB; the daemon reads at most 32.0 MiB here",
        tmp_path: "is a folder",
        tmp_path / "missing.json": "not found",
    }
    for path, words in cases.items():
        with pytest.raises(UserFileError) as info:
            read_bytes(path, "graph file", 32 << 20)
        assert words in info.value.message, (path, info.value.message)
    assert read_bytes(sparse, "dataset file", 10, head=True) == b"\x00" * 10  # only the head
    with pytest.raises(UserFileError, match="is a FIFO"):
        check_folder(fifo, "base_dir")
    ok = tmp_path / "ok.json"
    ok.write_text('{"a": 1}')
    assert check_file(ok, "graph file").st_size == 8 and read_text(ok, "graph file", 100) == '{"a": 1}'
    (tmp_path / "latin.txt").write_bytes(b"caf\xe9")
    with pytest.raises(UserFileError, match="not UTF-8 text"):
        read_text(tmp_path / "latin.txt", "graph file", 100)


def test_a_non_utf8_file_name_is_shown_readably(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.json")  # a name that is not UTF-8 (surrogate-escaped in Python)
    (tmp_path / name).mkdir()
    with pytest.raises(UserFileError) as info:
        read_bytes(tmp_path / name, "graph file", 100)
    assert "caf\ufffd.json is a folder" in info.value.message
    info.value.message.encode("utf-8")  # printable and sendable
