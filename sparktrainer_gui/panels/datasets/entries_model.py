"""The sample grid's model: a version's entries, paged in from the daemon as views ask.

A QAbstractTableModel with one row per file of the version (``File``, ``Label``, ``Size``);
the icon grid shows column 0, the rows view all columns. Rows whose page is not here yet
show a placeholder; asking for them queues the page (see ``paging.PagedEntries``), which is
fetched off the main thread and announced with ``dataChanged``. Image thumbnails come from a
``ThumbnailLoader`` (decoded off the main thread), keyed by the blob file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt, QTimer, Signal

from sparktrainer_gui.ops import op
from sparktrainer_gui.panels.datasets.drops import human_bytes
from sparktrainer_gui.panels.datasets.paging import PagedEntries
from sparktrainer_gui.panels.datasets.table_base import ColumnsTableModel, Index
from sparktrainer_gui.panels.datasets.thumbnails import ThumbnailLoader
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.datasets import EntriesPage, EntryView
from trainer_runtime.datasets.formats import is_image

Fetch = Callable[[str, Any, int, int], EntriesPage]  # (name, version, offset, limit) → page
COLUMNS = ("File", "Label", "Size")
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1  # the EntryView, or None while its page loads
THUMB_ROLE = Qt.ItemDataRole.UserRole + 2  # QPixmap, or None while decoding / not an image
LOADING = "…"


class EntriesModel(ColumnsTableModel):
    columns = COLUMNS

    page_failed = Signal(str)  # a sentence

    def __init__(self, conn: RuntimeConnection, fetch: Fetch, thumbnails: ThumbnailLoader,
                 parent: QObject | None = None, page_size: int = 400):  # fmt: skip
        super().__init__(parent)
        self.conn, self._fetch, self.thumbnails = conn, fetch, thumbnails
        self.page_size = page_size
        self.name: str | None = None
        self.version: int | str = "latest"
        self.paged = PagedEntries(0, page_size)
        self._token = 0  # answers for an earlier source are dropped
        self._thumb_rows: dict[str, set[int]] = {}
        self._fetch_timer = QTimer(self, singleShot=True, interval=0)
        self._fetch_timer.timeout.connect(self._fetch_wanted)
        self._in_flight = 0
        self.fetches = 0
        thumbnails.ready.connect(self._on_thumbnails_ready)

    # ----------------------------------------------------------------- source
    def set_source(self, name: str | None, version: int | str, total: int) -> None:
        """Show ``total`` entries of ``name`` at ``version`` (a different dataset: a reset)."""
        self.beginResetModel()
        self._token += 1
        self.name, self.version = name, version
        self.paged = PagedEntries(total if name else 0, self.page_size)
        self._thumb_rows.clear()
        self.endResetModel()

    def entry(self, row: int) -> EntryView | None:
        return self.paged.get(row) if self.name else None

    # ------------------------------------------------------------------- Qt
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.paged.total

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self.paged.total:
            return None
        row, col = index.row(), index.column()
        e = self.paged.get(row)
        if e is None:
            self._want_fetch()
            if role == Qt.ItemDataRole.DisplayRole and col == 0:
                return LOADING
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return e.path
            if col == 1:
                return e.label or ""
            if col == 2:
                return human_bytes(e.size)
        elif role == Qt.ItemDataRole.ToolTipRole:
            label = f" · {e.label}" if e.label else ""
            return f"{e.path}{label} · {human_bytes(e.size)}"
        elif role == ENTRY_ROLE:
            return e
        elif role == THUMB_ROLE and col == 0:
            return self.thumbnail(row, e)
        elif role == Qt.ItemDataRole.TextAlignmentRole and col == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def cell(self, row: int) -> tuple[EntryView | None, Any]:
        """(entry, thumbnail) for the grid's delegate: ``data(ENTRY_ROLE)`` and ``data(THUMB_ROLE)``
        in one call (it runs for every visible cell on every frame)."""
        e = self.paged.get(row) if 0 <= row < self.paged.total else None
        if e is None:
            self._want_fetch()
            return None, None
        return e, self.thumbnail(row, e)

    def thumbnail(self, row: int, e: EntryView) -> Any:
        blob = e.blob
        if not blob or not is_image(e.path):
            return None
        pix = self.thumbnails.get(blob)
        if pix is None and not self.thumbnails.is_cached(blob):
            rows = self._thumb_rows.setdefault(blob, set())
            rows.add(row)
            if len(self._thumb_rows) > 4 * self.thumbnails.cache_size:
                self._thumb_rows.clear()  # rows long scrolled past; they ask again when shown
        return pix

    @staticmethod
    def short_name(path: str) -> str:
        return PurePosixPath(path).name

    # ---------------------------------------------------------------- fetch
    def _want_fetch(self) -> None:
        if not self._fetch_timer.isActive():
            self._fetch_timer.start()

    def _fetch_wanted(self) -> None:
        if self.name is None or self._in_flight >= 2:
            return
        token, name, version = self._token, self.name, self.version
        for offset, limit in self.paged.take_wanted(limit=2 - self._in_flight):
            self._in_flight += 1
            self.fetches += 1
            op(self.conn, self, self._fetch, name, version, offset, limit, what="read the dataset's files") \
                .success(lambda page, o=offset, t=token: self._on_page(t, o, page)) \
                .failure(lambda err, o=offset, t=token: self._on_page_failed(t, o, err)).run()  # fmt: skip

    def _on_page(self, token: int, offset: int, page: EntriesPage) -> None:
        self._in_flight -= 1
        if token == self._token:
            first, last = self.paged.add_page(offset, page.entries)
            if page.entries:
                self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))
        if self.paged.has_wanted():
            self._want_fetch()

    def _on_page_failed(self, token: int, offset: int, err: Exception) -> None:
        self._in_flight -= 1
        if token == self._token:
            self.paged.drop_asked(offset)
            self.page_failed.emit(f"Could not read the dataset's files: {err}")

    def _on_thumbnails_ready(self, blobs: list[str]) -> None:
        rows = sorted({r for b in blobs for r in self._thumb_rows.pop(b, ()) if r < self.paged.total})
        for first, last in runs(rows):  # one signal per run of rows: a list view re-measures each row
            self.dataChanged.emit(self.index(first, 0), self.index(last, 0), [THUMB_ROLE])


def runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row numbers as (first, last) runs of consecutive rows."""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out
