"""The Builder panel: palette | canvas (with minimap) | inspector, a toolbar, and a status
line with the graph's size. Composes the editor (document + undo stack), the view and the
widgets; file dialogs and message boxes live here, editing lives in ``editor.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QPointF, Qt, Signal, Slot
from PySide6.QtGui import QAction, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QSplitter,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from sparktrainer_gui import theme
from sparktrainer_gui.actions import refresh_icons, sync_undo_actions
from sparktrainer_gui.panels.builder import geometry as geo
from sparktrainer_gui.panels.builder.actions import BuilderActions
from sparktrainer_gui.panels.builder.editor import GraphEditor
from sparktrainer_gui.panels.builder.inspector import Inspector
from sparktrainer_gui.panels.builder.palette import LayerPalette
from sparktrainer_gui.panels.builder.view import CanvasView
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.architecture.errors import GraphError
from trainer_runtime.architecture.infer import Inference
from trainer_runtime.architecture.templates import TEMPLATES

GRAPH_FILTER = "SparkTrainer graphs (*.json *.graph.json);;All files (*)"


class BuilderPanel(QWidget):
    title = "Builder"
    icon = "graph"
    message_posted = Signal(str)  # a sentence for the status bar
    job_submitted = Signal(str)  # the id of a job started with "Train…"

    def __init__(self, conn: RuntimeConnection, parent: QWidget | None = None):
        super().__init__(parent)
        self.conn = conn
        self.actions_ = BuilderActions.create(self)
        self.editor = GraphEditor(self)
        self.palette = LayerPalette(self)
        self.view = CanvasView(self.editor.scene, self)
        self.inspector = Inspector(self)
        self.status = QLabel(self)
        self.status.setObjectName("builderStatus")
        self._shown = False
        self._unsubscribe = lambda: None
        self._build()
        self._connect()
        self._on_editor_document_replaced()

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        a = self.actions_
        bar = QToolBar(self)
        bar.setObjectName("builderToolbar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        new_button = QToolButton(bar)
        new_button.setText("New")
        new_button.setToolTip("Start an empty graph or one from a template")
        new_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(new_button)
        menu.addAction(a.new_empty)
        menu.addSeparator()
        menu.addActions(a.templates)
        new_button.setMenu(menu)
        bar.addWidget(new_button)
        for action in (a.open, a.save, None, a.undo, a.redo, None, a.group, a.auto_layout, a.fit, None,
                       a.export_code, a.train):  # fmt: skip
            if action is None:
                bar.addSeparator()
            else:
                bar.addAction(action)
        a.open.setIconText("Open")
        a.save.setIconText("Save")
        a.group.setIconText("Group")
        a.fit.setIconText("Fit")
        a.export_code.setIconText("Export code")
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for action in (a.copy, a.paste, a.delete, None, a.group, a.ungroup, a.collapse, None, a.auto_layout,
                       a.fit):  # fmt: skip
            if action is None:
                separator = QAction(self.view)
                separator.setSeparator(True)
                action = separator
            self.view.addAction(action)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.palette)
        splitter.addWidget(self.view)
        splitter.addWidget(self.inspector)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([200, 900, 280])
        bottom = QHBoxLayout()
        bottom.setContentsMargins(10, 2, 10, 4)
        bottom.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)

    def _connect(self) -> None:
        a, e = self.actions_, self.editor
        a.new_empty.triggered.connect(self._on_new_empty_triggered)
        for action in a.templates:
            name = str(action.data())
            action.triggered.connect(lambda _c=False, n=name: self._on_template_triggered(n))
        a.open.triggered.connect(self._on_open_triggered)
        a.save.triggered.connect(self._on_save_triggered)
        a.save_as.triggered.connect(self._on_save_as_triggered)
        a.export_code.triggered.connect(self._on_export_code_triggered)
        a.train.triggered.connect(self._on_train_triggered)
        a.undo.triggered.connect(e.undo_stack.undo)
        a.redo.triggered.connect(e.undo_stack.redo)
        a.delete.triggered.connect(e.delete_selection)
        a.copy.triggered.connect(e.copy_selection)
        a.paste.triggered.connect(e.paste)
        a.group.triggered.connect(self._on_group_triggered)
        a.ungroup.triggered.connect(e.ungroup_selection)
        a.collapse.triggered.connect(lambda: e.toggle_group(None))
        a.auto_layout.triggered.connect(e.auto_layout)
        a.fit.triggered.connect(self.view.fit)
        a.zoom_in.triggered.connect(lambda: self.view.zoom_by(1.25))
        a.zoom_out.triggered.connect(lambda: self.view.zoom_by(0.8))
        e.undo_stack.indexChanged.connect(self._update_actions)
        e.undo_stack.cleanChanged.connect(self._update_actions)
        e.message_posted.connect(self._on_editor_message_posted)
        e.document_replaced.connect(self._on_editor_document_replaced)
        e.param_refused.connect(self._on_editor_param_refused)
        self.palette.layer_activated.connect(self._on_palette_layer_activated)
        self.view.layer_dropped.connect(self._on_view_layer_dropped)
        self.view.delete_requested.connect(e.delete_selection)
        self.inspector.param_edit_requested.connect(e.set_param)
        self.inspector.rename_requested.connect(e.rename)
        theme.notifier.theme_changed.connect(self._on_theme_changed)

    def action_groups(self) -> list[BuilderActions]:
        return [self.actions_]

    # ------------------------------------------------------------ visibility
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._shown = True
        self._update_actions()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._shown = False
        self._update_actions()

    def _update_actions(self, *_args: Any) -> None:
        a, stack = self.actions_, self.editor.undo_stack
        sync_undo_actions(a, stack, self._shown)
        a.undo.setIconText("Undo")
        a.redo.setIconText("Redo")
        name = self.editor.path.name if self.editor.path else "untitled graph"
        self.setWindowTitle(name + ("" if stack.isClean() else " *"))

    # ------------------------------------------------------------- document
    @Slot()
    def _on_editor_document_replaced(self) -> None:
        self._unsubscribe()
        scene = self.editor.scene
        self.view.setScene(scene)
        scene.selectionChanged.connect(self._on_scene_selection_changed)
        scene.inference_updated.connect(self._on_scene_inference_updated)
        self._unsubscribe = self.editor.graph.subscribe(self._on_graph_event)
        self.inspector.show_node(None)
        self._on_scene_inference_updated(scene.inference)
        self._update_actions()
        self.view.fit()

    def new_from_template(self, name: str) -> None:
        self.editor.new_from(TEMPLATES[name]())
        self.message_posted.emit(f"New graph from the {name} template.")

    def open_path(self, path: Path) -> bool:
        try:
            self.editor.load(Path(path))
        except GraphError as err:
            QMessageBox.warning(self, "Cannot open the graph", str(err))
            return False
        self.message_posted.emit(f"Opened {path}.")
        return True

    def save_to(self, path: Path) -> bool:
        try:
            self.editor.save(Path(path))
        except OSError as err:
            QMessageBox.warning(
                self, "Cannot save the graph", f"Could not write {path}: {err.strerror or err}."
            )
            return False
        self._update_actions()
        self.message_posted.emit(f"Saved {path}.")
        return True

    def _confirm_discard(self) -> bool:
        if self.editor.undo_stack.isClean():
            return True
        answer = QMessageBox.question(
            self, "Discard changes?", "The graph has unsaved changes. Discard them?"
        )
        return answer == QMessageBox.StandardButton.Yes

    @Slot()
    def _on_new_empty_triggered(self) -> None:
        if self._confirm_discard():
            from trainer_runtime.architecture.graph import Graph

            self.editor.new_from(Graph(), layout=False)

    def _on_template_triggered(self, name: str) -> None:
        if self._confirm_discard():
            self.new_from_template(name)

    @Slot()
    def _on_open_triggered(self) -> None:
        if not self._confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open graph", str(self._folder()), GRAPH_FILTER)
        if path:
            self.open_path(Path(path))

    @Slot()
    def _on_save_triggered(self) -> None:
        if self.editor.path is None:
            self._on_save_as_triggered()
        else:
            self.save_to(self.editor.path)

    @Slot()
    def _on_save_as_triggered(self) -> None:
        start = str(self.editor.path or self._folder() / "model.graph.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save graph", start, GRAPH_FILTER)
        if path:
            self.save_to(Path(path))

    def _folder(self) -> Path:
        return self.editor.path.parent if self.editor.path else Path.home()

    @Slot()
    def _on_export_code_triggered(self) -> None:
        from trainer_runtime.architecture.codegen import export_source

        try:
            source = export_source(self.editor.graph)
        except GraphError as err:
            QMessageBox.warning(self, "Cannot export the graph", str(err))
            return
        stem = self.editor.path.name.split(".")[0] if self.editor.path else "model"
        path, _ = QFileDialog.getSaveFileName(self, "Export PyTorch code", str(self._folder() / f"{stem}.py"),
                                              "Python files (*.py)")  # fmt: skip
        if not path:
            return
        try:
            Path(path).write_text(source, encoding="utf-8")
        except OSError as err:
            QMessageBox.warning(
                self, "Cannot export the graph", f"Could not write {path}: {err.strerror or err}."
            )
            return
        self.message_posted.emit(f"Exported the PyTorch module to {path}.")

    @Slot()
    def _on_train_triggered(self) -> None:
        from sparktrainer_gui.panels.builder.train import TrainDialog

        problems = self.editor.scene.inference.all_errors()
        if problems:
            QMessageBox.warning(self, "Fix the graph first",
                                f"The graph cannot be trained yet: {problems[0]}")  # fmt: skip
            return
        dialog = TrainDialog(self.conn, self.editor, self)
        dialog.job_submitted.connect(self.job_submitted)
        dialog.job_submitted.connect(
            lambda job_id: self.message_posted.emit(
                f"Submitted training job {job_id}; follow it in the Jobs panel."
            )
        )
        dialog.open()

    # --------------------------------------------------------------- edits
    @Slot(str)
    def _on_palette_layer_activated(self, layer_type: str) -> None:
        self.editor.add_layer(layer_type, self.view.mapToScene(self.view.viewport().rect().center()))

    @Slot(str, QPointF)
    def _on_view_layer_dropped(self, layer_type: str, at: QPointF) -> None:
        self.editor.add_layer(layer_type, at)
        self.view.setFocus()

    @Slot()
    def _on_group_triggered(self) -> None:
        if not self.editor.scene.selected_node_ids():
            self.message_posted.emit("Select the layers to group first.")
            return
        name, ok = QInputDialog.getText(self, "Group layers", "Name of the block:", text="block")
        if ok:
            self.editor.group_selection(name.strip() or None)

    @Slot(str)
    def _on_editor_message_posted(self, sentence: str) -> None:
        self.message_posted.emit(sentence)

    @Slot(str, str, str)
    def _on_editor_param_refused(self, node_id: str, name: str, sentence: str) -> None:
        if node_id == self.inspector.node_id:
            self.inspector.show_param_error(name, sentence)
        self.message_posted.emit(sentence)

    # ----------------------------------------------------- model → widgets
    def _on_graph_event(self, event: str, payload: dict[str, Any]) -> None:
        current = self.inspector.node_id
        if current is None:
            return
        if event == "param_changed" and payload["node_id"] == current:
            self.inspector.update_value(payload["name"], payload["new"])
        elif event == "node_renamed" and payload["node_id"] == current:
            self.inspector.update_value("__name__", payload["name"])
        elif event == "node_removed" and payload["node"].id == current:
            self.inspector.show_node(None)

    @Slot()
    def _on_scene_selection_changed(self) -> None:
        ids = self.editor.scene.selected_node_ids()
        node = self.editor.graph.nodes.get(ids[0]) if len(ids) == 1 else None
        if (node.id if node else None) != self.inspector.node_id:
            self.inspector.show_node(node)
        self._show_node_stats(self.editor.scene.inference)

    def _on_scene_inference_updated(self, res: Inference) -> None:
        g = self.editor.graph
        problems = res.all_errors()
        state = "ready to train" if not problems else f"{len(problems)} problem{'s' * (len(problems) != 1)}"
        first = f" — {problems[0]}" if problems else ""
        self.status.setText(
            f"{len(g.nodes)} layers · {geo.format_count(res.total_params)} parameters · "
            f"{geo.format_count(res.total_flops)} FLOPs per sample · {state}{first}"
        )
        self._show_node_stats(res)

    def _show_node_stats(self, res: Inference) -> None:
        nid = self.inspector.node_id
        node = self.editor.graph.nodes.get(nid) if nid else None
        if node is None:
            return
        out = node.layer.outputs[0].name if node.layer.outputs else None
        shape = geo.format_shape(res.shapes.get((nid, out))) if out else "none (graph output)"
        self.inspector.update_stats(shape, res.params.get(nid), res.flops.get(nid),
                                    [str(e) for e in res.errors.get(nid, [])])  # fmt: skip

    @Slot(str)
    def _on_theme_changed(self, _resolved: str) -> None:
        refresh_icons(list(self.actions_))
        self.editor.scene.apply_theme()
