"""``sparktrainer store gc``: remove stored dataset files no version uses, only against a
consistent store, only when asked, and never while a daemon runs.

The daemon itself never deletes a blob on a guess: a failed or cancelled import removes the
blobs it wrote, deleting a version removes the blobs only it used, and that is all. What a
crash leaves behind (an import killed between writing blobs and committing its manifest) stays
until this command runs. Before it deletes anything it checks that the database is this data
dir's store (the ids in the database and in store.json agree), that every blob a version uses
exists (a database that does not match the blob folder, such as a backup restored over newer
data, would call the newer files orphans), and that the store has dataset versions at all or
the blob folder is empty. Dry run by default; ``--apply`` deletes and logs what it deleted.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from trainer_runtime.datasets.blobs import BlobStore
from trainer_runtime.paths import DataDir
from trainer_runtime.store.identity import StoreRefused, read_marker, store_id_of
from trainer_runtime.store.models import DatasetEntry, DatasetVersion

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GcReport:
    stored: int
    referenced: int
    orphans: list[str]
    orphan_bytes: int
    removed: int


def check_consistent(data: DataDir, engine: Engine) -> tuple[set[str], set[str]]:
    """(referenced, stored) blob hashes, or StoreRefused saying why nothing may be deleted."""
    marker, store_id = read_marker(data), store_id_of(engine)
    if marker is None or store_id is None or marker.store_id != store_id:
        raise StoreRefused(
            f"the database's store id ({store_id or 'none'}) and store.json's "
            f"({marker.store_id if marker else 'none'}) do not agree, so no file is deleted; start the "
            "runtime once (it checks and records the store's identity), then run gc again"
        )
    with engine.connect() as conn:
        referenced = set(conn.scalars(select(DatasetEntry.sha256).distinct()))
        has_versions = conn.scalar(select(DatasetVersion.id).limit(1)) is not None
    stored = BlobStore(data.blobs).existing()
    missing = referenced - stored
    if missing:
        raise StoreRefused(
            f"{len(missing)} stored file(s) that dataset versions use are missing from {data.blobs} "
            f"(first: {sorted(missing)[0]}), so the database does not match the files and no file is "
            "deleted; check with `sparktrainer datasets verify NAME` or restore the matching backup"
        )
    if stored and not has_versions:
        raise StoreRefused(
            f"the store has no dataset version but {data.blobs} holds {len(stored)} file(s); gc deletes "
            "nothing against a store that may have lost its datasets (move the blobs folder away if "
            "they are really unwanted)"
        )
    return referenced, stored


def collect(data: DataDir, engine: Engine, apply: bool = False) -> GcReport:
    """Find (and with ``apply`` remove) the blobs no version uses; the caller holds daemon.lock."""
    referenced, stored = check_consistent(data, engine)
    blobs = BlobStore(data.blobs)
    orphans = sorted(stored - referenced)
    size = 0
    for sha in orphans:
        try:
            size += os.lstat(blobs.path(sha)).st_size
        except FileNotFoundError:
            continue
    removed = sum(blobs.remove(sha) for sha in orphans) if apply else 0
    if removed:
        log.warning(
            "store gc removed %d stored file(s) (%d bytes) that no dataset version uses", removed, size
        )
    return GcReport(len(stored), len(referenced), orphans, size, removed)
