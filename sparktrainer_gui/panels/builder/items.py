"""Scene items of the builder canvas: nodes, edges, the rubber-band edge and group blocks.

Items only draw and report; they never change the graph. The scene (``scene.py``) creates
and updates them from the graph's events, and the editor changes the graph through undo
commands. Geometry comes from ``geometry.py``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
)
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from sparktrainer_gui import theme
from sparktrainer_gui.panels.builder import geometry as geo

if TYPE_CHECKING:
    from trainer_runtime.architecture.catalogue import LayerDef

NODE_KIND, EDGE_KIND, GROUP_KIND = 1, 2, 3
ERROR_COLOR = "#d93025"
WARNING_COLOR = "#c77700"
LOD_SIMPLE = 0.25  # below this zoom a node is drawn as a plain box (minimap, far zoom-out)
CATEGORY_COLORS = {
    "io": "#5b6b82", "dense": "#3b6ef5", "convolution": "#2f8f83", "normalization": "#8a63d2",
    "regularization": "#9a7b1c", "activation": "#d9822b", "pooling": "#2b8ad9", "reshape": "#6b7a8f",
    "embedding": "#b0467c", "recurrent": "#7d5fb0", "attention": "#c0504d", "merge": "#4f8a3c",
    "imported": "#777777",
}  # fmt: skip


def _font(size: float, bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSizeF(size)
    font.setBold(bold)
    return font


TITLE_FONT, BODY_FONT, PORT_FONT = _font(9.5, True), _font(8.5), _font(7.5)


def _qp(p: geo.Point) -> QPointF:
    return QPointF(p[0], p[1])


class NodeItem(QGraphicsItem):
    """One layer: a title bar, its ports, a parameter summary and the output shape.
    Drawn red, with the error sentences as its tooltip, when the node has errors."""

    def __init__(self, node_id: str, layer: LayerDef, title: str) -> None:
        super().__init__()
        self.node_id = node_id
        self.layer = layer
        self.title = title
        self.summary = ""
        self.shape_text = ""
        self.errors: list[str] = []
        self.warning_only = False  # only unconnected inputs: amber, not red
        self.inputs = [p.name for p in layer.inputs]
        self.outputs = [p.name for p in layer.outputs]
        self.multi = {p.name for p in layer.inputs if p.multi}
        self.box = geo.node_box(len(self.inputs), len(self.outputs))
        self.edges: list[EdgeItem] = []
        self.highlight_port: str | None = None  # an input the rubber-band edge may drop on
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges
        )
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(1)
        self._update_tooltip()

    def type(self) -> int:
        return QGraphicsItem.UserType + NODE_KIND

    # ------------------------------------------------------------ content
    def set_content(
        self, title: str, summary: str, shape_text: str, errors: list[str], warning_only: bool = False
    ) -> None:
        new = (title, summary, shape_text, errors, warning_only)
        if new == (self.title, self.summary, self.shape_text, self.errors, self.warning_only):
            return
        self.title, self.summary, self.shape_text, self.errors, self.warning_only = new
        self._update_tooltip()
        self.update()

    def _update_tooltip(self) -> None:
        if self.errors:
            self.setToolTip("\n".join(self.errors))
        else:
            self.setToolTip(f"{self.layer.type}: {self.layer.doc}")

    def set_highlight_port(self, port: str | None) -> None:
        if port != self.highlight_port:
            self.highlight_port = port
            self.update()

    # ----------------------------------------------------------- geometry
    def input_anchor(self, port: str) -> QPointF:
        return self.mapToScene(_qp(self.box.inputs[self.inputs.index(port)]))

    def output_anchor(self, port: str) -> QPointF:
        return self.mapToScene(_qp(self.box.outputs[self.outputs.index(port)]))

    def port_anchors(self) -> dict[tuple[str, str], geo.Point]:
        """Scene anchors keyed by ``("in" | "out", port name)``, for hit-testing."""
        p = self.scenePos()
        pos = (p.x(), p.y())
        anchors: dict[tuple[str, str], geo.Point] = {}
        for i, name in enumerate(self.inputs):
            anchors[("in", name)] = self.box.input_anchor(pos, i)
        for i, name in enumerate(self.outputs):
            anchors[("out", name)] = self.box.output_anchor(pos, i)
        return anchors

    def rect(self) -> QRectF:
        return QRectF(0, 0, self.box.width, self.box.height)

    def boundingRect(self) -> QRectF:
        r = geo.PORT_RADIUS + 2
        return self.rect().adjusted(-r, -r, r, r)

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for edge in self.edges:
                edge.update_path()
        return super().itemChange(change, value)

    # ------------------------------------------------------------ drawing
    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        c = theme.colors()
        error = bool(self.errors)
        if option.levelOfDetailFromTransform(painter.worldTransform()) < LOD_SIMPLE:  # far out: a plain box
            color = ERROR_COLOR if error else CATEGORY_COLORS.get(self.layer.category, c["accent"])
            painter.fillRect(self.rect(), QColor(color))
            return
        bad = WARNING_COLOR if self.warning_only else ERROR_COLOR
        accent = QColor(bad if error else CATEGORY_COLORS.get(self.layer.category, c["accent"]))
        rect = self.rect()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        border = QColor(bad) if error else QColor(c["accent"] if self.isSelected() else c["border"])
        painter.setPen(QPen(border, 2.5 if (error or self.isSelected()) else 1.2))
        painter.setBrush(QColor(c["base"]))
        painter.drawRoundedRect(rect, 6, 6)
        header = QPainterPath()
        header.addRoundedRect(QRectF(0, 0, rect.width(), geo.HEADER_H), 6, 6)
        header.addRect(QRectF(0, geo.HEADER_H - 6, rect.width(), 6))
        painter.fillPath(header.simplified(), accent)
        painter.setPen(QColor("#ffffff"))
        painter.setFont(TITLE_FONT)
        title = QFontMetricsF(TITLE_FONT).elidedText(
            self.title, Qt.TextElideMode.ElideRight, rect.width() - 16
        )
        painter.drawText(QRectF(8, 0, rect.width() - 16, geo.HEADER_H), Qt.AlignmentFlag.AlignVCenter, title)
        self._paint_ports(painter, c)
        painter.setFont(BODY_FONT)
        top = geo.text_top(self.box)
        painter.setPen(QColor(c["muted"]))
        painter.drawText(
            QRectF(8, top, rect.width() - 16, geo.LINE_H),
            Qt.AlignmentFlag.AlignVCenter,
            QFontMetricsF(BODY_FONT).elidedText(self.summary, Qt.TextElideMode.ElideRight, rect.width() - 16),
        )
        painter.setPen(QColor(bad) if error else QColor(c["text"]))
        shown = self.errors[0] if error else self.shape_text
        shown = QFontMetricsF(BODY_FONT).elidedText(shown, Qt.TextElideMode.ElideRight, rect.width() - 16)
        painter.drawText(QRectF(8, top + geo.LINE_H, rect.width() - 16, geo.LINE_H), Qt.AlignmentFlag.AlignVCenter,
                         shown)  # fmt: skip

    def _paint_ports(self, painter: QPainter, c: dict[str, str]) -> None:
        painter.setFont(PORT_FONT)
        r = geo.PORT_RADIUS
        for names, anchors, left in (
            (self.inputs, self.box.inputs, True),
            (self.outputs, self.box.outputs, False),
        ):
            for name, (x, y) in zip(names, anchors, strict=True):
                hot = left and name == self.highlight_port
                painter.setPen(QPen(QColor(c["accent"] if hot else c["icon"]), 1.5))
                painter.setBrush(QColor(c["accent"]) if hot else QColor(c["base"]))
                painter.drawEllipse(QPointF(x, y), r + (2 if hot else 0), r + (2 if hot else 0))
                if len(names) == 1 and name in ("in", "out") and name not in self.multi:
                    continue  # a lone "in" / "out" says nothing: keep the box quiet
                painter.setPen(QColor(c["muted"]))
                label = name + ("*" if name in self.multi else "")
                if left:
                    painter.drawText(QRectF(x + 9, y - 8, 80, 16), Qt.AlignmentFlag.AlignVCenter, label)
                else:
                    painter.drawText(QRectF(x - 89, y - 8, 80, 16),
                                     Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, label)  # fmt: skip


class EdgeItem(QGraphicsItem):
    """A connection from an output port to an input port: a cubic curve with the tensor
    shape on a small label at its middle."""

    def __init__(self, edge: Any, src: NodeItem, dst: NodeItem) -> None:
        super().__init__()
        self.edge = edge
        self.src, self.dst = src, dst
        self.label = ""
        self.error = False
        self._path = QPainterPath()
        self._label_rect = QRectF()
        self._start = self._end = QPointF()
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(0)
        src.edges.append(self)
        dst.edges.append(self)
        self.anchor_override: dict[str, QPointF] = {}  # "src"/"dst" → a collapsed group's port
        self.update_path()

    def type(self) -> int:
        return QGraphicsItem.UserType + EDGE_KIND

    def detach(self) -> None:
        for item in (self.src, self.dst):
            if self in item.edges:
                item.edges.remove(self)

    def set_label(self, text: str, error: bool = False) -> None:
        if (text, error) != (self.label, self.error):
            self.label, self.error = text, error
            self.update_path()

    def update_path(self) -> None:
        start = self.anchor_override.get("src") or self.src.output_anchor(self.edge.src_port)
        end = self.anchor_override.get("dst") or self.dst.input_anchor(self.edge.dst_port)
        self.prepareGeometryChange()
        self._start, self._end = start, end
        self._path = curve_path(start, end)
        mid = geo.edge_label_point((start.x(), start.y()), (end.x(), end.y()))
        width = QFontMetricsF(PORT_FONT).horizontalAdvance(self.label) + 10 if self.label else 0
        self._label_rect = QRectF(mid[0] - width / 2, mid[1] - 8, width, 16)

    def midpoint(self) -> QPointF:
        """The middle of the curve, where the shape label sits (scene coordinates)."""
        return _qp(geo.edge_label_point((self._start.x(), self._start.y()), (self._end.x(), self._end.y())))

    def boundingRect(self) -> QRectF:
        return self._path.boundingRect().adjusted(-4, -4, 4, 4).united(self._label_rect)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        path = stroker.createStroke(self._path)
        path.addRect(self._label_rect)
        return path

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        c = theme.colors()
        color = (
            QColor(c["accent"]) if self.isSelected() else QColor(ERROR_COLOR if self.error else c["muted"])
        )
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if option.levelOfDetailFromTransform(painter.worldTransform()) < 2 * LOD_SIMPLE:  # far out: no label
            painter.setPen(QPen(color, 0))
            painter.drawPath(self._path)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(color, 2.4 if self.isSelected() else 1.6))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        if self.label:
            painter.setPen(QPen(color, 1))
            painter.setBrush(QBrush(QColor(c["base"])))
            painter.drawRoundedRect(self._label_rect, 4, 4)
            painter.setFont(PORT_FONT)
            painter.setPen(QColor(c["text"]))
            painter.drawText(self._label_rect, Qt.AlignmentFlag.AlignCenter, self.label)


def curve_path(start: QPointF, end: QPointF) -> QPainterPath:
    c1, c2 = geo.edge_controls((start.x(), start.y()), (end.x(), end.y()))
    path = QPainterPath(start)
    path.cubicTo(_qp(c1), _qp(c2), end)
    return path


class RubberEdgeItem(QGraphicsItem):
    """The edge that follows the cursor while a connection is dragged; dashed and red when
    the port under the cursor would refuse it."""

    def __init__(self, start: QPointF) -> None:
        super().__init__()
        self.start = start
        self.end = start
        self.refused = False
        self._path = curve_path(start, start)
        self.setZValue(5)

    def set_end(self, end: QPointF, refused: bool) -> None:
        self.prepareGeometryChange()
        self.end, self.refused = end, refused
        self._path = curve_path(self.start, end)

    def boundingRect(self) -> QRectF:
        return self._path.boundingRect().adjusted(-3, -3, 3, 3)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor(ERROR_COLOR if self.refused else theme.colors()["accent"]), 2)
        pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawPath(self._path)
