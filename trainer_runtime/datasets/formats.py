"""What can be imported: the one list of suffixes and formats.

Read by the archive reader, the format detector, the image scanner, the training checks, the
daemon's ``GET /v1/datasets/formats`` and the GUI (drop handler, file dialogs, the import
dialog's choices). Three lists had drifted apart: the drop handler lacked ``.tbz2``/``.txz``
that the archive reader accepts, and the image-folder check lacked ``.tif``/``.tiff`` that the
scanner imports, so a TIFF class folder imported and was then refused for training.

Pure data and string tests: no Qt, no I/O, so the GUI may import it.
"""

from __future__ import annotations

from pathlib import PurePath

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
# a data file's suffix → the format it is read as. A .json file is a COCO file or a chat /
# instruction dataset (an array of rows), and a .jsonl file text rows or chat rows: the detector
# looks inside (``detect.py``); this table gives the first guess.
DATA_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".txt": "text",
    ".json": "coco",
}
MODALITIES = ("image", "text", "tabular", "chat")
FORMATS = {  # dataset format → its default modality
    "image-folder": "image",
    "image-flat": "image",
    "coco": "image",
    "yolo": "image",
    "csv": "tabular",
    "jsonl": "text",
    "parquet": "tabular",
    "text": "text",
    "chat": "chat",  # alpaca, ShareGPT, OpenAI messages, prompt-completion rows (.json / .jsonl)
}
# Which suffixes a chat dataset's files may have (a .json array or object, .jsonl rows).
CHAT_SUFFIXES = (".json", ".jsonl", ".ndjson")
# What the text recipes train on: causal-lm reads a text field; the sft recipe reads chat rows
# too (the row shapes are ``trainer_runtime.sft.formats.FORMATS``).
TEXT_FORMATS = ("text", "jsonl", "csv", "parquet", "chat")
LABEL_FORMATS = ("yolo", "coco")  # label import and export
IMPORTABLE = (
    "a folder, a .zip, .tar, .tar.gz/.tgz, .tar.bz2/.tbz2 or .tar.xz/.txz archive, or a "
    ".csv, .tsv, .jsonl, .parquet, .txt, chat/instruction .json or .jsonl, COCO .json or image file"
)


def _lower(path: str | PurePath) -> str:
    return (path.name if isinstance(path, PurePath) else str(path)).lower()


def is_image(path: str | PurePath) -> bool:
    return str(path).lower().endswith(IMAGE_SUFFIXES)


def is_archive_name(path: str | PurePath) -> bool:
    """Whether the name ends in an archive suffix (the file itself is not looked at)."""
    return _lower(path).endswith(ARCHIVE_SUFFIXES)


def is_importable_file(path: str | PurePath) -> bool:
    """Whether a single file with this name may be imported (an archive, a data file, an image)."""
    return _lower(path).endswith(ARCHIVE_SUFFIXES + tuple(DATA_SUFFIXES) + IMAGE_SUFFIXES)


def suffixes_of(fmt: str) -> tuple[str, ...]:
    """The data-file suffixes read as ``fmt`` (``csv`` → ``.csv``, ``.tsv``)."""
    return tuple(s for s, f in DATA_SUFFIXES.items() if f == fmt)


def strip_suffix(name: str) -> str:
    """``name`` without its archive or data-file suffix (``photos.tar.bz2`` → ``photos``)."""
    low = name.lower()
    for suffix in sorted(ARCHIVE_SUFFIXES + tuple(DATA_SUFFIXES), key=len, reverse=True):
        if low.endswith(suffix):
            return name[: -len(suffix)]
    return name


def file_dialog_filter() -> str:
    """A Qt file-dialog filter for every importable file, then 'All files'."""
    patterns = " ".join(f"*{s}" for s in ARCHIVE_SUFFIXES + tuple(DATA_SUFFIXES) + IMAGE_SUFFIXES)
    return f"Datasets ({patterns});;All files (*)"


__all__ = [
    "ARCHIVE_SUFFIXES",
    "CHAT_SUFFIXES",
    "DATA_SUFFIXES",
    "FORMATS",
    "IMAGE_SUFFIXES",
    "IMPORTABLE",
    "LABEL_FORMATS",
    "MODALITIES",
    "TEXT_FORMATS",
    "file_dialog_filter",
    "is_archive_name",
    "is_image",
    "is_importable_file",
    "strip_suffix",
    "suffixes_of",
]
