"""What reading a stored picture with Pillow can raise when the file is not a usable image
(unknown format, truncated or damaged data, a decompression bomb), and how that is said."""

from __future__ import annotations


def decode_errors() -> tuple[type[Exception], ...]:
    """The exceptions that mean "this file cannot be decoded as an image" (Pillow loaded lazily)."""
    from PIL import Image, UnidentifiedImageError

    return (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError)


def error_text(err: BaseException) -> str:
    """The error's own words, or its type's name when it has none."""
    return str(err) or type(err).__name__
