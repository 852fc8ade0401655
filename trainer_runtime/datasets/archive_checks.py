"""What an archive's headers must satisfy before a byte of it is written: member names (no
absolute path, no ``..``, UTF-8, not too long), the member count, per-member and total sizes
and ratios, links that stay inside the archive, and a layout without a name used twice or as
both a file and a folder. ``Plan`` collects the checked members as the headers are read, so a
hostile archive is refused as soon as its headers say so."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

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


def _utf8(text: str) -> bytes | None:
    """``text`` as UTF-8, or None when it holds bytes that were not UTF-8 (surrogate escapes)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None


def member_path(archive: Path, name: str) -> str:
    """The member's path inside the dataset ("a/b.txt", "." for the root); refuses paths that
    would write elsewhere and names the file system cannot hold as they are. Plain string
    work: it runs for every header of a 100,000-member archive."""
    encoded = _utf8(name)
    if encoded is None:
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
    parts = [p for p in raw.split("/") if p and p != "."]
    if ".." in parts:
        raise DatasetError(
            f"{archive.name} holds a member whose path climbs out of the archive ('{shown(name)}'); "
            "refusing to import it"
        )
    if len(encoded) > PATH_MAX or (
        len(encoded) > NAME_MAX and any(len(p.encode()) > NAME_MAX for p in parts)
    ):
        raise DatasetError(
            f"{archive.name} holds a member whose name is too long for the file system "
            f"('{shown(name)}'; at most {NAME_MAX} bytes per name and {PATH_MAX} in all)"
        )
    return "/".join(parts) or "."


def too_long_link(archive: Path, member: str, limit: int) -> DatasetError:
    return DatasetError(
        f"{archive.name}: the link '{member}' has a target of more than {limit:,} bytes, which is not a "
        "path; refusing to import it"
    )


def link_target(archive: Path, member: str, target: str, hard: bool, limit: int) -> str:
    """The archive path a link at ``member`` points to; refused when it leaves the archive or
    is not a path at all (over ``limit`` bytes, control characters, not UTF-8)."""
    if len(target.encode("utf-8", "surrogateescape")) > limit:
        raise too_long_link(archive, member, limit)
    if not target.isprintable() or _utf8(target) is None:
        raise DatasetError(
            f"{archive.name}: the link '{member}' has a target that is not a UTF-8 path "
            f"('{shown(target[:60])}'); refusing to import it"
        )
    if target.startswith("/"):
        raise DatasetError(
            f"{archive.name}: the link '{member}' points to '{target}', outside the archive; refusing to import it"
        )
    base = [] if hard else member.split("/")[:-1]
    parts: list[str] = []
    for p in [*base, *target.split("/")]:
        if p == "..":
            if not parts:
                raise DatasetError(
                    f"{archive.name}: the link '{member}' points to '{target}', outside the archive; "
                    "refusing to import it"
                )
            parts.pop()
        elif p not in ("", "."):
            parts.append(p)
    return "/".join(parts) or "."


@dataclass
class Plan:
    """The members seen so far, checked as each header is read."""

    archive: Path
    limits: Limits
    archive_size: int
    files: dict[str, int] = field(default_factory=dict)  # path → declared size
    dirs: set[str] = field(default_factory=set)
    links: list[tuple[str, str]] = field(default_factory=list)
    members: int = 0
    total: int = 0

    def count(self, n: int = 1) -> None:
        self.members += n
        if self.members > self.limits.max_members:
            raise DatasetError(
                f"{self.archive.name} holds more than {self.limits.max_members:,} members, the most one import "
                "takes; split it into smaller archives or import the unpacked folder. Nothing was imported"
            )

    def add_dir(self, key: str) -> None:
        if key == ".":
            return
        self._parents(key)
        if key in self.files:
            self._both(key)
        self.dirs.add(key)

    def add_file(self, key: str, size: int, compressed: int | None = None) -> None:
        if key == ".":
            raise DatasetError(f"{self.archive.name} holds a file member without a name; it is damaged")
        if key in self.files:
            raise DatasetError(
                f"{self.archive.name} holds the member '{key}' more than once; which copy is meant is unclear, "
                "so it is not imported"
            )
        if key in self.dirs:
            self._both(key)
        self._parents(key)
        self.files[key] = size
        self._size(key, size, compressed)

    def add_link(self, key: str, target: str) -> None:
        self.add_file(key, 0)
        self.links.append((key, target))

    def _parents(self, key: str) -> None:
        """Every folder above ``key`` is a folder, not a file (a folder already known had its own
        parents checked when it was added)."""
        i = key.rfind("/")
        while i > 0:
            parent = key[:i]
            if parent in self.dirs:
                return
            if parent in self.files:
                self._both(parent)
            self.dirs.add(parent)
            i = key.rfind("/", 0, i)

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

    def finish(self, dest: Path) -> list[tuple[str, str]]:
        """Count what the links will copy, check the free space of the data dir, and return each
        link with the file it finally points to (a link to a link is followed)."""
        links = dict(self.links)
        resolved = []
        for path, target in self.links:
            seen = {path}
            while target in links and target not in seen:
                seen.add(target)
                target = links[target]
            size = self.files.get(target)
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
