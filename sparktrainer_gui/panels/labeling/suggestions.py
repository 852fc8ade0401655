"""Pre-labelling suggestions on the canvas: a finished ``prelabel`` job's
``suggestions.json`` shown as dashed boxes (and suggested tags) with their scores. Enter
accepts the selected one, Delete rejects it, and "accept all above" takes every
suggestion at or over a threshold at once. Accepting adds normal shapes and tags through
the editor (undoable); a rejection only hides the suggestion for this session."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from sparktrainer_gui.panels.labeling.document import DocShape
from sparktrainer_gui.panels.labeling.editor import LabelEditor
from sparktrainer_gui.panels.labeling.items import ShapeItem
from sparktrainer_gui.panels.labeling.scene import LabelScene
from trainer_runtime.api.schema.labels import Suggestion, SuggestionsView
from trainer_runtime.labeling.shapes import Shape


def above(items: list[Suggestion], threshold: float) -> list[Suggestion]:
    return [s for s in items if s.score >= threshold]


class SuggestionLayer(QObject):
    changed = Signal()  # what is pending or selected changed

    def __init__(self, editor: LabelEditor, scene: LabelScene) -> None:
        super().__init__(editor)
        self.editor, self.scene = editor, scene
        self.source = ""  # the job id or where the suggestions came from
        self.pending: dict[str, list[Suggestion]] = {}
        self.selected: int | None = None  # index into pending[current path]
        self.items: list[ShapeItem] = []
        editor.image_opened.connect(self._on_editor_image_opened)

    # ------------------------------------------------------------ loading
    def load(self, data: SuggestionsView, source: str = "") -> int:
        """Take a job's suggestions; returns how many apply to images of the open version."""
        known = set(self.editor.doc.paths)
        self.pending = {
            path: sorted(items, key=lambda s: -s.score)
            for path, items in data.images.items()
            if path in known and items
        }
        self.source = source
        self._show()
        return sum(len(v) for v in self.pending.values())

    def clear(self) -> None:
        self.pending, self.source = {}, ""
        self._show()

    def here(self) -> list[Suggestion]:
        return self.pending.get(self.editor.path or "", [])

    def count(self) -> int:
        return sum(len(v) for v in self.pending.values())

    # ------------------------------------------------------------ selection
    def select(self, index: int | None) -> None:
        items = self.here()
        self.selected = index if index is not None and 0 <= index < len(items) else None
        for i, item in enumerate(self.items):
            item.set_selected(i == self.selected)
        self.changed.emit()

    def select_at(self, x: float, y: float) -> bool:
        """Select the suggested box under (x, y); True when there was one."""
        for i, s in enumerate(self.here()):
            if s.kind == "rect" and s.points:
                (x0, y0), (x1, y1) = s.points
                if min(x0, x1) <= x <= max(x0, x1) and min(y0, y1) <= y <= max(y0, y1):
                    self.select(i)
                    return True
        return False

    # ------------------------------------------------------------ decisions
    def accept(self, index: int | None = None) -> bool:
        index = self.selected if index is None else index
        items = self.here()
        if index is None or not 0 <= index < len(items):
            return False
        chosen = items[index]
        self.editor.undo_stack.beginMacro(f"Accept {chosen.kind} '{chosen.label}'")
        self._apply(chosen)
        self.editor.undo_stack.endMacro()
        del items[index]
        self._show(keep=index)
        return True

    def reject(self, index: int | None = None) -> bool:
        index = self.selected if index is None else index
        items = self.here()
        if index is None or not 0 <= index < len(items):
            return False
        del items[index]
        self._show(keep=index)
        return True

    def accept_above(self, threshold: float) -> int:
        """Accept every suggestion (all images) scoring at least ``threshold``: one undo step."""
        chosen = {p: above(items, threshold) for p, items in self.pending.items()}
        n = sum(len(v) for v in chosen.values())
        if not n:
            return 0
        self.editor.undo_stack.beginMacro(f"Accept {n} suggestion{'s' * (n != 1)} ≥ {threshold:.2f}")
        for path, items in chosen.items():
            for s in items:
                self._apply(s, path)
            self.pending[path] = [s for s in self.pending[path] if s not in items]
        self.editor.undo_stack.endMacro()
        self._show()
        return n

    def _apply(self, s: Suggestion, path: str | None = None) -> None:
        from sparktrainer_gui.panels.labeling import document as d

        path = path or self.editor.path
        if path is None:
            return
        label = s.label
        if self.editor.doc.classes.by_name(label) is None:
            self.editor.add_class(label)
        state = self.editor.doc.state(path)
        if s.kind == "tag" or not s.points:
            if label not in state.tags:
                self.editor.push(d.with_tag(state, label, True), f"Accept tag '{label}'", path)
            return
        (x0, y0), (x1, y1) = s.points
        shape = DocShape(self.editor.doc.new_id(), Shape.rect(label, x0, y0, x1, y1))
        self.editor.push(d.with_shape(state, shape), f"Accept box '{label}'", path)

    # ------------------------------------------------------------ drawing
    def _on_editor_image_opened(self, _path: str) -> None:
        self._show()

    def _show(self, keep: int | None = 0) -> None:
        for item in self.items:
            if item.scene() is not None:
                self.scene.removeItem(item)
        self.items = []
        for s in self.here():
            if s.kind == "rect" and s.points:
                (x0, y0), (x1, y1) = s.points
                shape = DocShape(-1, Shape.rect(s.label, x0, y0, x1, y1))
            else:  # a tag: a dashed frame just inside the image border
                w, h = self.editor.size()
                shape = DocShape(-1, Shape.rect(s.label, 2, 2, max(w - 2, 3), max(h - 2, 3)))
            item = ShapeItem(shape, self.editor.color(s.label), s.score)
            self.scene.addItem(item)
            self.items.append(item)
        items = self.here()
        self.select(min(keep, len(items) - 1) if keep is not None and items else None)
