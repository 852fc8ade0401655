"""Skip re-hashing files that have not changed since the last import of the same source.

Rule: a file's hash is taken from the cache, without reading the file, only when its absolute
path, size, modification time in nanoseconds and inode number all equal those recorded by the
previous successful import of the same source folder, and the blob of that hash still exists.
Any difference (a touched, rewritten, replaced or moved file) makes it hashed again. A file
changed in place within the same nanosecond timestamp and size would be missed; ``verify``
re-hashes everything and finds that. Archives are always extracted and hashed again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from pathlib import Path

log = logging.getLogger(__name__)
Key = tuple[int, int, int]  # size, mtime_ns, inode


def key_of(st: os.stat_result) -> Key:
    return (st.st_size, st.st_mtime_ns, st.st_ino)


class StatCache:
    def __init__(self, folder: Path, source: Path):
        digest = hashlib.sha256(str(source).encode()).hexdigest()[:32]
        self.file = folder / f"{digest}.json"
        self.source = str(source)
        self.old: dict[str, list] = {}
        self.new: dict[str, list] = {}

    def load(self) -> StatCache:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return self
        except (OSError, ValueError) as err:
            log.warning("ignoring the unreadable import cache %s: %s", self.file, err)
            return self
        if isinstance(data, dict) and data.get("source") == self.source:
            self.old = data.get("files") or {}
        return self

    def lookup(self, path: str, key: Key) -> str | None:
        hit = self.old.get(path)
        if hit and len(hit) == 4 and tuple(hit[:3]) == key:
            return str(hit[3])
        return None

    def record(self, path: str, key: Key, sha: str) -> None:
        self.new[path] = [*key, sha]

    def save(self) -> None:
        if self.new == self.old:
            return  # nothing changed since the last import of this source
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_name(f".{uuid.uuid4().hex}.tmp")
        try:
            tmp.write_text(json.dumps({"source": self.source, "files": self.new}), encoding="utf-8")
            os.replace(tmp, self.file)
        except OSError as err:  # the cache only saves time; an import never fails for it
            log.warning("could not save the import cache %s: %s", self.file, err)
            tmp.unlink(missing_ok=True)
