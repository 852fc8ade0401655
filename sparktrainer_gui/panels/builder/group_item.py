"""A named group on the canvas: expanded, a dashed frame behind its members with the name
in a header; collapsed, one block in place of the members, showing the shapes that enter
and leave it, with the crossing edges re-routed to the block. Double-click the header to
switch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from sparktrainer_gui import theme
from sparktrainer_gui.panels.builder import geometry as geo
from sparktrainer_gui.panels.builder.groups import Group, boundary
from sparktrainer_gui.panels.builder.items import BODY_FONT, GROUP_KIND, TITLE_FONT

if TYPE_CHECKING:
    from sparktrainer_gui.panels.builder.scene import GraphScene

FRAME_MARGIN = 14.0
BLOCK_COLOR = "#44546a"


class GroupItem(QGraphicsItem):
    def __init__(self, group_id: str) -> None:
        super().__init__()
        self.group_id = group_id
        self.group: Group | None = None
        self._rect = QRectF()
        self.ins: list[str] = []
        self.outs: list[str] = []
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)

    def type(self) -> int:
        return QGraphicsItem.UserType + GROUP_KIND

    def set_group(self, group: Group, scene: GraphScene) -> None:
        self.group = group
        members = [scene.node_items[m] for m in group.members if m in scene.node_items]
        rects = [
            (i.pos().x(), i.pos().y(), i.box.width, i.box.height) for i in members
        ]  # positions, not visibility: hidden members still count
        bounds = geo.bounding_rect(rects, FRAME_MARGIN)
        self.prepareGeometryChange()
        if bounds is None:
            self._rect = QRectF()
            return
        x, y, w, h = bounds
        inside = set(group.members)
        entering, leaving = boundary(frozenset(inside), scene.graph.edges)
        self.ins, self.outs = scene.group_shapes(frozenset(inside))
        for member in members:
            member.setVisible(not group.collapsed)
            if group.collapsed:
                member.setSelected(False)
        if group.collapsed:
            lines = 3
            box = geo.node_box(1 if entering else 0, 1 if leaving else 0, lines)
            self._rect = QRectF(x + FRAME_MARGIN, y + FRAME_MARGIN, box.width, box.height)
            self.setZValue(1)
        else:
            self._rect = QRectF(x, y - geo.HEADER_H, w, h + geo.HEADER_H)
            self.setZValue(-1)
        for edge, item in scene.edge_items.items():
            internal = edge.src in inside and edge.dst in inside
            if internal:
                item.setVisible(not group.collapsed)
            if group.collapsed and edge in entering:
                item.anchor_override["dst"] = self.in_anchor()
            elif group.collapsed and edge in leaving:
                item.anchor_override["src"] = self.out_anchor()
            elif edge.src in inside or edge.dst in inside:
                item.anchor_override.clear()
            else:
                continue
            item.update_path()
        self.update()

    def in_anchor(self) -> QPointF:
        return QPointF(self._rect.left(), self._rect.top() + geo.HEADER_H + geo.PAD / 2 + geo.PORT_ROW_H / 2)

    def out_anchor(self) -> QPointF:
        return QPointF(self._rect.right(), self._rect.top() + geo.HEADER_H + geo.PAD / 2 + geo.PORT_ROW_H / 2)

    def header_contains(self, pos: QPointF) -> bool:
        return QRectF(
            self._rect.topLeft(), QPointF(self._rect.right(), self._rect.top() + geo.HEADER_H)
        ).contains(pos)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-geo.PORT_RADIUS - 2, -2, geo.PORT_RADIUS + 2, 2)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if self.group is None or self._rect.isEmpty():
            return
        c = theme.colors()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = self._rect
        header = QRectF(r.left(), r.top(), r.width(), geo.HEADER_H)
        selected = self.isSelected()
        if self.group.collapsed:
            painter.setPen(QPen(QColor(c["accent"] if selected else BLOCK_COLOR), 2))
            painter.setBrush(QColor(c["base"]))
            painter.drawRoundedRect(r, 6, 6)
            painter.fillRect(header.adjusted(1, 1, -1, 0), QColor(BLOCK_COLOR))
            painter.setPen(QColor(c["icon"]))
            painter.setBrush(QColor(c["base"]))
            if self.ins:
                painter.drawEllipse(self.in_anchor(), geo.PORT_RADIUS, geo.PORT_RADIUS)
            if self.outs:
                painter.drawEllipse(self.out_anchor(), geo.PORT_RADIUS, geo.PORT_RADIUS)
            painter.setFont(BODY_FONT)
            painter.setPen(QColor(c["text"]))
            top = r.top() + geo.HEADER_H + geo.PAD
            n = len(self.group.members)
            rows = (
                f"{n} layer{'s' if n != 1 else ''}",
                "in  " + (", ".join(self.ins) or "—"),
                "out " + (", ".join(self.outs) or "—"),
            )
            for i, text in enumerate(rows):
                painter.setPen(QColor(c["muted"] if i == 0 else c["text"]))
                row = QRectF(r.left() + 10, top + i * (geo.LINE_H + 4), r.width() - 20, geo.LINE_H)
                painter.drawText(row, Qt.AlignmentFlag.AlignVCenter, text)
            title = f"▸ {self.group.name}"
        else:
            pen = QPen(QColor(c["accent"] if selected else c["muted"]), 1.4)
            pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            fill = QColor(c["highlight"])
            fill.setAlpha(70)
            painter.setBrush(fill)
            painter.drawRoundedRect(r, 8, 8)
            title = f"▾ {self.group.name}"
        painter.setFont(TITLE_FONT)
        painter.setPen(QColor("#ffffff") if self.group.collapsed else QColor(c["text"]))
        painter.drawText(header.adjusted(8, 0, -8, 0), Qt.AlignmentFlag.AlignVCenter, title)
