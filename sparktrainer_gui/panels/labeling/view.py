"""The labeling canvas view: zoom to the cursor (wheel), fit, 1:1, pan (middle button or
Space + drag), a crosshair over the image while a drawing tool is active, and the
image's whole-image tags in a corner. When the view settles zoomed in further than the
decoded overview can show, it asks for the visible region at screen resolution."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QFrame, QGraphicsView, QWidget

from sparktrainer_gui.panels.labeling.items import ShapeItem
from sparktrainer_gui.panels.labeling.scene import LabelScene

WHEEL_STEP = 1.2
ZOOM_RANGE = (0.01, 64.0)
REGION_MAX_SIDE = 4096
CANVAS_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape, Qt.Key.Key_Backspace)
OWN_KEYS = (
    Qt.Key.Key_Space,
    Qt.Key.Key_Delete,
    Qt.Key.Key_Return,
    Qt.Key.Key_Enter,
)  # kept from window shortcuts


def readable_on(color: str) -> str:
    """Black or white, whichever reads better on ``color``."""
    c = QColor(color)
    return "#000000" if 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue() > 150 else "#ffffff"


class LabelView(QGraphicsView):
    zoom_changed = Signal(float)
    region_wanted = Signal(QRectF, int)  # image rect, longest side to decode it at
    cursor_left = Signal()
    delete_requested = Signal()  # Del on the canvas (whatever else in the window uses the key)
    enter_requested = Signal()  # Enter on the canvas with no polygon being drawn

    def __init__(self, scene: LabelScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.label_scene = scene
        self.setObjectName("labelCanvas")
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # pan: Space-drag, middle
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMouseTracking(True)
        self.setBackgroundBrush(QColor("#3a3d42"))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_from: QPointF | None = None
        self._space = False
        self.cursor_at: QPointF | None = None  # scene position of the mouse (crosshair)
        self.tags: list[tuple[str, str]] = []  # (name, colour) shown top-left
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(150)
        self._settle.timeout.connect(self._on_settled)

    # ------------------------------------------------------------ zoom
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, z: float, at: QPointF | None = None) -> None:
        """Zoom to ``z`` (clamped), keeping the scene point under ``at`` (viewport
        pixels; the middle by default) where it is."""
        z = min(max(z, ZOOM_RANGE[0]), ZOOM_RANGE[1])
        at = at if at is not None else QPointF(self.viewport().rect().center())
        before = self.mapToScene(at.toPoint())
        self.resetTransform()
        self.scale(z, z)
        drift = self.mapToScene(at.toPoint()) - before
        self.translate(drift.x(), drift.y())
        self._zoomed()

    def zoom_by(self, factor: float, at: QPointF | None = None) -> None:
        self.set_zoom(self.zoom() * factor, at)

    def fit(self) -> None:
        rect = self.label_scene.image_item.full
        if rect.isEmpty():
            return
        pad = 0.02 * max(rect.width(), rect.height())
        self.fitInView(rect.adjusted(-pad, -pad, pad, pad), Qt.AspectRatioMode.KeepAspectRatio)
        self._zoomed()

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def _zoomed(self) -> None:
        ShapeItem.px = 1.0 / max(self.zoom(), 1e-9)
        self.label_scene.zoom_changed()
        self.label_scene.image_item.drop_region()
        self.label_scene.image_item.smooth = False
        self.zoom_changed.emit(self.zoom())
        self._settle.start()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(WHEEL_STEP**steps, event.position())
        event.accept()

    def visible_image_rect(self) -> QRectF:
        return (
            self.mapToScene(self.viewport().rect())
            .boundingRect()
            .intersected(self.label_scene.image_item.full)
        )

    def _on_settled(self) -> None:
        """Smooth scaling again, and full detail for a zoomed-in view of a big image."""
        image = self.label_scene.image_item
        image.smooth = True
        image.update()
        scale = image.overview_scale()
        if not scale or scale >= 0.999 or self.zoom() <= scale * 1.05:
            return
        rect = self.visible_image_rect()
        if rect.isEmpty():
            return
        pad = 0.25
        rect = rect.adjusted(
            -rect.width() * pad, -rect.height() * pad, rect.width() * pad, rect.height() * pad
        )
        rect = rect.intersected(image.full).toAlignedRect().toRectF()
        side = int(min(REGION_MAX_SIDE, max(rect.width(), rect.height()) * min(self.zoom(), 1.0)))
        self.region_wanted.emit(rect, max(side, 1))

    # ------------------------------------------------------------ pan
    def pan_by(self, dx: float, dy: float) -> None:
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() - int(dx))
        v.setValue(v.value() - int(dy))
        self.label_scene.image_item.smooth = False
        self._settle.start()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
            self._space and event.button() == Qt.MouseButton.LeftButton
        ):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        self.setFocus()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.pan_by(delta.x(), delta.y())
            event.accept()
            return
        self.cursor_at = self.mapToScene(event.position().toPoint())
        if self.label_scene.editor.tool != "select":
            self.viewport().update()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self.cursor_at = None
        self.viewport().update()
        self.cursor_left.emit()
        super().leaveEvent(event)

    # ------------------------------------------------------------ keys
    def event(self, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.key() in CANVAS_KEYS
            and self.label_scene.active is not None
        ):
            event.accept()  # Enter/Backspace/Escape finish a polygon being drawn first
            return True
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.key() in OWN_KEYS
            and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.label_scene.polygon_key(Qt.Key(event.key())):
            return
        if event.key() == Qt.Key.Key_Delete and not event.modifiers():
            self.delete_requested.emit()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.enter_requested.emit()
            return
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            return
        super().keyReleaseEvent(event)

    # ------------------------------------------------------------ overlays
    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        full = self.label_scene.image_item.full
        if (
            self.cursor_at is not None
            and self.label_scene.editor.tool != "select"
            and full.contains(self.cursor_at)
        ):
            pen = QPen(QColor(255, 255, 255, 170), 1, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawLine(
                QPointF(full.left(), self.cursor_at.y()), QPointF(full.right(), self.cursor_at.y())
            )
            painter.drawLine(
                QPointF(self.cursor_at.x(), full.top()), QPointF(self.cursor_at.x(), full.bottom())
            )
        if not self.tags and not self.label_scene.image_item.message:
            return
        painter.save()
        painter.resetTransform()
        font = QFont(self.font())
        font.setPixelSize(12)
        font.setBold(True)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        x = 10.0
        for name, color in self.tags:
            w = metrics.horizontalAdvance(name) + 14
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(color))
            painter.drawRoundedRect(QRectF(x, 10, w, 22), 11, 11)
            painter.setPen(QColor(readable_on(color)))
            painter.drawText(QRectF(x, 10, w, 22), Qt.AlignmentFlag.AlignCenter, name)
            x += w + 6
        message = self.label_scene.image_item.message
        if message:
            painter.setPen(QColor("#ffffff"))
            painter.drawText(self.viewport().rect().adjusted(20, 20, -20, -20),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, message)  # fmt: skip
        painter.restore()
