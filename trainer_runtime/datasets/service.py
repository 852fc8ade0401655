"""DatasetService: everything the daemon (or a test) does with datasets, in one place.

Methods block (they read and hash files); the daemon calls them from worker threads."""

from __future__ import annotations

import logging
import shutil
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from trainer_runtime.datasets import materialize, model, quality
from trainer_runtime.datasets.blobs import BlobStore, private_folder
from trainer_runtime.datasets.detect import preview
from trainer_runtime.datasets.errors import DatasetError, check_name
from trainer_runtime.datasets.formats import TEXT_FORMATS
from trainer_runtime.datasets.importer import Importer, ProgressFn, disk_message
from trainer_runtime.datasets.limits import DEFAULT_LIMITS, Limits
from trainer_runtime.store.datasets import DatasetInfo, DatasetStore, VersionInfo

log = logging.getLogger(__name__)


class DatasetService:
    def __init__(self, root: Path, engine: Engine, limits: Limits = DEFAULT_LIMITS):
        self.root = root
        private_folder(root)
        self.store = DatasetStore(engine)
        self.blobs = BlobStore(root / "blobs")
        self.lock = threading.Lock()  # every write: imports, rollbacks, gates, deletes
        self.importer = Importer(root, self.store, self.blobs, self.lock, limits)
        self.materialized = root / "materialized"

    def clean_leftovers(self) -> None:
        """After a crash: drop staging files and extracted archives (``tmp/``, ``blobs/.staging``),
        and the blobs an import that died had created (its journal names them) that no version
        refers to.

        No other blob is removed here, however unused it looks: this runs when the daemon first
        serves a datasets call, and an empty or replaced database once made every blob look
        unused (20,000 files lost). Failed imports and deleted versions reclaim their own blobs;
        anything else is removed only by ``sparktrainer store gc`` against a consistent store."""
        with self.lock:
            for d in (self.root / "tmp", self.root / "blobs" / ".staging"):
                if d.is_dir():
                    shutil.rmtree(d, ignore_errors=True)
                    log.info("removed the staging leftovers in %s", d)
            journals, created = self.blobs.journaled(self.importer.journals)
            if journals:
                keep = self.store.referenced(list(created))
                dropped = [sha for sha in created if sha not in keep and self.blobs.remove(sha)]
                for f in journals:
                    f.unlink()
                log.info(
                    "an import was interrupted: removed the %d blob(s) it had stored that no version uses",
                    len(dropped),
                )

    # ---------------------------------------------------------------- import
    def preview(
        self, source: str | Path, fmt: str | None = None, modality: str | None = None
    ) -> dict[str, Any]:
        (self.root / "tmp").mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            return preview(Path(source), self.root / "tmp", fmt, modality, self.importer.limits)
        except OSError as err:
            raise DatasetError(
                disk_message(err, self.root)
                or f"cannot read {err.filename or source}: {err.strerror or err}; nothing was changed"
            ) from err

    def import_(
        self, source: str | Path, name: str, *, fmt: str | None = None, modality: str | None = None,
        keep_corrupt: bool = False, link: bool = False, progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
    ) -> VersionInfo:  # fmt: skip
        """Import ``source`` as a new version of ``name``. The options are keywords (the API
        passes an ``ImportRequest``'s fields by name): eight positional flags were misordered once."""
        return self.importer.run(Path(source), name, fmt, modality, keep_corrupt, link, progress, cancel)

    # ----------------------------------------------------------------- reads
    def list_datasets(self) -> list[DatasetInfo]:
        return self.store.list_datasets()

    def get(self, name: str) -> DatasetInfo:
        return self.store.get(check_name(name))

    def versions(self, name: str) -> list[VersionInfo]:
        return self.store.versions(check_name(name))

    def entries(self, name: str, version: int | str = "latest") -> tuple[VersionInfo, list[model.Entry]]:
        return self.store.entries(check_name(name), version)

    def entries_page(
        self, name: str, version: int | str, offset: int, limit: int
    ) -> tuple[VersionInfo, list[dict[str, Any]]]:
        """A page of entries as JSON, each with ``blob``: the stored file's path (read-only)."""
        info, entries = self.store.entries_page(check_name(name), version, offset, limit)
        return info, [{**e.to_json(), "blob": str(self.blobs.path(e.sha256))} for e in entries]

    def diff(self, name: str, a: int | str, b: int | str) -> dict[str, Any]:
        va, ea = self.entries(name, a)
        vb, eb = self.entries(name, b)
        return {"dataset": name, "from": va.number, "to": vb.number, **model.diff(ea, eb)}

    def verify(self, name: str, version: int | str = "latest") -> dict[str, Any]:
        info, entries = self.entries(name, version)
        return {"dataset": name, "version": info.number, **quality.verify(self.blobs, entries)}

    def quality(self, name: str, version: int | str = "latest", **options: Any) -> dict[str, Any]:
        info, entries = self.entries(name, version)
        rep = quality.report(self.blobs, info.meta, entries, limits=self.importer.limits, **options)
        return {"dataset": name, "version": info.number, **rep}

    # ---------------------------------------------------------------- writes
    def _commit(
        self, info: VersionInfo, entries: list[model.Entry], message: str, **meta: Any
    ) -> VersionInfo:
        """A new version from blobs that are already stored (no file is copied)."""
        ds = self.store.get(info.dataset)
        with self.lock:
            missing = [e.path for e in entries if not self.blobs.has(e.sha256)]
            if missing:
                raise DatasetError(
                    f"{len(missing)} file(s) of version {info.number} are missing from storage "
                    f"(first: {missing[0]}); run verify"
                )
            return self.store.add_version(
                info.dataset, ds.modality, ds.format, entries, model.manifest_hash(entries),
                {**info.meta, **meta}, message,
            )  # fmt: skip

    def commit(
        self, info: VersionInfo, entries: list[model.Entry], message: str,
        new_blobs: dict[str, bytes] | None = None, **meta: Any,
    ) -> VersionInfo:  # fmt: skip
        """A new version of ``info.dataset`` made of ``entries``: files already stored, plus the
        small files ``new_blobs`` (sha256 → bytes; a labelled version's class map) stored first.
        A crash in between leaves an unused blob, which ``sparktrainer store gc`` removes."""
        with self.lock:
            self.blobs.ensure()
            for sha, data in (new_blobs or {}).items():
                self.blobs.put_bytes(data, sha)
        return self._commit(info, entries, message, **meta)

    def rollback(self, name: str, version: int) -> VersionInfo:
        """A new version whose manifest equals ``version``'s (so has the same manifest hash)."""
        info, entries = self.entries(name, version)
        return self._commit(info, entries, f"rollback to version {info.number}", rolled_back_from=info.number)

    def apply_gates(self, name: str, version: int | str, gates: list[str], **options: Any) -> dict[str, Any]:
        info, entries = self.entries(name, version)
        rep = quality.report(self.blobs, info.meta, entries, limits=self.importer.limits, **options)
        kept, dropped = quality.apply_gates(entries, rep, gates)
        if not dropped:
            return {
                "dataset": name,
                "version": None,
                "dropped": [],
                "message": "nothing to drop; no version made",
                "info": None,
            }
        meta: dict[str, Any] = {
            "item_count": max(0, info.meta.get("item_count", 0) - sum(map(model.is_image, dropped)))
        }
        meta["corrupt"] = [p for p in info.meta.get("corrupt", []) if p not in set(dropped)]
        if info.meta.get("format") == "image-folder":
            meta["classes"] = dict(sorted(Counter(e.label for e in kept if e.label).items()))
        new = self._commit(info, kept, f"quality gates {','.join(gates)} on version {info.number}", **meta)
        return {"dataset": name, "version": new.number, "dropped": dropped, "info": new.to_json(),
                "message": f"dropped {len(dropped)} file(s); version {new.number} made"}  # fmt: skip

    def delete_version(self, name: str, version: int) -> dict[str, Any]:
        """Delete one version; its blobs are reclaimed only when no other version uses them."""
        with self.lock:
            orphans = self.store.delete_version(check_name(name), int(version))
            for sha in orphans:
                self.blobs.remove(sha)
        return {"dataset": name, "version": int(version), "reclaimed_blobs": len(orphans)}

    # ------------------------------------------------------------------ jobs
    def materialize_text(self, name: str, version: int | str = "latest") -> tuple[VersionInfo, Path]:
        """A read-only .txt or .jsonl file of a text dataset version, for a training worker,
        built once per manifest hash under ``materialized/`` (``materialize.text_corpus``)."""
        info, entries = self.entries(name, version)
        fmt = info.meta.get("format")
        if fmt not in TEXT_FORMATS:
            raise DatasetError(
                f"dataset '{name}' version {info.number} is {info.meta.get('modality', 'non-text')} data "
                f"({fmt}); this recipe trains on a text dataset (.txt, JSONL, CSV or Parquet with a text column)"
            )
        return info, materialize.text_corpus(
            self.blobs, self.materialized, info, entries, self.importer.limits
        )

    def materialize_files(self, name: str, version: int | str = "latest") -> tuple[VersionInfo, Path]:
        """The version's files as a read-only folder tree (hard links to the blobs, copies across
        devices), for recipes that read a folder (an image folder) or one file (a CSV). Returns
        the folder, or the file itself when the version holds exactly one."""
        info, entries = self.entries(name, version)
        folder = materialize.files_tree(self.blobs, self.materialized, info, entries)
        return info, (folder / entries[0].path if len(entries) == 1 else folder)

    def materialize_images(self, name: str, version: int | str = "latest") -> tuple[VersionInfo, Path]:
        """An image dataset version as a read-only folder tree (``files/``) with ``labels.json``
        beside it: ``{"images": {path: manifest label or null}}``, for the image recipes (their
        workers read files only, never the store)."""
        info, entries = self.entries(name, version)
        if info.meta.get("modality") != "image":
            raise DatasetError(
                f"dataset '{name}' version {info.number} is {info.meta.get('modality', 'non-image')} data "
                f"({info.meta.get('format')}); this recipe needs an image dataset "
                "(an image folder, flat images, COCO or YOLO)"
            )
        folder = materialize.files_tree(self.blobs, self.materialized, info, entries)
        materialize.labels_file(self.blobs, folder.parent, entries)
        return info, folder
