"""Dataset rows: named datasets, immutable versions and their manifests.

Returns plain dataclasses; ORM objects never leave this module. A version and all its manifest
entries are written in one transaction, so a version is either whole or absent."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from trainer_runtime.datasets.errors import DatasetNotFound
from trainer_runtime.datasets.model import Entry
from trainer_runtime.store import db
from trainer_runtime.store.models import Dataset, DatasetEntry, DatasetVersion

CHUNK = 500


def _iso(dt: datetime) -> str:
    return dt.isoformat() + "Z"


@dataclass(frozen=True)
class VersionInfo:
    dataset: str
    number: int
    manifest_hash: str
    file_count: int
    total_bytes: int
    message: str
    meta: dict[str, Any]
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset, "version": self.number, "manifest_hash": self.manifest_hash,
            "files": self.file_count, "total_bytes": self.total_bytes, "message": self.message,
            "meta": self.meta, "created_at": _iso(self.created_at),
        }  # fmt: skip


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    modality: str
    format: str
    created_at: datetime
    versions: int
    latest: VersionInfo | None

    def to_json(self) -> dict[str, Any]:
        latest = self.latest
        return {
            "name": self.name, "modality": self.modality, "format": self.format,
            "created_at": _iso(self.created_at), "versions": self.versions,
            "latest": latest.number if latest else None,
            "manifest_hash": latest.manifest_hash if latest else None,
            "files": latest.file_count if latest else 0,
            "total_bytes": latest.total_bytes if latest else 0,
            "items": latest.meta.get("item_count", 0) if latest else 0,
            "classes": latest.meta.get("classes", {}) if latest else {},
            "updated_at": _iso(latest.created_at) if latest else _iso(self.created_at),
        }  # fmt: skip


def _version(row: DatasetVersion, name: str) -> VersionInfo:
    return VersionInfo(
        name, row.number, row.manifest_hash, row.file_count, row.total_bytes, row.message,
        json.loads(row.meta_json), row.created_at,
    )  # fmt: skip


class DatasetStore:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions = db.session_factory(engine)

    def _dataset(self, s: Session, name: str) -> Dataset:
        row = s.scalar(select(Dataset).where(Dataset.name == name))
        if row is None:
            raise DatasetNotFound(name)
        return row

    def _version_row(self, s: Session, ds: Dataset, number: int | str) -> DatasetVersion:
        q = select(DatasetVersion).where(DatasetVersion.dataset_id == ds.id)
        if number == "latest":
            row = s.scalar(q.order_by(DatasetVersion.number.desc()).limit(1))
        else:
            row = s.scalar(q.where(DatasetVersion.number == int(number)))
        if row is None:
            raise DatasetNotFound(ds.name, None if number == "latest" else int(number))
        return row

    # ------------------------------------------------------------------ writes
    def add_version(
        self, name: str, modality: str, fmt: str, entries: list[Entry], manifest_hash: str,
        meta: dict[str, Any], message: str,
    ) -> VersionInfo:  # fmt: skip
        """Create the dataset if needed and commit a new version with its whole manifest."""
        with self._sessions() as s, s.begin():
            ds = s.scalar(select(Dataset).where(Dataset.name == name))
            if ds is None:
                ds = Dataset(name=name, modality=modality, format=fmt, next_number=1)
                s.add(ds)
                s.flush()
            ds.modality, ds.format = modality, fmt
            row = DatasetVersion(
                dataset_id=ds.id, number=ds.next_number, manifest_hash=manifest_hash,
                file_count=len(entries), total_bytes=sum(e.size for e in entries),
                message=message, meta_json=json.dumps(meta, sort_keys=True),
            )  # fmt: skip
            ds.next_number += 1
            s.add(row)
            s.flush()
            values = [
                {"version_id": row.id, "path": e.path, "sha256": e.sha256, "size": e.size, "label": e.label}
                for e in entries
            ]
            for i in range(0, len(values), 5000):
                s.execute(insert(DatasetEntry), values[i : i + 5000])
            return _version(row, name)

    def delete_version(self, name: str, number: int) -> list[str]:
        """Delete one version; returns the blob hashes no version refers to any more.
        The dataset goes too when its last version goes."""
        with self._sessions() as s, s.begin():
            ds = self._dataset(s, name)
            row = self._version_row(s, ds, number)
            shas = set(s.scalars(select(DatasetEntry.sha256).where(DatasetEntry.version_id == row.id)))
            s.execute(delete(DatasetEntry).where(DatasetEntry.version_id == row.id))
            s.delete(row)
            s.flush()
            left = s.scalar(
                select(func.count()).select_from(DatasetVersion).where(DatasetVersion.dataset_id == ds.id)
            )
            if not left:
                s.delete(ds)
            return sorted(shas - self._referenced(s, shas))

    # ------------------------------------------------------------------- reads
    @staticmethod
    def _referenced(s: Session, shas: Iterable[str]) -> set[str]:
        shas = list(shas)
        out: set[str] = set()
        for i in range(0, len(shas), CHUNK):
            chunk = shas[i : i + CHUNK]
            out.update(
                s.scalars(select(DatasetEntry.sha256).where(DatasetEntry.sha256.in_(chunk)).distinct())
            )
        return out

    def referenced(self, shas: Iterable[str]) -> set[str]:
        with self._sessions() as s:
            return self._referenced(s, shas)

    def list_datasets(self) -> list[DatasetInfo]:
        with self._sessions() as s:
            return [self._info(s, ds) for ds in s.scalars(select(Dataset).order_by(Dataset.name))]

    def get(self, name: str) -> DatasetInfo:
        with self._sessions() as s:
            return self._info(s, self._dataset(s, name))

    def _info(self, s: Session, ds: Dataset) -> DatasetInfo:
        count = s.scalar(
            select(func.count()).select_from(DatasetVersion).where(DatasetVersion.dataset_id == ds.id)
        )
        latest = s.scalar(
            select(DatasetVersion)
            .where(DatasetVersion.dataset_id == ds.id)
            .order_by(DatasetVersion.number.desc())
        )
        return DatasetInfo(
            ds.name,
            ds.modality,
            ds.format,
            ds.created_at,
            count or 0,
            _version(latest, ds.name) if latest else None,
        )

    def versions(self, name: str) -> list[VersionInfo]:
        with self._sessions() as s:
            ds = self._dataset(s, name)
            rows = s.scalars(
                select(DatasetVersion)
                .where(DatasetVersion.dataset_id == ds.id)
                .order_by(DatasetVersion.number)
            )
            return [_version(r, name) for r in rows]

    def latest(self, name: str) -> VersionInfo | None:
        """The newest version of ``name``, or None when there is no such dataset."""
        with self._sessions() as s:
            ds = s.scalar(select(Dataset).where(Dataset.name == name))
            if ds is None:
                return None
            row = s.scalar(
                select(DatasetVersion)
                .where(DatasetVersion.dataset_id == ds.id)
                .order_by(DatasetVersion.number.desc())
            )
            return _version(row, name) if row is not None else None

    def version(self, name: str, number: int | str = "latest") -> VersionInfo:
        with self._sessions() as s:
            return _version(self._version_row(s, self._dataset(s, name), number), name)

    def entries(self, name: str, number: int | str = "latest") -> tuple[VersionInfo, list[Entry]]:
        with self._sessions() as s:
            row = self._version_row(s, self._dataset(s, name), number)
            rows = s.execute(
                select(DatasetEntry.path, DatasetEntry.sha256, DatasetEntry.size, DatasetEntry.label)
                .where(DatasetEntry.version_id == row.id)
                .order_by(DatasetEntry.path)
            )
            return _version(row, name), [Entry(p, h, n, lbl) for p, h, n, lbl in rows]

    def entries_page(
        self, name: str, number: int | str, offset: int, limit: int
    ) -> tuple[VersionInfo, list[Entry]]:
        """One page of a version's manifest in path order (the primary key's order, so a page
        costs an index walk, not the whole manifest)."""
        with self._sessions() as s:
            row = self._version_row(s, self._dataset(s, name), number)
            rows = s.execute(
                select(DatasetEntry.path, DatasetEntry.sha256, DatasetEntry.size, DatasetEntry.label)
                .where(DatasetEntry.version_id == row.id)
                .order_by(DatasetEntry.path)
                .offset(offset)
                .limit(limit)
            )
            return _version(row, name), [Entry(p, h, n, lbl) for p, h, n, lbl in rows]
