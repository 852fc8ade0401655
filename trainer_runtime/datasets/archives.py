"""Safe extraction of zip and tar(.gz/.bz2/.xz) archives into a staging folder.

Every member is checked before anything is written: no absolute paths, no ``..``, no name
twice, no device files, links only to places inside the archive, and no zip bomb (by the
ratio of a member's size to its compressed size, and by the total size). Sizes are counted
while writing too, so a header that lies about a size cannot get past the limits.
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from trainer_runtime.datasets.errors import DatasetError

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
CHUNK = 1 << 20


@dataclass(frozen=True)
class Limits:
    max_total_bytes: int = 64 << 30
    max_ratio: float = 100.0  # uncompressed / compressed, for members above ratio_min_bytes
    ratio_min_bytes: int = 1 << 20
    max_members: int = 2_000_000


DEFAULT_LIMITS = Limits()


def is_archive(path: Path) -> bool:
    name = path.name.lower()
    return path.is_file() and name.endswith(ARCHIVE_SUFFIXES)


def _member_path(archive: Path, name: str) -> PurePosixPath:
    raw = name.replace("\\", "/")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise DatasetError(
            f"{archive.name} holds a member with an absolute path ('{name}'); refusing to import "
            "an archive that writes outside its own folder"
        )
    parts = [p for p in PurePosixPath(raw).parts if p not in ("", ".")]
    if ".." in parts:
        raise DatasetError(
            f"{archive.name} holds a member whose path climbs out of the archive ('{name}'); "
            "refusing to import it"
        )
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def _link_inside(archive: Path, member: PurePosixPath, target: str, hard: bool) -> PurePosixPath:
    if target.startswith("/"):
        raise DatasetError(
            f"{archive.name}: the link '{member}' points to '{target}', outside the archive; refusing to import it"
        )
    base = PurePosixPath() if hard else member.parent
    parts: list[str] = []
    for p in (base / target).parts:
        if p == "..":
            if not parts:
                raise DatasetError(
                    f"{archive.name}: the link '{member}' points to '{target}', outside the archive; "
                    "refusing to import it"
                )
            parts.pop()
        elif p not in ("", "."):
            parts.append(p)
    return PurePosixPath(*parts)


class _Budget:
    def __init__(self, archive: Path, limits: Limits):
        self.archive, self.limits, self.total = archive, limits, 0

    def add(self, n: int) -> None:
        self.total += n
        if self.total > self.limits.max_total_bytes:
            raise DatasetError(
                f"{self.archive.name} unpacks to more than {self.limits.max_total_bytes / 2**30:g} GiB "
                "(a zip bomb?); refusing to extract it"
            )

    def ratio(self, name: str, size: int, compressed: int) -> None:
        if size >= self.limits.ratio_min_bytes and size > self.limits.max_ratio * max(compressed, 1):
            raise DatasetError(
                f"{self.archive.name}: member '{name}' expands {size / max(compressed, 1):.0f}× "
                f"(over {self.limits.max_ratio:g}×, a zip bomb?); refusing to extract it"
            )


def _copy(src, dst: Path, budget: _Budget, declared: int) -> None:  # noqa: ANN001
    written = 0
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(dst, "wb") as out:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            budget.add(len(chunk))
            if written > declared:
                raise DatasetError(
                    f"{budget.archive.name}: member '{dst.name}' holds more data than its header says; "
                    "the archive is damaged or hostile"
                )
            out.write(chunk)


def extract(
    archive: Path, dest: Path, limits: Limits = DEFAULT_LIMITS, cancelled: Callable[[], bool] = lambda: False
) -> Path:
    """Extract ``archive`` into ``dest`` (which must be empty) and return the dataset's root:
    ``dest`` itself, or its one top-level folder when the archive wraps everything in one."""
    dest.mkdir(parents=True, exist_ok=True)
    name = archive.name.lower()
    if name.endswith(".zip"):
        _extract_zip(archive, dest, limits, cancelled)
    else:
        _extract_tar(archive, dest, limits, cancelled)
    entries = [p for p in dest.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else dest


def _check_total(archive: Path, dest: Path, limits: Limits, total: int) -> None:
    """Refuse an archive whose members together are too big: over the limit, expanding more
    than ``max_ratio`` times its own size, or more than the free space of the data dir."""
    _Budget(archive, limits).add(total)
    size = archive.stat().st_size
    if total >= limits.ratio_min_bytes and total > limits.max_ratio * max(size, 1):
        raise DatasetError(
            f"{archive.name} expands {total / max(size, 1):.0f}× (over {limits.max_ratio:g}×, "
            "a zip bomb?); refusing to extract it"
        )
    free = shutil.disk_usage(dest).free
    if total > free:
        raise DatasetError(
            f"{archive.name} unpacks to {total / 2**20:.0f} MiB but the disk holding the data dir has only "
            f"{free / 2**20:.0f} MiB free; free some space and import again. Nothing was stored"
        )


def _check_unique(archive: Path, seen: set[str], path: PurePosixPath, is_dir: bool) -> None:
    key = str(path)
    if is_dir:
        return
    if key in seen:
        raise DatasetError(
            f"{archive.name} holds the member '{key}' more than once; which copy is meant is unclear, "
            "so it is not imported"
        )
    seen.add(key)


def _damaged(archive: Path, err: Exception, message: str = "") -> DatasetError:
    """The error to raise for an archive that is truncated or damaged; a real I/O error (one with
    an errno: disk full, permission denied) is raised as it is instead."""
    if isinstance(err, OSError) and err.errno:
        raise err
    return DatasetError(message or f"{archive.name} is truncated or damaged ({err}); nothing was imported")


def _extract_zip(archive: Path, dest: Path, limits: Limits, cancelled: Callable[[], bool]) -> None:
    budget = _Budget(archive, limits)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, EOFError) as err:
        raise DatasetError(
            f"{archive.name} is not a readable zip archive (truncated or damaged: {err})"
        ) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_members:
            raise DatasetError(f"{archive.name} has {len(infos)} members, more than {limits.max_members}")
        seen: set[str] = set()
        links: list[tuple[PurePosixPath, PurePosixPath]] = []
        declared = 0
        try:
            for info in infos:
                path = _member_path(archive, info.filename)
                _check_unique(archive, seen, path, info.is_dir())
                if stat.S_ISLNK(info.external_attr >> 16):
                    target = zf.read(info)[:4096].decode("utf-8", errors="replace")
                    links.append((path, _link_inside(archive, path, target, hard=False)))
                    continue
                budget.ratio(info.filename, info.file_size, info.compress_size)
                declared += info.file_size
            _check_total(archive, dest, limits, declared)
            for info in infos:
                if cancelled():
                    return
                path = _member_path(archive, info.filename)
                if info.is_dir():
                    (dest / path).mkdir(parents=True, exist_ok=True)
                    continue
                if stat.S_ISLNK(info.external_attr >> 16):
                    continue  # made a plain copy of its target below
                with zf.open(info) as src:
                    _copy(src, dest / path, budget, info.file_size)
        except RuntimeError as err:  # zipfile: "File ... is encrypted, password required ..."
            raise DatasetError(
                f"{archive.name} cannot be read: {err}; import an unencrypted archive"
            ) from None
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as err:
            raise _damaged(archive, err) from None
        _resolve_links(archive, dest, links)


def _extract_tar(archive: Path, dest: Path, limits: Limits, cancelled: Callable[[], bool]) -> None:
    budget = _Budget(archive, limits)
    try:
        tf = tarfile.open(archive, "r:*")  # noqa: SIM115 (closed by the with below)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise _damaged(
            archive, err, f"{archive.name} is not a readable tar archive (truncated or damaged: {err})"
        ) from None
    with tf:
        try:
            members = tf.getmembers()
        except (tarfile.TarError, EOFError, OSError) as err:
            raise _damaged(archive, err) from None
        seen: set[str] = set()
        links: list[tuple[PurePosixPath, PurePosixPath]] = []
        total = 0
        for m in members:
            path = _member_path(archive, m.name)
            _check_unique(archive, seen, path, m.isdir())
            if m.issym() or m.islnk():
                links.append((path, _link_inside(archive, path, m.linkname, hard=m.islnk())))
            elif not (m.isfile() or m.isdir()):
                raise DatasetError(
                    f"{archive.name}: member '{m.name}' is a device, fifo or other special file; "
                    "refusing to import it"
                )
            else:
                total += m.size
        _check_total(archive, dest, limits, total)
        budget = _Budget(archive, limits)
        try:
            for m in members:
                if cancelled():
                    return
                path = _member_path(archive, m.name)
                if m.isdir():
                    (dest / path).mkdir(parents=True, exist_ok=True)
                elif m.isfile():
                    src = tf.extractfile(m)
                    if src is None:
                        continue
                    with src:
                        _copy(src, dest / path, budget, m.size)
                    if (dest / path).stat().st_size != m.size:
                        raise EOFError(f"member '{m.name}' is cut short")
        except (tarfile.TarError, EOFError, OSError) as err:
            raise _damaged(archive, err) from None
        _resolve_links(archive, dest, links)


def _resolve_links(archive: Path, dest: Path, links: list[tuple[PurePosixPath, PurePosixPath]]) -> None:
    """A link inside the archive becomes a plain copy of its target (no symlink is ever written)."""
    for path, target in links:
        src = dest / target
        if not src.is_file():
            raise DatasetError(
                f"{archive.name}: the link '{path}' points to '{target}', which is not a file in the archive"
            )
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest / path)
