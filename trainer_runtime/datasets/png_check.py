"""A PNG's pixel data checked as a stream, for images too big to decode whole in the daemon:
the zlib stream of its IDAT chunks is inflated a chunk at a time and counted against the size
its header declares, and every scanline's filter byte is checked. Memory stays at one chunk
of output whatever the image's size. It finds what a full decode finds for a damaged file (a
cut-short or corrupt data stream, a wrong amount of data), short of decoding the pixels."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import IO

OUT_CHUNK = 1 << 20
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type → samples per pixel
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def _rows(width: int, height: int, bits: int, interlaced: bool) -> list[tuple[int, int]]:
    """(row bytes including the filter byte, rows) of each pass."""
    passes = ADAM7 if interlaced else ((0, 0, 1, 1),)
    out = []
    for x0, y0, dx, dy in passes:
        w, h = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if w > 0 and h > 0:
            out.append((1 + -(-(w * bits) // 8), h))
    return out


def _chunks(fh: IO[bytes]) -> Iterator[tuple[bytes, int]]:
    """(type, length) of each chunk; the reader stands at its data."""
    while True:
        head = fh.read(8)
        if len(head) < 8:
            return
        length, kind = struct.unpack(">I4s", head)
        yield kind, length


def check_png(fh: IO[bytes]) -> str | None:
    """Why the PNG in ``fh`` is damaged, or None when its pixel data is complete and sound."""
    if fh.read(8) != b"\x89PNG\r\n\x1a\n":
        return "not a PNG file"
    d = zlib.decompressobj()
    segments: list[tuple[int, int]] | None = None
    seg, row_left, to_row = 0, 0, 0  # where the next scanline's filter byte is
    got = expected = 0
    for kind, length in _chunks(fh):
        if kind == b"IHDR":
            data = fh.read(length)
            if length != 13 or len(data) != 13:
                return "its IHDR header is damaged"
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", data)
            if ctype not in CHANNELS or depth not in (1, 2, 4, 8, 16):
                return f"its header declares an unknown pixel format (colour type {ctype}, depth {depth})"
            segments = _rows(width, height, CHANNELS[ctype] * depth, interlace == 1)
            expected = sum(n * rows for n, rows in segments)
            row_left = segments[0][1] if segments else 0
            fh.read(4)
            continue
        if kind == b"IEND":
            break
        if kind != b"IDAT":
            fh.seek(length + 4, 1)
            continue
        if segments is None:
            return "its pixel data comes before its header"
        left = length
        while left:
            piece = fh.read(min(left, OUT_CHUNK))
            if not piece:
                return "the file is cut short (image file is truncated)"
            left -= len(piece)
            try:
                out = d.decompress(piece, OUT_CHUNK)
                while True:
                    if got < expected:
                        problem, seg, row_left, to_row = _filters(out, segments, seg, row_left, to_row)
                        if problem:
                            return problem
                    got += len(out)
                    if not d.unconsumed_tail:
                        break
                    out = d.decompress(d.unconsumed_tail, OUT_CHUNK)
            except zlib.error as err:
                return f"its pixel data is damaged (broken data stream: {err})"
        fh.read(4)
    if got < expected:
        return f"the image file is truncated ({expected - got:,} bytes of pixel data are missing)"
    return None


def _filters(
    out: bytes, segments: list[tuple[int, int]], seg: int, row_left: int, to_row: int
) -> tuple[str | None, int, int, int]:
    """Check the filter byte (0-4) of every scanline that begins in ``out`` (the next inflated
    bytes; the first row starts ``to_row`` bytes in); returns (problem, pass, rows left in it,
    bytes into the next ``out`` where the next row starts)."""
    pos = to_row
    while pos < len(out) and seg < len(segments):
        if out[pos] > 4:
            return f"its pixel data is damaged (unknown filter type {out[pos]})", seg, row_left, 0
        row_left -= 1
        pos += segments[seg][0]
        if row_left == 0:
            seg += 1
            if seg < len(segments):
                row_left = segments[seg][1]
    return None, seg, row_left, pos - len(out)
