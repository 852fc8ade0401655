"""The canvas view (zoom to the cursor, pan, fit, drop target for the palette) and its
minimap (a small overview of the same scene with the visible area outlined)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QApplication, QFrame, QGraphicsScene, QGraphicsView, QWidget

from sparktrainer_gui import theme
from sparktrainer_gui.panels.builder import geometry as geo
from sparktrainer_gui.panels.builder.palette import MIME_LAYER

WHEEL_STEP = 1.15
MINIMAP_SIZE = (200, 130)
DELETE_KEYS = (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)
CANVAS_KEYS = (*DELETE_KEYS, Qt.Key.Key_Space)  # keys the canvas keeps from window-wide shortcuts


class PanInteraction:
    """Middle-button (or Space + left-button) drag scrolls the view."""

    def __init__(self, view: QGraphicsView, at: QPointF) -> None:
        self.view, self.last = view, at

    def move(self, at: QPointF) -> None:
        delta = at - self.last
        self.last = at
        h, v = self.view.horizontalScrollBar(), self.view.verticalScrollBar()
        h.setValue(h.value() - int(delta.x()))
        v.setValue(v.value() - int(delta.y()))


class CanvasView(QGraphicsView):
    layer_dropped = Signal(str, QPointF)  # layer type, scene position
    delete_requested = Signal()

    def __init__(self, scene: QGraphicsScene, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("builderCanvas")
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        # zoom_by keeps the point under the cursor itself (the wheel event's position)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState)
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # pan: middle drag, minimap
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSceneRect(QRectF(-20_000, -20_000, 40_000, 40_000))
        self._pan: PanInteraction | None = None
        self._space = False
        self.minimap = Minimap(self)
        self.setScene(scene)

    def setScene(self, scene: QGraphicsScene) -> None:
        super().setScene(scene)
        self.minimap.setScene(scene)
        self.minimap.watch(scene)

    # --------------------------------------------------------------- zoom
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float, at: QPoint | None = None) -> None:
        """Zoom by ``factor`` (clamped), keeping the scene point under ``at`` (viewport
        pixels; the middle by default) where it is."""
        factor = geo.clamp_zoom(self.zoom(), factor)
        if factor == 1.0:
            return
        at = at if at is not None else self.viewport().rect().center()
        before = self.mapToScene(at)
        self.scale(factor, factor)
        drift = self.mapToScene(at) - before
        self.translate(drift.x(), drift.y())
        self.minimap.schedule()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(WHEEL_STEP**steps, event.position().toPoint())
        event.accept()

    def fit(self) -> None:
        rect = (
            self.scene().items_bounding_rect() if hasattr(self.scene(), "items_bounding_rect") else QRectF()
        )
        if rect.isEmpty():
            self.resetTransform()
            self.centerOn(0, 0)
        else:
            self.fitInView(rect.adjusted(-40, -40, 40, 40), Qt.AspectRatioMode.KeepAspectRatio)
            if self.zoom() > 1.25:
                self.zoom_by(1.25 / self.zoom())
        self.minimap.schedule()

    # ---------------------------------------------------------------- pan
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
            self._space and event.button() == Qt.MouseButton.LeftButton
        ):
            self._pan = PanInteraction(self, event.position())
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan is not None:
            self._pan.move(event.position())
            self.minimap.schedule()
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan is not None:
            self._pan = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    # --------------------------------------------------------------- keys
    def event(self, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.key() in CANVAS_KEYS
            and not event.modifiers()
        ):
            event.accept()  # Delete deletes and Space pans on the canvas, whatever else uses the key
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in DELETE_KEYS and not event.modifiers():
            self.delete_requested.emit()
            return
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
        super().keyReleaseEvent(event)

    # --------------------------------------------------------------- drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(MIME_LAYER):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(MIME_LAYER):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        data = event.mimeData()
        if not data.hasFormat(MIME_LAYER):
            event.ignore()
            return
        layer_type = bytes(data.data(MIME_LAYER).data()).decode("utf-8")
        self.layer_dropped.emit(layer_type, self.mapToScene(event.position().toPoint()))
        event.acceptProposedAction()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        w, h = MINIMAP_SIZE
        self.minimap.setGeometry(self.viewport().width() - w - 12, self.viewport().height() - h - 12, w, h)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        self.minimap.schedule()


class Minimap(QGraphicsView):
    """An overview of the whole graph; the main view's visible area is outlined, and a
    click or drag moves it there. Repainted at most 10 times a second, and not while a
    node is being dragged (it catches up when the node is dropped)."""

    def __init__(self, canvas: CanvasView) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.setObjectName("builderMinimap")
        self.setInteractive(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.NoViewportUpdate)
        self.setFrameShape(QFrame.Shape.Box)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click to move the view")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self.refit)

    def watch(self, scene: QGraphicsScene) -> None:
        """Follow ``scene``'s changes (a replaced scene is deleted, and its connection with it)."""
        scene.changed.connect(self.schedule)
        self.schedule()

    def schedule(self, *_args: object) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def refit(self) -> None:
        scene = self.scene()
        if scene is None:
            return
        if QApplication.mouseButtons() & Qt.MouseButton.LeftButton and self.canvas.scene().mouseGrabberItem():
            self._timer.start()  # a node is being dragged: the overview follows when it is dropped
            return
        rect = scene.items_bounding_rect() if hasattr(scene, "items_bounding_rect") else QRectF()
        visible = self.canvas.mapToScene(self.canvas.viewport().rect()).boundingRect()
        rect = (rect if not rect.isEmpty() else visible).adjusted(-60, -60, 60, 60)
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self.viewport().update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.refit()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        visible = self.canvas.mapToScene(self.canvas.viewport().rect()).boundingRect()
        color = QColor(theme.colors()["accent"])
        painter.setPen(QPen(color, 0))
        color.setAlpha(40)
        painter.setBrush(color)
        painter.drawRect(visible)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.canvas.centerOn(self.mapToScene(event.position().toPoint()))
        self.refit()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.canvas.centerOn(self.mapToScene(event.position().toPoint()))
            self.refit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        event.accept()
