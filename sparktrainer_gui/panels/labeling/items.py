"""Scene items of the labeling canvas. Scene coordinates are image pixels. The image item
draws a downscaled overview stretched over the full picture, and a full-detail region
over it once the view has settled on a zoomed-in area. Shape items mirror one
``DocShape`` each; handles and pens keep a constant size on screen."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from sparktrainer_gui.panels.labeling.document import DocShape

HANDLE_PX = 7.0  # handle squares, screen pixels
POINT_PX = 5.0  # radius of a point shape, screen pixels
DENSE_SHAPES = 600  # more shapes than this in view: 1-pixel outlines (level of detail)


class ImageItem(QGraphicsItem):
    def __init__(self) -> None:
        super().__init__()
        self.setZValue(-10)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)  # a real exposedRect
        self.full = QRectF()
        self.overview = QImage()
        self.region: tuple[QRectF, QImage] | None = None
        self.smooth = True
        self.message = ""

    def set_image(self, image: QImage, full: tuple[int, int]) -> None:
        self.prepareGeometryChange()
        self.full = QRectF(0, 0, float(full[0]), float(full[1]))
        self.overview, self.region, self.message = image, None, ""
        self.update()

    def clear(self, message: str = "") -> None:
        self.prepareGeometryChange()
        self.overview, self.region, self.message = QImage(), None, message
        self.update()

    def set_region(self, rect: QRectF, image: QImage) -> None:
        self.region = (rect, image)
        self.update(rect)

    def drop_region(self) -> None:
        """After a zoom: the detail region no longer matches the screen resolution."""
        if self.region is not None:
            self.region = None
            self.update()

    def overview_scale(self) -> float:
        """Overview pixels per image pixel (1.0 for images that fit the overview)."""
        return (
            self.overview.width() / self.full.width()
            if self.full.width() and not self.overview.isNull()
            else 0
        )

    def boundingRect(self) -> QRectF:
        return self.full

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if self.overview.isNull():
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth)
        exposed = option.exposedRect.intersected(self.full)  # type: ignore[attr-defined]
        s = self.overview_scale()
        src = QRectF(exposed.x() * s, exposed.y() * s, exposed.width() * s, exposed.height() * s)
        painter.drawImage(exposed, self.overview, src)
        if self.region is not None:
            rect, image = self.region
            part = rect.intersected(exposed)
            if not part.isEmpty():
                k = image.width() / rect.width()
                src = QRectF(
                    (part.x() - rect.x()) * k, (part.y() - rect.y()) * k, part.width() * k, part.height() * k
                )
                painter.drawImage(part, image, src)


class ShapeItem(QGraphicsItem):
    """One shape. ``px`` (scene units per screen pixel) is shared by all items and set by
    the view when the zoom changes, so outlines and handles stay the same size on screen."""

    px = 1.0

    def __init__(self, shape: DocShape, color: str, suggestion: float | None = None) -> None:
        super().__init__()
        self.shape_ = shape
        self.color = QColor(color)
        self.score = suggestion  # not None: a dashed suggestion with its score
        self.selected = False
        self.hover_vertex: int | None = None
        self.setVisible(not shape.hidden or suggestion is not None)
        self.setZValue(5 if suggestion is not None else 0)
        self._margin = self._wanted_margin()

    @property
    def shape_id(self) -> int:
        return self.shape_.id

    def set_shape(self, shape: DocShape) -> None:
        self.prepareGeometryChange()
        self.shape_ = shape
        self.setVisible(not shape.hidden or self.score is not None)
        self.update()

    def set_color(self, color: str) -> None:
        self.color = QColor(color)
        self.update()

    def set_selected(self, on: bool) -> None:
        if on != self.selected:
            self.selected = on
            self.refresh_margin()
            self.update()

    def _wanted_margin(self) -> float:
        return ShapeItem.px * ((HANDLE_PX + 2) if self.selected else (POINT_PX + 3))

    def refresh_margin(self) -> None:
        """After a zoom change: grow or shrink the painted margin around the shape."""
        wanted = self._wanted_margin()
        if abs(wanted - self._margin) > 1e-9:
            self.prepareGeometryChange()
            self._margin = wanted

    def points(self) -> list[QPointF]:
        return [QPointF(x, y) for x, y in self.shape_.points]

    def geometry_rect(self) -> QRectF:
        pts = self.shape_.points
        if not pts:
            return QRectF()
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        return QRectF(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))

    def boundingRect(self) -> QRectF:
        m = self._margin
        top = m + (18 * ShapeItem.px if self.score is not None else 0)  # the score label
        right = m + (120 * ShapeItem.px if self.score is not None else 0)
        return self.geometry_rect().adjusted(-m, -top, right, m)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(self.boundingRect())
        return path

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        kind, px = self.shape_.kind, ShapeItem.px
        pen = QPen(self.color, 3 if self.selected else 2)
        pen.setCosmetic(True)
        if self.score is not None:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        fill = QColor(self.color)
        fill.setAlpha(70 if self.selected else (20 if self.score is None else 0))
        painter.setBrush(QBrush(fill))
        pts = self.points()
        if kind == "rect" and len(pts) == 2:
            painter.drawRect(QRectF(pts[0], pts[1]).normalized())
        elif kind == "polygon" and pts:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            if self.score is None and len(pts) >= 3:
                painter.drawPolygon(QPolygonF(pts))
            else:
                painter.drawPolyline(QPolygonF(pts))
        elif kind == "point" and pts:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setBrush(self.color)
            painter.drawEllipse(pts[0], POINT_PX * px, POINT_PX * px)
        if self.score is not None and pts:
            self._paint_score(painter, pts[0])
        if self.selected and kind != "point" and self.score is None:
            self._paint_handles(painter, pts if kind == "polygon" else self._rect_handles())

    def _rect_handles(self) -> list[QPointF]:
        r = self.geometry_rect()
        c = r.center()
        return [r.topLeft(), QPointF(c.x(), r.top()), r.topRight(), QPointF(r.right(), c.y()),
                r.bottomRight(), QPointF(c.x(), r.bottom()), r.bottomLeft(), QPointF(r.left(), c.y())]  # fmt: skip

    def _paint_handles(self, painter: QPainter, handles: list[QPointF]) -> None:
        px = ShapeItem.px
        half = HANDLE_PX * px / 2
        pen = QPen(self.color.darker(150), 1)
        pen.setCosmetic(True)
        painter.setPen(pen)
        for i, p in enumerate(handles):
            painter.setBrush(QColor("#ffffff") if i != self.hover_vertex else self.color)
            painter.drawRect(QRectF(p.x() - half, p.y() - half, 2 * half, 2 * half))

    def _paint_score(self, painter: QPainter, at: QPointF) -> None:
        px = ShapeItem.px
        painter.save()
        painter.translate(at)
        painter.scale(px, px)  # text in screen pixels
        font = QFont(painter.font())
        font.setPixelSize(11)
        painter.setFont(font)
        text = f"{self.shape_.label} {self.score:.2f}"
        w = painter.fontMetrics().horizontalAdvance(text) + 6
        box = QRectF(0, -16, w, 16)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.color)
        painter.drawRect(box)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


def draft_path(points: list[tuple[float, float]], cursor: tuple[float, float] | None) -> QPainterPath:
    """The outline of a polygon being drawn (the last edge follows the cursor)."""
    path = QPainterPath()
    if not points:
        return path
    path.moveTo(*points[0])
    for p in points[1:]:
        path.lineTo(*p)
    if cursor is not None:
        path.lineTo(*cursor)
    return path


class ShapesLayer(QGraphicsItem):
    """All shapes of the image in one item, drawn in a few batched calls per colour and
    culled to the exposed area with numpy (thousands of boxes stay cheap to pan and zoom).
    Shapes in ``lifted`` (the selection) are drawn by their own ``ShapeItem`` instead,
    with handles, and can be previewed while dragged. Unselected shapes are outlines
    (a light fill is kept for the selection)."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(0)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)  # cull to the exposed area
        self.full = QRectF()
        self.shapes: list[DocShape] = []
        self.lifted: set[int] = set()
        self._boxes = np.zeros((0, 4))
        self._drawn = np.zeros(0, dtype=bool)  # visible and not lifted
        self._batches: list[tuple[QColor, np.ndarray, list[QRectF], list[int]]] = []
        self._groups: list[tuple[QColor, str]] = []  # (colour, label) by label index
        self._geometry: list[QRectF | QPolygonF | QPointF] = []

    def set_shapes(
        self, shapes: list[DocShape] | tuple[DocShape, ...], colors: dict[str, str], full: QRectF
    ) -> None:
        self.prepareGeometryChange()
        self.full = QRectF(full)
        self.shapes = list(shapes)
        labels = sorted({s.label for s in self.shapes})
        index = {name: i for i, name in enumerate(labels)}
        self._groups = [(QColor(colors.get(name, "#808080")), name) for name in labels]
        boxes = np.zeros((len(self.shapes), 4))
        geometry: list[QRectF | QPolygonF | QPointF] = []
        for i, s in enumerate(self.shapes):
            pts = s.points
            xs, ys = [p[0] for p in pts] or [0.0], [p[1] for p in pts] or [0.0]
            boxes[i] = (min(xs), min(ys), max(xs), max(ys))
            if s.kind == "rect":
                geometry.append(
                    QRectF(boxes[i, 0], boxes[i, 1], boxes[i, 2] - boxes[i, 0], boxes[i, 3] - boxes[i, 1])
                )
            elif s.kind == "polygon":
                geometry.append(QPolygonF([QPointF(x, y) for x, y in pts]))
            else:
                geometry.append(QPointF(xs[0], ys[0]))
        self._boxes, self._geometry = boxes, geometry
        label_of = np.array([index[s.label] for s in self.shapes], dtype=np.int32)
        is_rect = np.array([s.kind == "rect" for s in self.shapes], dtype=bool)
        self._batches = []  # per class: colour, rect indices, their QRectFs, other shape indices
        for k, (color, _name) in enumerate(self._groups):
            rect_idx = np.nonzero((label_of == k) & is_rect)[0]
            others = [int(i) for i in np.nonzero((label_of == k) & ~is_rect)[0]]
            rects = [g for i in rect_idx if isinstance(g := geometry[i], QRectF)]
            self._batches.append((color, rect_idx, rects, others))
        self._refresh_drawn()

    def set_lifted(self, ids: set[int]) -> None:
        if ids != self.lifted:
            self.lifted = set(ids)
            self._refresh_drawn()

    def _refresh_drawn(self) -> None:
        self._drawn = np.array([not s.hidden and s.id not in self.lifted for s in self.shapes], dtype=bool)
        self.update()

    def _meets(self, rect: QRectF) -> np.ndarray:
        b = self._boxes
        return (
            (b[:, 0] <= rect.right())
            & (b[:, 2] >= rect.left())
            & (b[:, 1] <= rect.bottom())
            & (b[:, 3] >= rect.top())
        )

    def candidates(self, rect: QRectF) -> list[DocShape]:
        """Visible shapes whose bounding box meets ``rect``, bottom to top."""
        if not self.shapes:
            return []
        visible = np.array([not s.hidden for s in self.shapes], dtype=bool)
        return [self.shapes[i] for i in np.nonzero(self._meets(rect) & visible)[0]]

    def boundingRect(self) -> QRectF:
        m = 20 * ShapeItem.px
        return self.full.adjusted(-m, -m, m, m)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if not self.shapes:
            return
        m = (POINT_PX + 2) * ShapeItem.px
        exposed = option.exposedRect.adjusted(-m, -m, m, m)  # type: ignore[attr-defined]
        chosen = self._drawn & self._meets(exposed)
        everything = bool(chosen.all())
        r = POINT_PX * ShapeItem.px
        width = 2 if int(chosen.sum()) <= DENSE_SHAPES else 1  # a wide pen costs 3× per shape
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for color, rect_idx, rects, others in self._batches:
            pen = QPen(color, width)
            pen.setCosmetic(True)
            painter.setPen(pen)
            if everything:
                painter.drawRects(rects)
            elif len(rect_idx):
                keep = np.nonzero(chosen[rect_idx])[0]
                if len(keep):
                    painter.drawRects([rects[k] for k in keep])
            for i in others:
                if not chosen[i]:
                    continue
                g = self._geometry[i]
                if isinstance(g, QPolygonF):
                    painter.drawPolygon(g)
                elif isinstance(g, QPointF):
                    painter.setBrush(color)
                    painter.drawEllipse(g, r, r)
                    painter.setBrush(Qt.BrushStyle.NoBrush)
