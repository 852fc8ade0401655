"""Untrusted text read as a stream, one record at a time, with a bound on a record's size.

A file is never read whole: lines are read with a length bound (``Limits.max_record_bytes``),
decoded one by one (so a bad byte is reported with its line) and checked for NUL bytes. What a
text file costs in the daemon is then a few times its longest line, not a multiple of its size
(a single 50 MB line used to cost 300 MB: the whole file as bytes, as text, as a StringIO, and
split). A CSV record (all its fields, quoted newlines included) has the same bound, and the csv
module's field limit is raised to it (its default, 128 KiB, refused legitimate fields).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trainer_runtime.datasets.errors import DatasetError
from trainer_runtime.datasets.limits import DEFAULT_LIMITS, Limits, size_text

BOM = b"\xef\xbb\xbf"


def _too_long(rel: str, lineno: int, limit: int, what: str = "line") -> DatasetError:
    return DatasetError(
        f"'{rel}', {what} {lineno} is longer than {size_text(limit)}, the most one record may be; "
        "split it into shorter lines (or records) and import again"
    )


def lines(
    rel: str, path: Path, limits: Limits = DEFAULT_LIMITS, strict: bool = True
) -> Iterator[tuple[int, str]]:
    """(line number, text with its line end) of each line of the UTF-8 file ``path`` (shown as
    ``rel``), a leading BOM dropped. ``strict``: a bad byte or a NUL is an error naming the line;
    otherwise bad bytes are replaced (for files already checked at import)."""
    limit = limits.max_record_bytes
    with open(path, "rb") as fh:
        lineno = 0
        while raw := fh.readline(limit + 1):
            lineno += 1
            if len(raw) > limit and not raw.endswith(b"\n"):
                raise _too_long(rel, lineno, limit)
            if lineno == 1 and raw.startswith(BOM):
                raw = raw[3:]
            yield lineno, _decode(rel, raw, lineno, strict)


def _decode(rel: str, raw: bytes, lineno: int, strict: bool) -> str:
    if not strict:
        return raw.decode("utf-8", "replace")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DatasetError(
            f"'{rel}' is not UTF-8 text (bad byte 0x{raw[err.start]:02x} on line {lineno}); "
            "convert it to UTF-8 and import again"
        ) from None
    if "\x00" in text:
        raise DatasetError(f"'{rel}' contains NUL bytes, so it is binary, not text")
    return text


def is_blank(text: str) -> bool:
    """True for an empty or all-whitespace line (``isspace`` makes no copy, ``strip`` would)."""
    return not text or text.isspace()


def read_small(rel: str, path: Path, limit: int, kind: str) -> str:
    """The whole UTF-8 file ``path`` (a YAML or label file), refused above ``limit`` bytes
    before it is read."""
    size = path.stat().st_size
    if size > limit:
        raise DatasetError(
            f"{kind} '{rel}' is {size_text(size)}, more than the {size_text(limit)} such a file may be; "
            "is it the right file?"
        )
    data = path.read_bytes()[: limit + 1]
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DatasetError(f"{kind} '{rel}' is not UTF-8 text (bad byte at offset {err.start})") from None


def csv_rows(
    rel: str, path: Path, delimiter: str, limits: Limits = DEFAULT_LIMITS, strict: bool = True
) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record ends, fields) of each CSV record; a record longer than
    ``max_record_bytes`` (quoted line ends included) is an error naming its line."""
    limit = limits.max_record_bytes
    if csv.field_size_limit() < limit:
        csv.field_size_limit(limit)  # process-wide, only ever raised
    used = [0, 0]  # characters in the record being read, its first line

    def feed() -> Iterator[str]:
        for lineno, text in lines(rel, path, limits, strict):
            if not used[0]:
                used[1] = lineno
            used[0] += len(text)
            if used[0] > limit:
                raise _too_long(rel, used[1], limit, "the record starting on line")
            yield text

    reader = csv.reader(feed(), delimiter=delimiter)
    try:
        for row in reader:
            used[0] = 0
            yield reader.line_num, row
    except csv.Error as err:
        raise DatasetError(f"CSV file '{rel}', line {reader.line_num}: {err}") from None


def json_value(text: str | bytes, where: str) -> Any:
    """``text`` parsed as JSON, ``where`` (e.g. "JSONL file 'a.jsonl', line 3") naming it in
    the sentence when it is not JSON or nests too deeply for the parser."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DatasetError(f"{where} is not JSON: {err.msg} (at character {err.pos + 1})") from None
    except RecursionError:
        raise DatasetError(
            f"{where} nests too deeply to be read (thousands of levels); that is not data"
        ) from None
