"""What an archive's headers must satisfy before a byte of it is written: member names (no
absolute path, no ``..``, UTF-8, not too long), the member count, per-member and total sizes
and ratios, links that stay inside the archive, and a layout without a name used twice or as
both a file and a folder. ``Plan`` collects the checked members as the headers are read, so a
hostile archive is refused as soon as its headers say so."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from trainer_runtime.datasets.errors import DatasetError
from trainer_runtime.datasets.limits import Limits, size_text

NAME_MAX = 255  # bytes per path component (Linux)
PATH_MAX = 4096


def shown(name: str) -> str:
    """A name as it can be shown in a sentence: bytes that are not UTF-8 as ``\\xe9``, control
    characters escaped, at most 200 characters."""
    raw = name.encode("utf-8", "surrogateescape")
    text = raw.decode("utf-8", "backslashreplace")
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return text if len(text) <= 200 else text[:200] + "…"


def member_path(archive: Path, name: str) -> PurePosixPath:
    """The member's path inside the dataset; refuses paths that would write elsewhere and names
    the file system cannot hold as they are."""
    if any("\udc80" <= c <= "\udcff" for c in name):
        raise DatasetError(
            f"{archive.name} holds a member whose name is not UTF-8 ('{shown(name)}'); rename it "
            "(e.g. with convmv) and pack the archive again. Nothing was imported"
        )
    raw = name.replace("\\", "/")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise DatasetError(
            f"{archive.name} holds a member with an absolute path ('{shown(name)}'); refusing to import "
            "an archive that writes outside its own folder"
        )
    parts = [p for p in PurePosixPath(raw).parts if p not in ("", ".")]
    if ".." in parts:
        raise DatasetError(
            f"{archive.name} holds a member whose path climbs out of the archive ('{shown(name)}'); "
            "refusing to import it"
        )
    if any(len(p.encode("utf-8")) > NAME_MAX for p in parts) or len(raw.encode("utf-8")) > PATH_MAX:
        raise DatasetError(
            f"{archive.name} holds a member whose name is too long for the file system "
            f"('{shown(name)}'; at most {NAME_MAX} bytes per name and {PATH_MAX} in all)"
        )
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def too_long_link(archive: Path, member: PurePosixPath, limit: int) -> DatasetError:
    return DatasetError(
        f"{archive.name}: the link '{member}' has a target of more than {limit:,} bytes, which is not a "
        "path; refusing to import it"
    )


def link_target(archive: Path, member: PurePosixPath, target: str, hard: bool, limit: int) -> PurePosixPath:
    """The archive path a link at ``member`` points to; refused when it leaves the archive or
    is not a path at all (over ``limit`` bytes, control characters, not UTF-8)."""
    if len(target.encode("utf-8", "surrogateescape")) > limit:
        raise too_long_link(archive, member, limit)
    if not target.isprintable() or any("\udc80" <= c <= "\udcff" for c in target):
        raise DatasetError(
            f"{archive.name}: the link '{member}' has a target that is not a UTF-8 path "
            f"('{shown(target[:60])}'); refusing to import it"
        )
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


@dataclass
class Plan:
    """The members seen so far, checked as each header is read."""

    archive: Path
    limits: Limits
    archive_size: int
    files: dict[str, int] = field(default_factory=dict)  # path → declared size
    dirs: set[str] = field(default_factory=set)
    links: list[tuple[PurePosixPath, PurePosixPath]] = field(default_factory=list)
    members: int = 0
    total: int = 0

    def count(self, n: int = 1) -> None:
        self.members += n
        if self.members > self.limits.max_members:
            raise DatasetError(
                f"{self.archive.name} holds more than {self.limits.max_members:,} members, the most one import "
                "takes; split it into smaller archives or import the unpacked folder. Nothing was imported"
            )

    def add_dir(self, path: PurePosixPath) -> None:
        if str(path) == ".":
            return
        self._parents(path)
        if str(path) in self.files:
            self._both(str(path))
        self.dirs.add(str(path))

    def add_file(self, path: PurePosixPath, size: int, compressed: int | None = None) -> None:
        key = str(path)
        if key == ".":
            raise DatasetError(f"{self.archive.name} holds a file member without a name; it is damaged")
        if key in self.files:
            raise DatasetError(
                f"{self.archive.name} holds the member '{key}' more than once; which copy is meant is unclear, "
                "so it is not imported"
            )
        if key in self.dirs:
            self._both(key)
        self._parents(path)
        self.files[key] = size
        self._size(key, size, compressed)

    def add_link(self, path: PurePosixPath, target: PurePosixPath) -> None:
        self.add_file(path, 0)
        self.links.append((path, target))

    def _parents(self, path: PurePosixPath) -> None:
        for parent in path.parents:
            key = str(parent)
            if key == ".":
                break
            if key in self.files:
                self._both(key)
            self.dirs.add(key)

    def _both(self, key: str) -> None:
        raise DatasetError(
            f"{self.archive.name} holds both a file and a folder named '{key}'; which one is meant is unclear, "
            "so it is not imported"
        )

    def _size(self, key: str, size: int, compressed: int | None) -> None:
        lim = self.limits
        if size > lim.max_member_bytes:
            raise DatasetError(
                f"{self.archive.name}: member '{key}' says it is {size_text(size)}, more than the "
                f"{size_text(lim.max_member_bytes)} one member may be; refusing to extract it"
            )
        if (
            compressed is not None
            and size >= lim.ratio_min_bytes
            and size > lim.max_ratio * max(compressed, 1)
        ):
            raise DatasetError(
                f"{self.archive.name}: member '{key}' expands {size / max(compressed, 1):.0f}× "
                f"(over {lim.max_ratio:g}×, a zip bomb?); refusing to extract it"
            )
        self.add_bytes(size)

    def add_bytes(self, n: int) -> None:
        """Count ``n`` more bytes to be written; refused over the total or the total ratio."""
        self.total += n
        lim = self.limits
        if self.total > lim.max_total_bytes:
            raise DatasetError(
                f"{self.archive.name} unpacks to more than {size_text(lim.max_total_bytes)} "
                "(a zip bomb?); refusing to extract it"
            )
        if self.total >= lim.ratio_min_bytes and self.total > lim.max_ratio * max(self.archive_size, 1):
            raise DatasetError(
                f"{self.archive.name} expands at least {self.total / max(self.archive_size, 1):.0f}× "
                f"(over {lim.max_ratio:g}×, a zip bomb?); refusing to extract it"
            )

    def finish(self, dest: Path) -> list[tuple[PurePosixPath, PurePosixPath]]:
        """Count what the links will copy, check the free space of the data dir, and return each
        link with the file it finally points to (a link to a link is followed)."""
        links = dict(self.links)
        resolved = []
        for path, target in self.links:
            seen = {path}
            while target in links and target not in seen:
                seen.add(target)
                target = links[target]
            size = self.files.get(str(target))
            if size is None or target in links:
                raise DatasetError(
                    f"{self.archive.name}: the link '{path}' points to '{target}', which is not a file "
                    "in the archive"
                )
            self.add_bytes(size)
            resolved.append((path, target))
        free = shutil.disk_usage(dest).free
        if self.total > free:
            raise DatasetError(
                f"{self.archive.name} unpacks to {self.total / 2**20:.0f} MiB but the disk holding the data dir "
                f"has only {free / 2**20:.0f} MiB free; free some space and import again. Nothing was stored"
            )
        return resolved
