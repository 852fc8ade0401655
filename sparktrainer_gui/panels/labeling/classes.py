"""The class list: a colour swatch, the number key that picks it (1–9) and the name;
buttons to add, rename, merge and recolour. Every change goes through the editor (one
undo command each; rename and merge relabel every image that uses the class)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from sparktrainer_gui.panels.labeling.editor import LabelEditor


def swatch(color: str, size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(QColor(color))
    return QIcon(pix)


class ClassList(QWidget):
    class_activated = Signal(str)

    def __init__(self, editor: LabelEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.list = QListWidget(self)
        self.list.setObjectName("labelClasses")
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        self.buttons: dict[str, QToolButton] = {}
        for key, text, tip in (("add", "Add", "Add a class"), ("rename", "Rename", "Rename the class (keeps its id)"),
                               ("merge", "Merge", "Merge the class into another (its id is retired)"),
                               ("colour", "Colour", "Change the class colour")):  # fmt: skip
            button = QToolButton(self)
            button.setText(text)
            button.setToolTip(tip)
            buttons.addWidget(button)
            self.buttons[key] = button
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.buttons["add"].clicked.connect(self._on_add_clicked)
        self.buttons["rename"].clicked.connect(self._on_rename_clicked)
        self.buttons["merge"].clicked.connect(self._on_merge_clicked)
        self.buttons["colour"].clicked.connect(self._on_colour_clicked)
        self.list.currentItemChanged.connect(self._on_list_current_changed)
        editor.class_changed.connect(self._on_editor_class_changed)
        editor.edited.connect(self._on_editor_edited)
        self.refresh()

    def refresh(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for number, info in enumerate(self.editor.doc.classes.classes, start=1):
            prefix = f"{number}  " if number <= 9 else "    "
            item = QListWidgetItem(swatch(info.color), f"{prefix}{info.name}", self.list)
            item.setData(Qt.ItemDataRole.UserRole, info.name)
            item.setToolTip(f"id {info.id} · {info.color}" + (f" · key {number}" if number <= 9 else ""))
            if info.name == self.editor.current_class:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)

    def current(self) -> str | None:
        item = self.list.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def pick_number(self, number: int) -> None:
        names = self.editor.doc.classes.names()
        if 1 <= number <= len(names):
            self.editor.set_class(names[number - 1])
            self.class_activated.emit(names[number - 1])

    @Slot(str)
    def _on_editor_edited(self, path: str) -> None:
        if path == "":
            self.refresh()

    @Slot(str)
    def _on_editor_class_changed(self, name: str) -> None:
        if self.current() != name:
            self.refresh()

    def _on_list_current_changed(self, item: QListWidgetItem | None, _prev: QListWidgetItem | None) -> None:
        if item is not None:
            name = str(item.data(Qt.ItemDataRole.UserRole))
            self.editor.set_class(name)
            self.class_activated.emit(name)

    @Slot()
    def _on_add_clicked(self) -> None:
        name, ok = QInputDialog.getText(self, "Add class", "Name of the new class:")
        if ok and name.strip() and self.editor.add_class(name.strip()):
            self.editor.set_class(name.strip())

    @Slot()
    def _on_rename_clicked(self) -> None:
        old = self.current()
        if old is None:
            return
        new, ok = QInputDialog.getText(self, "Rename class", f"New name for “{old}”:", text=old)
        if ok and new.strip() and new.strip() != old:
            self.editor.rename_class(old, new.strip())

    @Slot()
    def _on_merge_clicked(self) -> None:
        source = self.current()
        others = [n for n in self.editor.doc.classes.names() if n != source]
        if source is None or not others:
            return
        target, ok = QInputDialog.getItem(self, "Merge class", f"Merge “{source}” into:", others, 0, False)
        if ok and target:
            self.editor.merge_classes(source, target)

    @Slot()
    def _on_colour_clicked(self) -> None:
        name = self.current()
        if name is None:
            return
        color = QColorDialog.getColor(QColor(self.editor.color(name)), self, f"Colour of “{name}”")
        if color.isValid():
            self.editor.recolour_class(name, color.name())
