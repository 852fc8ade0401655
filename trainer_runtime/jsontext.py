"""JSON read and written in small pieces, for documents of many megabytes in the daemon.

``json.loads`` and ``json.dumps`` are single C calls that hold the GIL from start to end: on a
thread they still stop the event loop for as long as they take (a 14 MB labels draft: 0.5 s on
an idle machine, 3 s on a busy one). ``loads`` walks the outer ``depth`` levels of objects and
arrays in Python and hands each value below them to the C decoder, so the GIL is given up
between values; ``dumps`` does the same for writing. The results are exactly those of the
``json`` module (NaN and Infinity are read, as ``json.loads`` reads them; callers check).

``gc_paused`` keeps Python's cyclic garbage collector from running while a big document is
made, used and dropped: each full collection walks every live container and holds the GIL while
it does (a 14 MB draft's two million objects: 1.6 s stalls, and the parse itself 3x slower). A
JSON document holds no reference cycles, so reference counting frees it whole when it is dropped;
cycles made elsewhere meanwhile are collected once the last such block has ended."""

from __future__ import annotations

import gc
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from json.decoder import JSONDecodeError
from typing import Any

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
scanstring = json.decoder.scanstring  # type: ignore[attr-defined]  # the C string scanner
DEPTH = 3  # a labels body: body → annotations → image → its fields, each image one C call
_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = True


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside (any thread) until the last open block ends."""
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


def _ws(s: str, i: int) -> int:
    m = _WS.match(s, i)
    return m.end() if m else i


def loads(s: str, depth: int = DEPTH) -> Any:
    """``json.loads(s)``, in pieces (raises ``JSONDecodeError`` or ``RecursionError`` the same)."""
    value, end = _value(s, _ws(s, 0), depth)
    end = _ws(s, end)
    if end != len(s):
        raise JSONDecodeError("Extra data", s, end)
    return value


def _value(s: str, i: int, depth: int) -> tuple[Any, int]:
    if depth > 0 and i < len(s):
        if s[i] == "{":
            return _object(s, i, depth - 1)
        if s[i] == "[":
            return _array(s, i, depth - 1)
    return _DECODER.raw_decode(s, i)


def _object(s: str, i: int, depth: int) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    i = _ws(s, i + 1)
    if s.startswith("}", i):
        return out, i + 1
    while True:
        if not s.startswith('"', i):
            raise JSONDecodeError("Expecting property name enclosed in double quotes", s, i)
        key, i = scanstring(s, i + 1)
        i = _ws(s, i)
        if not s.startswith(":", i):
            raise JSONDecodeError("Expecting ':' delimiter", s, i)
        out[key], i = _value(s, _ws(s, i + 1), depth)
        i = _ws(s, i)
        if s.startswith("}", i):
            return out, i + 1
        if not s.startswith(",", i):
            raise JSONDecodeError("Expecting ',' delimiter", s, i)
        i = _ws(s, i + 1)


def _array(s: str, i: int, depth: int) -> tuple[list[Any], int]:
    out: list[Any] = []
    i = _ws(s, i + 1)
    if s.startswith("]", i):
        return out, i + 1
    while True:
        value, i = _value(s, i, depth)
        out.append(value)
        i = _ws(s, i)
        if s.startswith("]", i):
            return out, i + 1
        if not s.startswith(",", i):
            raise JSONDecodeError("Expecting ',' delimiter", s, i)
        i = _ws(s, i + 1)


def dumps(obj: Any, depth: int = DEPTH) -> str:
    """``json.dumps(obj, separators=(",", ":"))``, in pieces."""
    parts: list[str] = []
    _dump(obj, depth, parts)
    return "".join(parts)


def _dump(obj: Any, depth: int, parts: list[str]) -> None:
    if depth > 0 and isinstance(obj, dict):
        parts.append("{")
        for n, (k, v) in enumerate(obj.items()):
            parts.append(("," if n else "") + json.dumps(str(k)) + ":")
            _dump(v, depth - 1, parts)
        parts.append("}")
    elif depth > 0 and isinstance(obj, list | tuple):
        parts.append("[")
        for n, v in enumerate(obj):
            if n:
                parts.append(",")
            _dump(v, depth - 1, parts)
        parts.append("]")
    else:
        parts.append(json.dumps(obj, separators=(",", ":")))
