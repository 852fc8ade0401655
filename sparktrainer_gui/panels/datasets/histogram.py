"""A small horizontal bar chart of class counts (the largest classes first)."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from sparktrainer_gui import theme

MAX_BARS = 24
BAR = 18


def bars(classes: dict[str, int], limit: int = MAX_BARS) -> list[tuple[str, int]]:
    """The classes to draw, largest first; the rest summed into one "(N more)" bar."""
    ordered = sorted(classes.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(ordered) <= limit:
        return ordered
    rest = ordered[limit - 1 :]
    return [*ordered[: limit - 1], (f"({len(rest)} more)", sum(n for _, n in rest))]


class ClassHistogram(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("classHistogram")
        self._bars: list[tuple[str, int]] = []
        self._empty = "No classes"
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_classes(self, classes: dict[str, int] | None, empty: str = "No classes") -> None:
        self._bars = bars(classes or {})
        self._empty = empty
        self.updateGeometry()
        self.update()

    def classes(self) -> list[tuple[str, int]]:
        return list(self._bars)

    def sizeHint(self) -> QSize:
        return QSize(260, max(40, 12 + len(self._bars) * (BAR + 4)))

    def minimumSizeHint(self) -> QSize:
        return QSize(160, 40)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.Text)
        if not self._bars:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(self.rect(), int(Qt.AlignmentFlag.AlignCenter), self._empty)
            return
        fm = self.fontMetrics()
        label_w = min(max(fm.horizontalAdvance(n) for n, _ in self._bars) + 20, self.width() // 3)
        count_w = max(fm.horizontalAdvance(f"{c:,}") for _, c in self._bars) + 8
        top = max(c for _, c in self._bars) or 1
        span = max(10, self.width() - label_w - count_w - 12)
        accent = QColor(theme.colors()["accent"])
        y = 6
        for name, count in self._bars:
            p.setPen(text)
            p.drawText(QRect(2, y, label_w - 8, BAR),
                       int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                       fm.elidedText(name, Qt.TextElideMode.ElideRight, label_w - 10))  # fmt: skip
            w = max(2, round(span * count / top))
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(accent)
            p.drawRoundedRect(QRect(label_w, y + 2, w, BAR - 4), 3, 3)
            p.setPen(text)
            p.drawText(QRect(label_w + w + 6, y, count_w, BAR),
                       int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), f"{count:,}")  # fmt: skip
            y += BAR + 4
