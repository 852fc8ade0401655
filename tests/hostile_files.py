"""Hostile files for the dataset tests, generated in a second or two each: archives whose
headers lie or whose members would cost far more than their size, pictures that declare huge
sizes, text with very long lines. Each builder streams what it writes (no builder holds the
expanded content in memory)."""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

MiB = 1 << 20


def many_member_tar(path: Path, n: int) -> Path:
    """A gzip'd tar of ``n`` empty files ``d/000000.txt``…, written as raw 512-byte headers
    (tarfile's own writer takes ~80 µs a member)."""
    tmpl = bytearray(tarfile.TarInfo("d/000000.txt").tobuf(tarfile.USTAR_FORMAT))
    at = tmpl.index(b"000000.txt")
    base = sum(tmpl[:148]) + sum(tmpl[156:]) + 8 * 32 - sum(b"000000")  # checksum of the rest
    with gzip.open(path, "wb", compresslevel=1) as out:
        buf = bytearray()
        for i in range(n):
            digits = b"%06d" % i
            tmpl[at : at + 6] = digits
            tmpl[148:156] = b"%06o\0 " % (base + sum(digits))
            buf += tmpl
            if len(buf) >= MiB:
                out.write(buf)
                buf.clear()
        out.write(bytes(buf) + b"\0" * 1024)
    return path


def tar_of_members(
    path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], fmt: int = tarfile.GNU_FORMAT
) -> Path:
    with tarfile.open(path, "w:gz", format=fmt) as tf:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    m = tarfile.TarInfo(name)
    m.type, m.linkname = kind, link
    return m


def zip_symlink_bomb(path: Path, target_bytes: int) -> Path:
    """A zip whose one "symlink" member holds ``target_bytes`` of zeros (deflated ~1000×)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("d/a.txt", "a real file\n")
        info = zipfile.ZipInfo("d/link.txt")
        info.create_system, info.external_attr = 3, 0o120777 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as out:
            zero = bytes(MiB)
            for _ in range(target_bytes // MiB):
                out.write(zero)
    return path


def zip_claiming_members(path: Path, n: int) -> Path:
    """A small zip whose end record says it holds ``n`` members."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("d/a.txt", "x\n")
    data = bytearray(path.read_bytes())
    at = data.rfind(b"PK\x05\x06")
    if n >= 0xFFFF:  # the plain record holds 16 bits: a zip64 end record says more
        data[at + 8 : at + 12] = b"\xff\xff\xff\xff"
        z64 = b"PK\x06\x06" + struct.pack("<QHHLLQQQQ", 44, 45, 45, 0, 0, n, n, 46 + 7, 0)
        loc = b"PK\x06\x07" + struct.pack("<LQL", 0, at, 1)
        data[at:at] = z64 + loc
    else:
        data[at + 8 : at + 12] = struct.pack("<HH", n, n)
    path.write_bytes(bytes(data))
    return path


def zip_with_bad_utf8_name(path: Path) -> Path:
    """A zip whose member name is flagged UTF-8 (bit 11) but holds a Latin-1 byte."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("d/cafe.txt", "x\n")
    data = bytearray(path.read_bytes().replace(b"d/cafe.txt", b"d/caf\xe9.txt"))  # same length
    for flags_at in (6, data.rfind(b"PK\x01\x02") + 8):  # local header, central directory
        data[flags_at + 1] |= 0x08
    path.write_bytes(bytes(data))
    return path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(path: Path, width: int, height: int, rows: int | None = None) -> Path:
    """An RGB PNG whose header declares ``width`` × ``height``; ``rows`` of real (grey) pixel
    data follow (all of them when None: a valid picture, compressed as it is made)."""
    rows = height if rows is None else rows
    comp = zlib.compressobj(1)
    row = b"\x00" + b"\x80" * (3 * width)
    with open(path, "wb") as out:
        out.write(
            b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        )
        for start in range(0, rows, 256):
            block = comp.compress(row * min(256, rows - start))
            if block:
                out.write(_chunk(b"IDAT", block))
        out.write(_chunk(b"IDAT", comp.flush()) + _chunk(b"IEND", b""))
    return path


def jpeg_of_size(path: Path, width: int, height: int) -> Path:
    from PIL import Image

    Image.new("RGB", (width, height), (40, 90, 160)).save(path, quality=80)
    return path


def long_line_text(path: Path, line_bytes: int) -> Path:
    with open(path, "wb") as out:
        out.write(b"a short first line\n")
        for _ in range(line_bytes // MiB):
            out.write(b"w" * MiB)
        out.write(b"\nand a short last line\n")
    return path


def many_lines_csv(path: Path, total_bytes: int) -> Path:
    """A CSV of short rows (id, text), about ``total_bytes`` long."""
    block = "".join(f"{i},row {i} of a long table with some words in it\n" for i in range(20_000)).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        out.write(b"id,text\n")
        for _ in range(max(1, total_bytes // len(block))):
            out.write(block)
    return path
