"""Undo commands of the labeling canvas. Every edit swaps whole frozen states (one image's
``ImageState``, or the class map plus the images a rename or merge relabels), so undo is
exact and the stack needs no depth limit to stay cheap."""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from sparktrainer_gui.panels.labeling.document import ImageState, LabelDocument
from trainer_runtime.labeling.classmap import ClassMap

MOVE_ID = 7001


class ImageEditCommand(QUndoCommand):
    def __init__(self, doc: LabelDocument, path: str, new: ImageState, text: str) -> None:
        super().__init__(text)
        self.doc, self.path = doc, path
        self.old, self.new = doc.state(path), new

    def redo(self) -> None:
        self.doc.set_state(self.path, self.new)

    def undo(self) -> None:
        self.doc.set_state(self.path, self.old)


class ClassesCommand(QUndoCommand):
    """A class map change, with every image it relabels (rename, merge)."""

    def __init__(self, doc: LabelDocument, new: ClassMap, states: dict[str, ImageState], text: str) -> None:
        super().__init__(text)
        self.doc = doc
        self.old_classes, self.new_classes = doc.classes, new
        self.old_states = {p: doc.state(p) for p in states}
        self.new_states = dict(states)

    def redo(self) -> None:
        for path, state in self.new_states.items():
            self.doc.set_state(path, state)
        self.doc.set_classes(self.new_classes)

    def undo(self) -> None:
        for path, state in self.old_states.items():
            self.doc.set_state(path, state)
        self.doc.set_classes(self.old_classes)
