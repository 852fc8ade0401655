"""The image list: a thin list model over the document's paths (rows are computed when
asked for, so 10,000+ images cost nothing up front), filtered by status. A status change
updates its row in place; an image that stops matching the filter stays until the
filter changes, so the row under the user's eyes never jumps away."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from sparktrainer_gui.panels.labeling.document import STATUS_TEXT, LabelDocument

STATUS_COLORS = {
    "unlabeled": "#9aa0a6",
    "in_progress": "#f29900",
    "done": "#1e8e3e",
    "needs_review": "#d93025",
}
FILTERS = ("all", "unlabeled", "in_progress", "done", "needs_review")
PathRole = Qt.ItemDataRole.UserRole + 1
StatusRole = Qt.ItemDataRole.UserRole + 2
Index = QModelIndex | QPersistentModelIndex


_DOTS: dict[str, QIcon] = {}


def status_dot(status: str) -> QIcon:
    """A small round dot in the status colour (made once per status)."""
    if status not in _DOTS:
        pix = QPixmap(16, 16)
        pix.fill(QColor(0, 0, 0, 0))
        painter = QPainter(pix)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QColor(0, 0, 0, 0))
        painter.setBrush(QColor(STATUS_COLORS[status]))
        painter.drawEllipse(4, 4, 8, 8)
        painter.end()
        _DOTS[status] = QIcon(pix)
    return _DOTS[status]


class ImageListModel(QAbstractListModel):
    def __init__(self, doc: LabelDocument, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.filter = "all"
        self.rows: list[str] = []
        self._row_of: dict[str, int] = {}
        doc.subscribe(self._on_doc_event)

    def set_filter(self, status: str) -> None:
        if status not in FILTERS:
            raise ValueError(f"unknown filter {status!r}")
        self.filter = status
        self.refilter()

    def refilter(self) -> None:
        self.beginResetModel()
        if self.filter == "all":
            self.rows = list(self.doc.paths)
        else:
            self.rows = [p for p in self.doc.paths if self.doc.state(p).status == self.filter]
        self._row_of = {p: i for i, p in enumerate(self.rows)}
        self.endResetModel()

    def row_of(self, path: str) -> int | None:
        return self._row_of.get(path)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt override)
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        path = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return path.rsplit("/", 1)[-1]
        if role == PathRole:
            return path
        status = self.doc.state(path).status
        if role == StatusRole:
            return status
        if role == Qt.ItemDataRole.DecorationRole:
            return status_dot(status)
        if role == Qt.ItemDataRole.ToolTipRole:
            state = self.doc.state(path)
            return f"{path}\n{STATUS_TEXT[status]} · {len(state.shapes)} shapes · tags: {', '.join(state.tags) or '—'}"
        return None

    def _on_doc_event(self, event: str, payload: dict[str, Any]) -> None:
        if event == "reset":
            self.refilter()
        elif event == "image_changed":
            row = self._row_of.get(payload["path"])
            if row is not None:
                idx = self.index(row)
                self.dataChanged.emit(idx, idx)


def neighbour(
    paths: list[str], doc: LabelDocument, current: str | None, step: int, unlabeled_only: bool
) -> str | None:
    """The next (``step`` 1) or previous (-1) image after ``current`` in ``paths``; with
    ``unlabeled_only``, the nearest one still unlabeled (wrapping around once)."""
    if not paths:
        return None
    start = paths.index(current) if current in paths else (-1 if step > 0 else len(paths))
    n = len(paths)
    for k in range(1, n + 1):
        i = start + step * k
        if not unlabeled_only and not 0 <= i < n:
            return None
        path = paths[i % n]
        if not unlabeled_only or doc.state(path).status == "unlabeled":
            return path if path != current else None
    return None
