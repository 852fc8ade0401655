"""What text from a client may hold: the one rule for spec fields, API fields and paths.

Control characters (NUL, escape, C1 codes) are refused everywhere: they end C strings, move
terminals' cursors and forge log lines.  A name, tag or path is one line (no tab or newline);
free text in an API body (notes, a label's attributes) may hold tabs and newlines.
"""

from __future__ import annotations

import re

ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MULTILINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # tab (\x09) and newline (\x0a) allowed
NAME_MAX = 255  # bytes of one path component (Linux)
PATH_MAX = 4096  # bytes of a whole path, with its final NUL


def one_line(v: str) -> str:
    if ONE_LINE.search(v):
        raise ValueError("contains control characters (NUL, newline, escape, ...); use plain text")
    return v


def multiline(v: str) -> str:
    if MULTILINE.search(v):
        raise ValueError("contains control characters (NUL, escape, ...); use plain text")
    return v


def kernel_path(v: str) -> str:
    """A path the kernel can take: no control characters, each name at most 255 bytes, the
    whole under 4096 (NAME_MAX, PATH_MAX); else every file call fails with ENAMETOOLONG."""
    if ONE_LINE.search(v):
        raise ValueError("the path contains control characters (NUL, newline, ...); name a real path")
    raw = v.encode("utf-8", "surrogateescape")
    if len(raw) >= PATH_MAX or any(len(part) > NAME_MAX for part in raw.split(b"/")):
        raise ValueError("the path is too long (a name over 255 bytes, or the whole over 4095)")
    return v


__all__ = ["MULTILINE", "ONE_LINE", "kernel_path", "multiline", "one_line"]
