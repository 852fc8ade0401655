"""The Labeling panel: dataset and version on top; image list (with status filter) | canvas
| class list and suggestions; a status line with the pixel under the cursor. Composes the
editor (document + undo stack), scene, view, image loader and daemon session."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QHideEvent, QImage, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListView,
    QMessageBox,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from sparktrainer_gui import theme
from sparktrainer_gui.actions import sync_undo_actions
from sparktrainer_gui.panels.labeling import image_list as il
from sparktrainer_gui.panels.labeling.actions import LabelingActions
from sparktrainer_gui.panels.labeling.chooser import DatasetChooser
from sparktrainer_gui.panels.labeling.classes import ClassList
from sparktrainer_gui.panels.labeling.document import STATUS_TEXT
from sparktrainer_gui.panels.labeling.editor import LabelEditor
from sparktrainer_gui.panels.labeling.images import ImageLoader
from sparktrainer_gui.panels.labeling.scene import LabelScene
from sparktrainer_gui.panels.labeling.session import LabelSession
from sparktrainer_gui.panels.labeling.suggestions import SuggestionLayer
from sparktrainer_gui.panels.labeling.suggestions_ui import SuggestionsBox
from sparktrainer_gui.panels.labeling.view import LabelView
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.datasets import VersionView
from trainer_runtime.api.schema.labels import DraftView


class LabelingPanel(QWidget):
    title = "Labeling"
    icon = "label"
    message_posted = Signal(str)

    def __init__(self, conn: RuntimeConnection, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.conn = conn
        self.actions_ = LabelingActions.create(self)
        self.editor = LabelEditor(self)
        self.scene = LabelScene(self.editor)
        self.view = LabelView(self.scene, self)
        self.loader = ImageLoader(self)
        self.session = LabelSession(conn, self.editor, self)
        self.suggestions = SuggestionLayer(self.editor, self.scene)
        self.scene.suggestion_pick = self.suggestions.select_at
        self.model = il.ImageListModel(self.editor.doc, self)
        self.classes = ClassList(self.editor, self)
        self.suggestions_box = SuggestionsBox(conn, self.editor, self.suggestions, self)
        self.status = QLabel(self)
        self.status.setObjectName("labelingStatus")
        self._cursor_text = ""
        self._shown = False
        self._build()
        self._connect()
        self._update_actions()

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        a = self.actions_
        self.chooser = DatasetChooser(self.session, self)
        bar = QToolBar(self)
        self.toolbar = bar
        bar.setObjectName("labelingToolbar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in ((a.tool_select, "Select"), (a.tool_rect, "Rectangle"), (a.tool_polygon, "Polygon"),
                              (a.tool_point, "Point"), (a.tag, "Tag"), None, (a.undo, "Undo"), (a.redo, "Redo"), None,
                              (a.fit, "Fit"), (a.actual_size, "1:1"), None, (a.mark_done, "Done"),
                              (a.suggestions, "Suggestions"), (a.save_version, "Save as version")):  # fmt: skip
            if action is None:
                bar.addSeparator()
                continue
            action[0].setIconText(action[1])
            bar.addAction(action[0])
        self.filter_box = QComboBox(self)
        for key in il.FILTERS:
            self.filter_box.addItem("All images" if key == "all" else STATUS_TEXT[key].capitalize(), key)
        self.list_view = QListView(self)
        self.list_view.setObjectName("labelImages")
        self.list_view.setUniformItemSizes(True)
        self.list_view.setModel(self.model)
        self.counts = QLabel(self)
        left = QWidget(self)
        lv = QVBoxLayout(left)
        lv.setContentsMargins(6, 0, 0, 0)
        lv.addWidget(self.filter_box)
        lv.addWidget(self.list_view, 1)
        lv.addWidget(self.counts)
        right = QWidget(self)
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 6, 0)
        rv.addWidget(QLabel("Classes", self))
        rv.addWidget(self.classes, 1)
        rv.addWidget(self.suggestions_box)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        for part in (left, self.view, right):
            splitter.addWidget(part)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([220, 900, 220])
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.view.addActions([a.copy, a.paste, a.delete, a.hide, a.show_all, a.lock, a.mark_review])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.chooser)
        layout.addWidget(bar)
        layout.addWidget(splitter, 1)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(10, 2, 10, 4)
        bottom.addWidget(self.status, 1)
        layout.addLayout(bottom)

    def _connect(self) -> None:
        a, e, s = self.actions_, self.editor, self.session
        for action, tool in ((a.tool_select, "select"), (a.tool_rect, "rect"), (a.tool_polygon, "polygon"),
                             (a.tool_point, "point")):  # fmt: skip
            action.triggered.connect(lambda _c=False, t=tool: e.set_tool(t))
        a.tag.triggered.connect(lambda: e.toggle_tag(e.current_class))
        a.undo.triggered.connect(e.undo_stack.undo)
        a.redo.triggered.connect(e.undo_stack.redo)
        a.delete.triggered.connect(self._on_delete_triggered)
        a.copy.triggered.connect(e.copy_selection)
        a.paste.triggered.connect(e.paste)
        a.hide.triggered.connect(lambda: e.toggle_flag("hidden"))
        a.show_all.triggered.connect(e.show_all)
        a.lock.triggered.connect(lambda: e.toggle_flag("locked"))
        a.next_image.triggered.connect(lambda: self.step(1, False))
        a.prev_image.triggered.connect(lambda: self.step(-1, False))
        a.next_unlabeled.triggered.connect(lambda: self.step(1, True))
        a.prev_unlabeled.triggered.connect(lambda: self.step(-1, True))
        a.mark_done.triggered.connect(self._on_mark_done_triggered)
        a.mark_review.triggered.connect(lambda: e.set_status("needs_review"))
        a.fit.triggered.connect(self.view.fit)
        a.actual_size.triggered.connect(self.view.actual_size)
        a.zoom_in.triggered.connect(lambda: self.view.zoom_by(1.25))
        a.zoom_out.triggered.connect(lambda: self.view.zoom_by(0.8))
        a.save_version.triggered.connect(self._on_save_version_triggered)
        a.suggestions.triggered.connect(self.suggestions_box.choose)
        a.accept.triggered.connect(self.suggestions.accept)
        a.reject.triggered.connect(self.suggestions.reject)
        for number, action in enumerate(a.classes, start=1):
            action.triggered.connect(lambda _c=False, n=number: self.classes.pick_number(n))
        e.undo_stack.indexChanged.connect(self._update_actions)
        e.tool_changed.connect(self._on_editor_tool_changed)
        e.message_posted.connect(self.message_posted)
        e.edited.connect(self._on_editor_edited)
        e.class_changed.connect(lambda _n: self._update_status())
        s.message_posted.connect(self.message_posted)
        s.draft_found.connect(self._on_session_draft_found)
        s.loaded.connect(self._on_session_loaded)
        s.saved.connect(self._on_session_saved)
        self.loader.loaded.connect(self._on_loader_loaded)
        self.loader.failed.connect(self._on_loader_failed)
        self.loader.region_loaded.connect(self._on_loader_region_loaded)
        self.view.region_wanted.connect(self._on_view_region_wanted)
        self.view.zoom_changed.connect(lambda _z: self._update_status())
        self.view.delete_requested.connect(self._on_delete_triggered)
        self.view.enter_requested.connect(self.suggestions.accept)
        self.scene.cursor_moved.connect(self._on_scene_cursor_moved)
        self.list_view.selectionModel().currentChanged.connect(self._on_list_current_changed)
        self.filter_box.currentIndexChanged.connect(
            lambda _i: self.model.set_filter(self.filter_box.currentData())
        )
        self.chooser.open_requested.connect(self.open_dataset)
        self.chooser.message_posted.connect(self.message_posted)
        self.suggestions.changed.connect(self._update_status)
        theme.notifier.theme_changed.connect(self._on_theme_changed)
        self._on_theme_changed("")

    @Slot(str)
    def _on_theme_changed(self, _resolved: str) -> None:
        tint = QColor(theme.colors()["accent"])
        tint.setAlpha(60)
        self.toolbar.setStyleSheet(
            f"QToolButton:checked {{ background: {tint.name(QColor.NameFormat.HexArgb)}; }}"
        )

    def action_groups(self) -> list[LabelingActions]:
        return [self.actions_]

    # ------------------------------------------------------------ visibility
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shown and self.chooser.dataset_box.count() == 0:
            self.session.list_datasets()
        self._shown = True
        self._update_actions()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._shown = False
        self._update_actions()
        if self.session.autosave_pending():
            self.session.autosave_now()

    def _update_actions(self, *_args: Any) -> None:
        sync_undo_actions(self.actions_, self.editor.undo_stack, self._shown)

    # ------------------------------------------------------------ datasets
    def open_dataset(self, name: str, version: int | str = "latest") -> None:
        if self.session.autosave_pending():
            self.session.autosave_now()
        self.session.open(name, version)

    def _on_session_draft_found(self, draft: DraftView) -> None:
        answer = QMessageBox.question(
            self, "Restore unsaved labels?",
            f"There are unsaved labels of {self.session.pending.name if self.session.pending else 'this dataset'}"
            f" from an earlier session (based on version {draft.base_version}). Restore them?",
        )  # fmt: skip
        self.session.restore(draft if answer == QMessageBox.StandardButton.Yes else None)

    @Slot()
    def _on_session_loaded(self) -> None:
        self.suggestions.clear()
        self.classes.refresh()
        doc = self.editor.doc
        self.chooser.show_dataset(doc.dataset)
        if doc.paths:
            first = il.neighbour(doc.paths, doc, None, 1, True) or doc.paths[0]
            self.open_path(first)
        self._update_status()

    def _on_save_version_triggered(self) -> None:
        if not self.editor.doc.dataset:
            self.message_posted.emit("Open a dataset first.")
            return
        message, ok = QInputDialog.getText(self, "Save as version", "Describe the change (optional):")
        if ok:
            self.session.save_version(message)

    def _on_session_saved(self, version: VersionView) -> None:
        self.session.list_versions(self.editor.doc.dataset)
        self.open_dataset(self.editor.doc.dataset, version.version)

    # ------------------------------------------------------------ images
    def open_path(self, path: str) -> None:
        """Show ``path``: the editor switches at once (the image follows from the loader)."""
        blob = self.editor.doc.blobs.get(path, "")
        self.editor.open_image(path, self.loader.full_size(blob) if blob else None)
        self.view.tags = []
        self.scene.image_item.clear()
        w, h = self.editor.size()
        self.scene.image_item.full = QRectF(0, 0, w, h)
        self.view.fit()
        if path in self.editor.doc.errors:
            self._on_loader_failed(blob, self.editor.doc.errors[path])
        else:
            self.loader.request(blob)
        row = self.model.row_of(path)
        if row is not None and self.list_view.currentIndex().row() != row:
            self.list_view.setCurrentIndex(self.model.index(row))
        nxt = il.neighbour(self.editor.doc.paths, self.editor.doc, path, 1, False)
        if nxt:
            self.loader.prefetch(self.editor.doc.blobs.get(nxt, ""))
        self._refresh_tags()
        self._update_status()

    def step(self, direction: int, unlabeled: bool) -> None:
        paths = self.model.rows if not unlabeled else self.editor.doc.paths
        target = il.neighbour(paths, self.editor.doc, self.editor.path, direction, unlabeled)
        if target is None:
            self.message_posted.emit("No more unlabeled images." if unlabeled else "No more images that way.")
            return
        self.open_path(target)

    def _on_list_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        path = current.data(il.PathRole)
        if path and path != self.editor.path:
            self.open_path(str(path))

    def _on_loader_loaded(self, blob: str, image: QImage, full: tuple) -> None:
        path = self.editor.path
        if path is None or self.editor.doc.blobs.get(path) != blob:
            return
        self.scene.image_item.set_image(image, (int(full[0]), int(full[1])))
        self.view.fit()

    def _on_loader_failed(self, blob: str, reason: str) -> None:
        path = self.editor.path
        if path is not None and self.editor.doc.blobs.get(path) == blob:
            self.scene.image_item.clear(f"This image cannot be shown: {reason}. Skip it with D.")
            self.view.viewport().update()
            self.message_posted.emit(f"{path}: {reason}")

    def _on_view_region_wanted(self, rect: QRectF, side: int) -> None:
        blob = self.editor.doc.blobs.get(self.editor.path or "", "")
        if blob:
            r = rect.toAlignedRect()
            self.loader.request_region(blob, (r.x(), r.y(), r.width(), r.height()), side)

    def _on_loader_region_loaded(self, blob: str, clip: tuple, image: QImage) -> None:
        if self.editor.doc.blobs.get(self.editor.path or "") == blob:
            self.scene.image_item.set_region(QRectF(*clip), image)

    # ------------------------------------------------------------ edits
    def _on_delete_triggered(self) -> None:
        if self.suggestions.selected is not None and not self.editor.selected:
            self.suggestions.reject()
        elif self.editor.selected_vertex is not None:
            self.editor.remove_vertex(*self.editor.selected_vertex)
        else:
            self.editor.delete_selection()

    def _on_mark_done_triggered(self) -> None:
        self.editor.set_status("done")
        self.step(1, True)

    def _on_editor_tool_changed(self, tool: str) -> None:
        a = self.actions_
        {"select": a.tool_select, "rect": a.tool_rect, "polygon": a.tool_polygon, "point": a.tool_point}[
            tool
        ].setChecked(True)
        self.view.viewport().setCursor(
            Qt.CursorShape.ArrowCursor if tool == "select" else Qt.CursorShape.CrossCursor
        )

    def _on_editor_edited(self, path: str) -> None:
        if path == self.editor.path or path == "":
            self._refresh_tags()
        self._update_status()

    def _refresh_tags(self) -> None:
        self.view.tags = [(t, self.editor.color(t)) for t in self.editor.state.tags]
        self.view.viewport().update()

    # ------------------------------------------------------------ status
    def _on_scene_cursor_moved(self, x: float, y: float) -> None:
        w, h = self.editor.size()
        self._cursor_text = f"x {int(x)}, y {int(y)} px · " if 0 <= x < w and 0 <= y < h else ""
        self._update_status()

    def _update_status(self) -> None:
        doc, path = self.editor.doc, self.editor.path
        counts = doc.counts()
        self.counts.setText(
            f"{len(doc.paths)} images · {counts['done']} done · {counts['unlabeled']} unlabeled"
        )
        if path is None:
            self.status.setText("Choose a dataset and version, then Open.")
            return
        state = self.editor.state
        index = doc.paths.index(path) + 1 if path in doc.paths else 0
        pending = self.suggestions.count()
        self.status.setText(
            f"{self._cursor_text}zoom {self.view.zoom() * 100:.0f}% · {path} ({index}/{len(doc.paths)}) · "
            f"{state.w}×{state.h} · {STATUS_TEXT[state.status]} · {len(state.shapes)} shapes · "
            f"class {self.editor.current_class or '—'}" + (f" · {pending} suggestions" if pending else "")
        )
