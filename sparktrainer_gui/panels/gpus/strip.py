"""The MIG strip: a GPU's placement slots left to right, the planned instances on them.

Click an empty place to put the chosen profile there (at the allowed start that covers the
click), drag an instance to move it, right-click (or Delete) to remove it. While the pointer
moves, a ghost shows where the profile would land: green when it fits, red with the reason
(``hint_changed``) when it does not. Geometry and the rules are in :mod:`.geometry`."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from sparktrainer_gui import theme
from sparktrainer_gui.panels.gpus.geometry import (
    Profile,
    Slot,
    StripGeometry,
    instance_at,
    refusal,
    slot_range,
    start_for,
)

MARGIN = 12
BAR_TOP, BAR_H = 8, 58
INSTANCE_COLORS = ("#3b6ef5", "#1e9e5a", "#8e44ad", "#e8710a", "#c0392b", "#16a2b8", "#b8860b", "#6d4c41")
OK_COLOR, BAD_COLOR = "#1e9e5a", "#d93025"


class MigStrip(QWidget):
    layout_edited = Signal(list)  # the new layout: [Slot, ...]
    hint_changed = Signal(str, bool)  # a sentence about the pointer's place; True when it fits

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("migStrip")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.profiles: dict[str, Profile] = {}
        self.slots = 0
        self.compute = 0  # the GPU's compute slices
        self.planned: list[Slot] = []
        self.profile: str | None = None  # the profile a click places
        self.hover: int | None = None  # slot under the pointer
        self.dragging: int | None = None  # index in planned being moved
        self.selected: int | None = None
        self.hint = ""

    # ----------------------------------------------------------------- state
    def configure(self, profiles: dict[str, Profile], slots: int, compute: int = 0) -> None:
        self.profiles, self.slots, self.compute = profiles, slots, compute
        self.update()

    def set_layout(self, layout: list[Slot]) -> None:
        self.planned = list(layout)
        self.selected = self.dragging = None
        self.update()

    def set_profile(self, name: str | None) -> None:
        self.profile = name
        self.update()

    def strip_geometry(self) -> StripGeometry:
        return StripGeometry(self.slots, max(1.0, self.width() - 2 * MARGIN), MARGIN)

    def sizeHint(self) -> QSize:
        return QSize(640, BAR_TOP + BAR_H + 24)

    def minimumSizeHint(self) -> QSize:
        return QSize(320, BAR_TOP + BAR_H + 24)

    # --------------------------------------------------------------- editing
    def _say(self, text: str, ok: bool) -> None:
        self.hint = text
        self.hint_changed.emit(text, ok)

    def place(self, slot: int) -> bool:
        """Put the chosen profile at the start a click on ``slot`` means; False (and the reason
        in ``hint``) when it does not fit there."""
        if not self.profile:
            self._say("Choose a profile above, then click the strip to place it.", False)
            return False
        start = start_for(self.profiles[self.profile], slot) if self.profile in self.profiles else slot
        why = refusal(self.profiles, self.planned, self.profile, start, self.slots, compute=self.compute)
        if why:
            self._say(f"Cannot place here: {why}.", False)
            return False
        self.planned.append(Slot(self.profile, start))
        self._say(f"Placed {self.profile} at {slot_range(start, self.profiles[self.profile].size)}.", True)
        self.layout_edited.emit(list(self.planned))
        self.update()
        return True

    def move_instance(self, index: int, slot: int) -> bool:
        entry = self.planned[index]
        profile = self.profiles.get(entry.profile)
        if profile is None:
            return False
        start = start_for(profile, slot)
        if start == entry.start:
            return True
        why = refusal(
            self.profiles, self.planned, entry.profile, start, self.slots, ignore=index, compute=self.compute
        )
        if why:
            self._say(f"Cannot move {entry.profile} there: {why}.", False)
            self.update()
            return False
        self.planned[index] = Slot(entry.profile, start)
        self._say(f"Moved {entry.profile} to {slot_range(start, profile.size)}.", True)
        self.layout_edited.emit(list(self.planned))
        self.update()
        return True

    def remove(self, index: int) -> None:
        entry = self.planned.pop(index)
        self.selected = None
        self._say(f"Removed {entry.profile}.", True)
        self.layout_edited.emit(list(self.planned))
        self.update()

    def _ghost(self) -> tuple[str, int, bool, str] | None:
        """(profile, start, fits, reason) of what a click or drop at the hovered slot would do."""
        if self.hover is None:
            return None
        if self.dragging is not None:
            name, ignore = self.planned[self.dragging].profile, self.dragging
        elif self.profile and instance_at(self.planned, self.profiles, self.hover) is None:
            name, ignore = self.profile, None
        else:
            return None
        if name not in self.profiles:
            return None
        start = start_for(self.profiles[name], self.hover)
        why = (
            refusal(self.profiles, self.planned, name, start, self.slots, ignore=ignore, compute=self.compute)
            or ""
        )
        return name, start, not why, why

    # ----------------------------------------------------------------- mouse
    def _slot(self, event: QMouseEvent) -> int | None:
        return self.strip_geometry().slot_at(event.position().x())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        slot = self._slot(event)
        if slot is None or not self.slots:
            return
        hit = instance_at(self.planned, self.profiles, slot)
        if event.button() == Qt.MouseButton.RightButton and hit is not None:
            self.remove(hit)
        elif event.button() == Qt.MouseButton.LeftButton:
            if hit is not None:
                self.dragging = self.selected = hit
                self.update()
            else:
                self.place(slot)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        slot = self._slot(event)
        if slot != self.hover:
            self.hover = slot
            ghost = self._ghost()
            if ghost is not None:
                name, start, fits, why = ghost
                size = self.profiles[name].size
                verb = "Drop to move" if self.dragging is not None else "Click to place"
                self._say(
                    f"{verb} {name} at {slot_range(start, size)}." if fits else f"Not here: {why}.", fits
                )
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.dragging is not None and event.button() == Qt.MouseButton.LeftButton:
            index, self.dragging = self.dragging, None
            slot = self._slot(event)
            if slot is not None:
                self.move_instance(index, slot)
            self.update()

    def leaveEvent(self, event) -> None:
        self.hover = None
        self.update()
        super().leaveEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.selected is not None:
            self.remove(self.selected)
            return
        super().keyPressEvent(event)

    # ----------------------------------------------------------------- paint
    def paintEvent(self, _event: QPaintEvent) -> None:
        c = theme.colors()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        if not self.slots:
            p.setPen(QColor(c["muted"]))
            p.drawText(self.rect(), int(Qt.AlignmentFlag.AlignCenter), "Loading the GPU's MIG profiles…")
            p.end()
            return
        g = self.strip_geometry()
        font = p.font()
        for s in range(self.slots):
            x0, x1 = g.span(s, 1)
            cell = QRectF(x0 + 1, BAR_TOP, x1 - x0 - 2, BAR_H)
            p.setPen(QPen(QColor(c["border"]), 1))
            p.setBrush(QColor(c["alt"]))
            p.drawRoundedRect(cell, 4, 4)
            p.setPen(QColor(c["muted"]))
            p.drawText(
                QRectF(x0, BAR_TOP + BAR_H + 2, x1 - x0, 18), int(Qt.AlignmentFlag.AlignCenter), str(s)
            )
        for i, entry in enumerate(self.planned):
            prof = self.profiles.get(entry.profile)
            if entry.start is None or prof is None or i == self.dragging:
                continue
            x0, x1 = g.span(entry.start, prof.size)
            rect = QRectF(x0 + 2, BAR_TOP + 3, x1 - x0 - 4, BAR_H - 6)
            color = QColor(INSTANCE_COLORS[i % len(INSTANCE_COLORS)])
            p.setPen(QPen(QColor(c["text"]), 2) if i == self.selected else Qt.PenStyle.NoPen)
            p.setBrush(color)
            p.drawRoundedRect(rect, 5, 5)
            p.setPen(QColor("#ffffff"))
            font.setBold(True)
            p.setFont(font)
            p.drawText(rect.adjusted(0, 0, 0, -16), int(Qt.AlignmentFlag.AlignCenter), entry.profile)
            font.setBold(False)
            p.setFont(font)
            mem = f"{prof.memory_mb / 1024:.0f} GiB" if prof.memory_mb else ""
            p.drawText(rect.adjusted(0, 18, 0, 0), int(Qt.AlignmentFlag.AlignCenter), mem)
        ghost = self._ghost()
        if ghost is not None:
            name, start, fits, _why = ghost
            size = self.profiles[name].size
            x0, x1 = g.span(start, min(size, max(1, self.slots - start)))
            color = QColor(OK_COLOR if fits else BAD_COLOR)
            p.setPen(QPen(color, 2, Qt.PenStyle.DashLine))
            fill = QColor(color)
            fill.setAlpha(50)
            p.setBrush(fill)
            rect = QRectF(x0 + 2, BAR_TOP + 3, x1 - x0 - 4, BAR_H - 6)
            p.drawRoundedRect(rect, 5, 5)
            p.setPen(color)
            p.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), name if fits else f"✕ {name}")
        p.end()

    def instance_rect(self, index: int) -> QRectF:
        """Where instance ``index`` is drawn (for tests and tooltips)."""
        entry = self.planned[index]
        prof = self.profiles[entry.profile]
        x0, x1 = self.strip_geometry().span(entry.start or 0, prof.size)
        return QRectF(QPointF(x0, BAR_TOP), QPointF(x1, BAR_TOP + BAR_H))
