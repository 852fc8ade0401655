"""How much untrusted input the datasets package reads before it refuses: one frozen
``Limits`` per service, checked before anything is expanded (archive headers, image headers,
line lengths), so hostile input costs about as much memory as its size, never more.

The defaults and why:
- ``max_members`` 100,000: far beyond a hand-made archive; a 300,000-member tar cost 153 s and
  1.3 GB before; past the limit the tar's headers are not read any further.
- ``max_member_bytes`` / ``max_total_bytes`` / ``max_ratio``: a zip bomb is refused by its
  headers (and sizes are counted while writing, so a lying header cannot pass either).
- ``max_link_target`` 4 KiB: a symlink target is a path; PATH_MAX is 4096 on Linux.
- ``max_image_pixels`` 178,956,970: Pillow's own hard limit (2 × ``Image.MAX_IMAGE_PIXELS``).
  Nothing Pillow ever opened is refused, and the training workers, which open images with
  Pillow's defaults, can read every image an import accepts.
- ``decode_budget_bytes`` 32 MiB: an image whose decoded pixels take more is checked by a
  bounded path (JPEG decoded at a reduced scale, PNG streamed) instead of decoded whole.
- ``max_record_bytes`` 16 MiB: one text line, JSONL line or CSV record (all its fields). Text is
  read as a stream, so the cost of a file is bounded by its longest record (a few times this),
  not by its size. It is also the CSV field limit (the csv module's default, 128 KiB, refused
  legitimate 200 KB fields).
- ``max_json_bytes`` 1 GiB: a COCO annotation file is parsed whole (COCO 2017's largest is
  448 MB); parsing costs several times the file's size.
- ``max_small_file_bytes`` 16 MiB: YAML and YOLO label files, which are read whole.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_total_bytes: int = 64 << 30
    max_member_bytes: int = 16 << 30
    max_ratio: float = 100.0  # uncompressed / compressed, for members above ratio_min_bytes
    ratio_min_bytes: int = 1 << 20
    max_members: int = 100_000
    max_link_target: int = 4096
    max_image_pixels: int = 178_956_970
    decode_budget_bytes: int = 32 << 20
    max_record_bytes: int = 16 << 20
    max_json_bytes: int = 1 << 30
    max_small_file_bytes: int = 16 << 20


DEFAULT_LIMITS = Limits()


def size_text(n: float) -> str:
    """A byte count as a short phrase: '16 MiB', '1.5 GiB', '200 KiB', '512 bytes'."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.3g} {unit}"
    return f"{int(n)} bytes"
