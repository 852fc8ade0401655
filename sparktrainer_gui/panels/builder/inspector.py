"""The property inspector: a form for the selected node, built from its ``ParamDef``s
(spin boxes, check boxes, combo boxes, shape line edits). It only asks for edits
(``param_edit_requested``, ``rename_requested``); the editor applies them as undo commands
and calls ``show_param_error`` when the graph refuses a value, which is then not applied."""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from sparktrainer_gui.panels.builder import geometry as geo
from trainer_runtime.architecture.catalogue import ParamDef
from trainer_runtime.architecture.graph import Node

INT_LIMIT = 2**31 - 1
ERROR_STYLE = "color: #d93025;"


class Inspector(QWidget):
    param_edit_requested = Signal(str, str, object)  # node id, param name, value
    rename_requested = Signal(str, str)  # node id, new name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("builderInspector")
        self.node_id: str | None = None
        self.editors: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self.title = QLabel("Select a layer to edit it.", self)
        self.title.setObjectName("inspectorTitle")
        self.title.setStyleSheet("font-weight: 600; font-size: 11pt;")
        self.doc = QLabel(self)
        self.doc.setWordWrap(True)
        self.doc.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.stats = QLabel(self)
        self.stats.setObjectName("inspectorStats")
        self.stats.setWordWrap(True)
        self.stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.node_errors = QLabel(self)
        self.node_errors.setObjectName("inspectorErrors")
        self.node_errors.setWordWrap(True)
        self.node_errors.setStyleSheet(ERROR_STYLE)
        self.form_host = QWidget(self)
        self.form = QFormLayout(self.form_host)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.form_host)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        for w in (self.title, self.doc, self.stats, self.node_errors):
            layout.addWidget(w)
        layout.addWidget(scroll, 1)

    # --------------------------------------------------------------- build
    def show_node(self, node: Node | None) -> None:
        self.node_id = node.id if node is not None else None
        while self.form.rowCount():
            self.form.removeRow(0)
        self.editors.clear()
        self.errors.clear()
        if node is None:
            self.title.setText("Select a layer to edit it.")
            self.doc.setText("Drag layers from the palette; connect an output port to an input port.")
            self.stats.clear()
            self.node_errors.clear()
            return
        self.title.setText(f"{node.type}")
        self.doc.setText(node.layer.doc)
        name_edit = QLineEdit(node.name, self.form_host)
        name_edit.setObjectName("inspector_name")
        name_edit.editingFinished.connect(partial(self._on_name_edit_editing_finished, name_edit))
        self.form.addRow("name", name_edit)
        self.editors["__name__"] = name_edit
        for pdef in node.layer.params:
            editor = self._make_editor(pdef, node.params.get(pdef.name, pdef.default))
            editor.setObjectName(f"inspector_{pdef.name}")
            editor.setToolTip(pdef.doc)
            error = QLabel(self.form_host)
            error.setStyleSheet(ERROR_STYLE)
            error.setWordWrap(True)
            error.setVisible(False)
            error.setObjectName(f"inspector_{pdef.name}_error")
            box = QWidget(self.form_host)
            col = QVBoxLayout(box)
            col.setContentsMargins(0, 0, 0, 0)
            col.setSpacing(2)
            col.addWidget(editor)
            col.addWidget(error)
            self.form.addRow(pdef.name, box)
            self.editors[pdef.name] = editor
            self.errors[pdef.name] = error

    def _make_editor(self, pdef: ParamDef, value: Any) -> QWidget:
        parent = self.form_host
        if pdef.kind == "int":
            spin = QSpinBox(parent)
            spin.setRange(int(pdef.min) if pdef.min is not None else -INT_LIMIT,
                          int(pdef.max) if pdef.max is not None else INT_LIMIT)  # fmt: skip
            spin.setKeyboardTracking(False)  # one edit per Enter / arrow step, not per keystroke
            spin.setValue(int(value))
            spin.valueChanged.connect(partial(self._emit, pdef.name))
            return spin
        if pdef.kind == "float":
            dspin = QDoubleSpinBox(parent)
            dspin.setDecimals(6)
            dspin.setRange(
                pdef.min if pdef.min is not None else -1e9, pdef.max if pdef.max is not None else 1e9
            )
            dspin.setSingleStep(0.05)
            dspin.setKeyboardTracking(False)
            dspin.setValue(float(value))
            dspin.valueChanged.connect(partial(self._emit, pdef.name))
            return dspin
        if pdef.kind == "bool":
            check = QCheckBox(parent)
            check.setChecked(bool(value))
            check.toggled.connect(partial(self._emit, pdef.name))
            return check
        if pdef.kind == "choice":
            combo = QComboBox(parent)
            combo.addItems(list(pdef.choices or ()))
            combo.setCurrentText(str(value))
            combo.activated.connect(lambda _i, c=combo, n=pdef.name: self._emit(n, c.currentText()))
            return combo
        edit = QLineEdit(parent)
        edit.setText(", ".join(str(v) for v in value) if pdef.kind == "shape" else str(value))
        if pdef.kind == "shape":
            edit.setPlaceholderText("e.g. 3, 32, 32 (no batch dimension)")
        edit.editingFinished.connect(partial(self._on_text_edit_editing_finished, pdef, edit))
        return edit

    # --------------------------------------------------------------- edits
    def _emit(self, name: str, value: Any) -> None:
        if self.node_id is not None:
            self.param_edit_requested.emit(self.node_id, name, value)

    def _on_text_edit_editing_finished(self, pdef: ParamDef, edit: QLineEdit) -> None:
        if pdef.kind == "shape":
            try:
                value: Any = geo.parse_shape(edit.text())
            except ValueError as err:
                self.show_param_error(pdef.name, str(err))
                return
        else:
            value = edit.text()
        self._emit(pdef.name, value)

    def _on_name_edit_editing_finished(self, edit: QLineEdit) -> None:
        if self.node_id is not None:
            self.rename_requested.emit(self.node_id, edit.text())

    def show_param_error(self, name: str, message: str) -> None:
        label = self.errors.get(name)
        if label is not None:
            label.setText(message)
            label.setVisible(bool(message))

    # ----------------------------------------------------- model → widgets
    def update_value(self, name: str, value: Any) -> None:
        """Show a value the graph now holds (after an edit, undo or redo), without re-emitting."""
        editor = self.editors.get(name)
        if editor is None:
            return
        editor.blockSignals(True)
        try:
            if isinstance(editor, QSpinBox):
                editor.setValue(int(value))
            elif isinstance(editor, QDoubleSpinBox):
                editor.setValue(float(value))
            elif isinstance(editor, QCheckBox):
                editor.setChecked(bool(value))
            elif isinstance(editor, QComboBox):
                editor.setCurrentText(str(value))
            elif isinstance(editor, QLineEdit):
                shape = isinstance(value, tuple | list)
                editor.setText(", ".join(str(v) for v in value) if shape else str(value))
        finally:
            editor.blockSignals(False)
        self.show_param_error(name, "")

    def update_stats(self, shape: str, params: int | None, flops: int | None, errors: list[str]) -> None:
        parts = [f"output {shape}"]
        if params is not None:
            parts.append(f"{params:,} parameters")
        if flops is not None:
            parts.append(f"{geo.format_count(flops)} FLOPs per sample")
        self.stats.setText(" · ".join(parts))
        self.node_errors.setText("\n".join(errors))
        self.node_errors.setVisible(bool(errors))
