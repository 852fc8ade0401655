"""Safe extraction of zip and tar(.gz/.bz2/.xz) archives into a staging folder.

Every member is checked by its header before anything is written (``archive_checks.Plan``):
names, the member count, sizes and ratios per member and in total, links, and the layout. The
headers are read one at a time and the check stops at the first refusal, so a 300,000-member
tar is refused after 100,001 headers instead of being listed whole. Nothing is read whole to be
checked: a zip link's target is read only when its header says it is short, and at most
``max_link_target`` bytes of it; a tar header (a GNU long name, a pax record) is refused when it
is bigger than a header can sensibly be, before it is read. Sizes are counted while writing too,
so a header that lies about a size cannot get past the limits.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import shutil
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from trainer_runtime.datasets.archive_checks import Plan, link_target, member_path, shown, too_long_link
from trainer_runtime.datasets.errors import DatasetError
from trainer_runtime.datasets.formats import ARCHIVE_SUFFIXES, is_archive_name
from trainer_runtime.datasets.limits import DEFAULT_LIMITS, Limits, size_text

__all__ = ["ARCHIVE_SUFFIXES", "DEFAULT_LIMITS", "Limits", "extract", "is_archive"]

CHUNK = 1 << 20
HEADER_MAX = 1 << 20  # bytes of headers (long names, pax records) one tar member may have
ZIP_ENTRY_BYTES = 512  # central-directory bytes allowed per member (46 + name + extra fields)


def is_archive(path: Path) -> bool:
    return path.is_file() and is_archive_name(path)


def extract(
    archive: Path, dest: Path, limits: Limits = DEFAULT_LIMITS, cancelled: Callable[[], bool] = lambda: False
) -> Path:
    """Extract ``archive`` into ``dest`` (which must be empty) and return the dataset's root:
    ``dest`` itself, or its one top-level folder when the archive wraps everything in one."""
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    plan = Plan(archive, limits, archive.stat().st_size)
    if archive.name.lower().endswith(".zip"):
        _extract_zip(archive, dest, plan, cancelled)
    else:
        _extract_tar(archive, dest, plan, cancelled)
    entries = [p for p in dest.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else dest


def _damaged(archive: Path, err: Exception, message: str = "") -> DatasetError:
    """The error to raise for an archive that is truncated or damaged; a real I/O error (one with
    an errno: disk full, permission denied) is raised as it is instead."""
    if isinstance(err, OSError) and err.errno:
        raise err
    return DatasetError(message or f"{archive.name} is truncated or damaged ({err}); nothing was imported")


def _copy(src: IO[bytes], dst: Path, plan: Plan, declared: int, name: str) -> None:
    """Write ``src`` to ``dst``, counting every byte against the plan's budget: a member that
    holds more than its header says is refused."""
    written = 0
    with open(dst, "xb") as out:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > declared:
                raise DatasetError(
                    f"{plan.archive.name}: member '{name}' holds more data than its header says; "
                    "the archive is damaged or hostile"
                )
            out.write(chunk)


def _write(dest: Path, path: str, src: IO[bytes], plan: Plan, declared: int) -> None:
    (dest / path).parent.mkdir(parents=True, exist_ok=True)
    _copy(src, dest / path, plan, declared, path)


# ------------------------------------------------------------------------- zip
def _zip_directory(archive: Path) -> tuple[int, int] | None:
    """(members, central-directory bytes) from the zip's end records, read before ``zipfile``
    parses the whole directory; None when there is no end record (``zipfile`` then says why)."""
    with open(archive, "rb") as fh:
        size = fh.seek(0, 2)
        tail_len = min(size, 22 + 0xFFFF)
        fh.seek(size - tail_len)
        tail = fh.read(tail_len)
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < 22:
            return None
        _, _, _, _, count, cd_size, _, _ = struct.unpack("<4s4H2LH", tail[at : at + 22])
        if (count == 0xFFFF or cd_size == 0xFFFFFFFF) and at >= 20:
            sig, _, offset, _ = struct.unpack("<4sLQL", tail[at - 20 : at])
            if sig == b"PK\x06\x07" and offset + 56 <= size:
                fh.seek(offset)
                rec = fh.read(56)
                if rec[:4] == b"PK\x06\x06":
                    count, cd_size = struct.unpack("<QQ", rec[32:48])
        return count, cd_size


def _open_zip(archive: Path, plan: Plan) -> zipfile.ZipFile:
    limits = plan.limits
    found = _zip_directory(archive)
    if found is not None:
        count, cd_size = found
        if count > limits.max_members:
            plan.count(count)
        if cd_size > limits.max_members * ZIP_ENTRY_BYTES:
            raise DatasetError(
                f"{archive.name} has a member list of {size_text(cd_size)}, more than "
                f"{limits.max_members:,} members can need; the archive is damaged or hostile. Nothing was imported"
            )
    try:
        return zipfile.ZipFile(archive)
    except UnicodeDecodeError:
        raise DatasetError(
            f"{archive.name} holds a member whose name is marked as UTF-8 but is not; rename it and pack "
            "the archive again. Nothing was imported"
        ) from None
    except (zipfile.BadZipFile, EOFError, ValueError, struct.error) as err:
        raise DatasetError(
            f"{archive.name} is not a readable zip archive (truncated or damaged: {err})"
        ) from None


def _zip_link(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, plan: Plan) -> str:
    """A zip symlink's target: refused by its header when longer than a path may be, else read
    (at most ``max_link_target`` + 1 bytes, whatever the header says)."""
    limit = plan.limits.max_link_target
    raw = b""
    if info.file_size <= limit:  # else refused below without reading it
        with zf.open(info) as src:
            raw = src.read(limit + 1)
    if info.file_size > limit or len(raw) > limit:
        raise too_long_link(plan.archive, path, limit)
    try:
        target = raw.decode("utf-8")
    except UnicodeDecodeError:
        target = raw.decode("utf-8", "surrogateescape")
    return link_target(plan.archive, path, target, hard=False, limit=limit)


def _is_link(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def _extract_zip(archive: Path, dest: Path, plan: Plan, cancelled: Callable[[], bool]) -> None:
    zf = _open_zip(archive, plan)
    with zf:
        infos = zf.infolist()
        try:
            for info in infos:
                plan.count()
                path = member_path(archive, info.filename)
                if info.flag_bits & 0x1:
                    raise DatasetError(
                        f"{archive.name} is encrypted ('{shown(info.filename)}' needs a password); "
                        "import an unencrypted archive"
                    )
                if info.is_dir():
                    plan.add_dir(path)
                elif _is_link(info):
                    plan.add_link(path, _zip_link(zf, info, path, plan))
                else:
                    plan.add_file(path, info.file_size, info.compress_size)
            links = plan.finish(dest)
            for info in infos:
                if cancelled():
                    return
                path = member_path(archive, info.filename)
                if info.is_dir():
                    (dest / path).mkdir(parents=True, exist_ok=True)
                elif not _is_link(info):
                    with zf.open(info) as src:
                        _write(dest, path, src, plan, info.file_size)
        except RuntimeError as err:  # zipfile: "File ... is encrypted, password required ..."
            raise DatasetError(
                f"{archive.name} cannot be read: {err}; import an unencrypted archive"
            ) from None
        except NotImplementedError as err:  # an unknown compression method
            raise DatasetError(f"{archive.name} cannot be read: {err}") from None
        except (zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError, OSError, ValueError) as err:
            if isinstance(err, DatasetError):
                raise
            raise _damaged(archive, err) from None
        _resolve_links(archive, dest, links)


# ------------------------------------------------------------------------- tar
class _HeaderGuard:
    """The file a tar is read from: while headers are read, a member whose headers (a GNU long
    name or link, pax records) take more than ``HEADER_MAX`` bytes is refused before they are
    read; ``tarfile`` would read them into memory whole."""

    def __init__(self, raw: Any, archive: Path):
        self.raw, self.archive = raw, archive
        self.header_budget: int | None = None

    def read(self, n: int = -1) -> bytes:
        if self.header_budget is not None:
            if n < 0 or n > self.header_budget:
                raise DatasetError(
                    f"{self.archive.name} holds a member header of more than {size_text(HEADER_MAX)} (a name or "
                    "link target far longer than a path); the archive is damaged or hostile. Nothing was imported"
                )
            self.header_budget -= n
        return bytes(self.raw.read(n))

    def seek(self, offset: int, whence: int = 0) -> int:
        return int(self.raw.seek(offset, whence))

    def tell(self) -> int:
        return int(self.raw.tell())


def _open_raw(archive: Path) -> Any:
    with open(archive, "rb") as fh:
        magic = fh.read(6)
    if magic.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(archive, "rb")
    if magic.startswith(b"BZh"):
        return bz2.BZ2File(archive, "rb")
    if magic.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(archive, "rb")
    return open(archive, "rb")


TAR_ERRORS = (tarfile.TarError, EOFError, OSError, lzma.LZMAError, zlib.error, ValueError)


def _extract_tar(archive: Path, dest: Path, plan: Plan, cancelled: Callable[[], bool]) -> None:
    raw = _open_raw(archive)
    guard = _HeaderGuard(raw, archive)
    guard.header_budget = HEADER_MAX  # tarfile reads the first header when it opens
    try:
        try:
            tf = tarfile.open(fileobj=guard, mode="r:")  # type: ignore[call-overload]  # noqa: SIM115
        except DatasetError:
            raise
        except TAR_ERRORS as err:
            raise _damaged(
                archive, err, f"{archive.name} is not a readable tar archive (truncated or damaged: {err})"
            ) from None
        with tf:
            members = _tar_headers(tf, guard, plan, cancelled)
            links = plan.finish(dest)
            try:
                for m, path in members:
                    if cancelled():
                        return
                    if m.isdir():
                        (dest / path).mkdir(parents=True, exist_ok=True)
                    elif m.isfile():
                        src = tf.extractfile(m)
                        if src is None:
                            continue
                        with src:
                            _write(dest, path, src, plan, m.size)
                        if (dest / path).stat().st_size != m.size:
                            raise EOFError(f"member '{shown(m.name)}' is cut short")
            except DatasetError:
                raise
            except TAR_ERRORS as err:
                raise _damaged(archive, err) from None
            _resolve_links(archive, dest, links)
    finally:
        raw.close()


def _tar_headers(
    tf: tarfile.TarFile, guard: _HeaderGuard, plan: Plan, cancelled: Callable[[], bool]
) -> list[tuple[tarfile.TarInfo, str]]:
    """Read and check the headers one at a time, stopping at the first refusal."""
    archive, out = plan.archive, []
    try:
        while True:
            guard.header_budget = HEADER_MAX
            m = tf.next()
            guard.header_budget = None
            if m is None:
                break
            plan.count()
            if plan.members % 1000 == 0 and cancelled():
                break
            path = member_path(archive, m.name)
            if m.issym() or m.islnk():
                target = link_target(archive, path, m.linkname, m.islnk(), plan.limits.max_link_target)
                plan.add_link(path, target)
            elif m.isdir():
                plan.add_dir(path)
            elif m.isfile():
                plan.add_file(path, m.size)
            else:
                raise DatasetError(
                    f"{archive.name}: member '{shown(m.name)}' is a device, fifo or other special file; "
                    "refusing to import it"
                )
            out.append((m, path))
    except DatasetError:
        raise
    except TAR_ERRORS as err:
        raise _damaged(archive, err) from None
    finally:
        guard.header_budget = None
    return out


def _resolve_links(archive: Path, dest: Path, links: list[tuple[str, str]]) -> None:
    """A link inside the archive becomes a plain copy of its target (no symlink is ever written)."""
    for path, target in links:
        src = dest / target
        if not src.is_file():
            raise DatasetError(
                f"{archive.name}: the link '{path}' points to '{target}', which is not a file in the archive"
            )
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest / path)
