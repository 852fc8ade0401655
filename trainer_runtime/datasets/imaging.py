"""Reading untrusted pictures in the daemon with bounded memory.

Every picture is opened by its header first (Pillow reads no pixels at open): one with more
than ``Limits.max_image_pixels`` pixels is refused with a sentence naming it and its size
(``ImageTooLarge``), before anything is decoded. Pillow's own decompression-bomb check is
switched off in favour of this one: Pillow raises it at open, before a caller knows the size,
as "internal error (DecompressionBombError)" upstream, and only warns below twice its limit.

Then the corruption check decodes the picture with bounded memory: whole when its pixels fit
in ``Limits.decode_budget_bytes``; a bigger JPEG is decoded at a reduced scale (libjpeg still
reads every byte of it, so a cut-short file is found); a bigger PNG is checked as a stream
(``png_check``); other formats bigger than the budget are decoded whole, one at a time.
Messages name the file, never an object's repr.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer_runtime.datasets.errors import DatasetError
from trainer_runtime.datasets.limits import DEFAULT_LIMITS, Limits
from trainer_runtime.datasets.png_check import check_png

_REPR = re.compile(r"<[^<>]*? at 0x[0-9a-fA-F]+>")
_BIG = threading.Lock()  # one whole decode bigger than the budget at a time


class ImageTooLarge(DatasetError):
    """A picture with more pixels than the limit: refused before it is decoded."""


def pil() -> Any:
    """Pillow's Image module, with its own bomb check replaced by ``open_checked``'s."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None
    return Image


def decode_errors() -> tuple[type[Exception], ...]:
    """The exceptions that mean "this file cannot be decoded as an image" (Pillow loaded lazily)."""
    from PIL import Image, UnidentifiedImageError

    return (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError)


def error_text(err: BaseException, name: str | None = None) -> str:
    """The error's own words as a sentence about ``name``: no object reprs, no control
    characters; the type's name when it has no words."""
    from PIL import UnidentifiedImageError

    if isinstance(err, UnidentifiedImageError):
        return "not a picture Pillow can read (unknown format or damaged header)"
    text = _REPR.sub(f"'{name}'" if name else "the file", str(err)) or type(err).__name__
    return "".join(c if c.isprintable() else " " for c in text)[:300]


def too_large(name: str, w: int, h: int, limit: int) -> ImageTooLarge:
    mega = w * h / 1e6
    mp = "" if mega < 1 else f" ({mega:,.0f} megapixels)" if mega >= 10 else f" ({mega:.2g} megapixels)"
    return ImageTooLarge(
        f"'{name}' is {w:,} × {h:,} pixels{mp}, more than the {limit:,} pixels one picture may have; "
        "shrink or remove it and import again (or raise import_limits.max_image_pixels in settings.json). "
        "Nothing was stored"
    )


def _pixel_bytes(im: Any) -> int:
    """What Pillow's decoded copy of ``im`` takes (it keeps multi-band pixels in 32 bits)."""
    per = 1 if im.mode in ("1", "L", "P") else 2 if im.mode.startswith("I;16") else 4
    return int(im.width) * int(im.height) * per


@dataclass
class Decoded:
    size: tuple[int, int]
    problem: str | None = None  # why it cannot be decoded; None when it decodes
    value: Any = None  # what ``use`` returned for the decoded (maybe reduced) picture
    whole: bool = True  # False: checked as a stream, so ``use`` was not called


def open_checked(fh: Any, name: str, limits: Limits) -> Any:
    """The picture in ``fh`` opened by its header; ``ImageTooLarge`` above the pixel limit."""
    im = pil().open(fh)
    w, h = int(im.width), int(im.height)
    if w * h > limits.max_image_pixels:
        im.close()
        raise too_large(name, w, h, limits.max_image_pixels)
    return im


def decode(
    src: bytes | Path, name: str, limits: Limits = DEFAULT_LIMITS, use: Callable[[Any], Any] | None = None
) -> Decoded:
    """Open ``src`` (the bytes or the path of the file ``name``), refuse it above the pixel limit
    (``ImageTooLarge``), and decode it with bounded memory; ``use`` is called with the decoded
    picture (a reduced one for a big JPEG) unless it was only checked as a stream."""
    errors = decode_errors()
    with io.BytesIO(src) if isinstance(src, bytes) else open(src, "rb") as fh:
        try:
            im = open_checked(fh, name, limits)
        except ImageTooLarge:
            raise
        except errors as err:
            return Decoded((0, 0), error_text(err, name))
        with im:
            size = (int(im.width), int(im.height))
            need = _pixel_bytes(im)
            if need <= limits.decode_budget_bytes:
                return _load(im, name, size, use)
            if im.format == "JPEG" and not im.info.get("progressive"):
                scale = next((s for s in (2, 4) if need / (s * s) <= limits.decode_budget_bytes), 8)
                im.draft(im.mode, (-(-size[0] // scale), -(-size[1] // scale)))
                return _load(im, name, size, use)
            if im.format == "PNG":
                fh.seek(0)
                return Decoded(size, check_png(fh), whole=False)
            with _BIG:
                return _load(im, name, size, use)


def _load(im: Any, name: str, size: tuple[int, int], use: Callable[[Any], Any] | None) -> Decoded:
    """A full ``load()`` (``verify()`` passes truncated JPEGs), then ``use``."""
    try:
        im.load()
        return Decoded(size, None, use(im) if use else None)
    except decode_errors() as err:
        return Decoded(size, error_text(err, name))


def decode_problem(src: bytes | Path, name: str, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """Why the picture cannot be decoded, or None; ``ImageTooLarge`` above the pixel limit."""
    return decode(src, name, limits).problem


def header(path: Path, name: str, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Width, height and mode from the header alone (for previews), or the sentence why not."""
    try:
        with open(path, "rb") as fh, open_checked(fh, name, limits) as im:
            return {"width": int(im.width), "height": int(im.height), "mode": im.mode}
    except ImageTooLarge as err:
        return {"error": str(err)}
    except decode_errors() as err:
        return {"error": error_text(err, name)}
