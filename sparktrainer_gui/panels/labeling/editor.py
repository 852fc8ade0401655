"""The labeling editor: the document, its undo stack, the image being shown, the current
class and tool. Every change of labels goes through ``push`` as one undo command; the
scene and the interactions only ask for edits through the methods here."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from sparktrainer_gui.panels.labeling import document as d
from sparktrainer_gui.panels.labeling.commands import ClassesCommand, ImageEditCommand
from sparktrainer_gui.panels.labeling.document import DocShape, ImageState, LabelDocument
from trainer_runtime.labeling import geometry as geo
from trainer_runtime.labeling.classmap import ClassMap, default_color
from trainer_runtime.labeling.shapes import LabelError, Shape

TOOLS = ("select", "rect", "polygon", "point")


class LabelEditor(QObject):
    image_opened = Signal(str)  # path
    edited = Signal(str)  # the path of the image whose labels changed ("" for the class map)
    selection_changed = Signal()
    tool_changed = Signal(str)
    class_changed = Signal(str)  # the current class
    message_posted = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = LabelDocument()
        self.undo_stack = QUndoStack(self)  # no undo limit
        self.path: str | None = None
        self.tool = "select"
        self.current_class = ""
        self.selected: list[int] = []  # shape ids on the current image
        self.selected_vertex: tuple[int, int] | None = None  # (polygon id, vertex): what Del removes
        self.clipboard: list[Shape] = []
        self.doc.subscribe(self._on_doc_event)

    # ------------------------------------------------------------ state
    @property
    def state(self) -> ImageState:
        return self.doc.state(self.path) if self.path else ImageState()

    def size(self) -> tuple[float, float]:
        s = self.state
        return float(s.w), float(s.h)

    def open_image(self, path: str, size: tuple[int, int] | None = None) -> None:
        """Show ``path``; ``size`` (from the image header) fills in an unknown image size
        (not an edit: nothing to undo)."""
        if path not in self.doc.states and path not in self.doc.paths:
            raise KeyError(path)
        state = self.doc.state(path)
        if size and size[0] > 0 and (state.w <= 0 or state.h <= 0):
            self.doc.states[path] = replace(state, w=size[0], h=size[1])
        self.path = path
        self.selected = []
        self.image_opened.emit(path)
        self.selection_changed.emit()

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}")
        self.tool = tool
        self.tool_changed.emit(tool)

    def set_class(self, name: str) -> None:
        self.current_class = name
        self.class_changed.emit(name)

    def select(self, ids: list[int]) -> None:
        ids = [i for i in ids if self.state.shape(i) is not None]
        if ids != self.selected:
            self.selected = ids
            if self.selected_vertex is not None and self.selected_vertex[0] not in ids:
                self.selected_vertex = None
            self.selection_changed.emit()

    def selected_shapes(self) -> list[DocShape]:
        state = self.state
        return [s for i in self.selected if (s := state.shape(i)) is not None]

    # ------------------------------------------------------------ edits
    def push(self, new: ImageState, text: str, path: str | None = None) -> None:
        path = path or self.path
        if path is None or new == self.doc.state(path):
            return
        self.undo_stack.push(ImageEditCommand(self.doc, path, new, text))

    def label_for_new_shape(self) -> str | None:
        if not self.current_class:
            self.message_posted.emit("Pick or add a class first (the class list, or keys 1–9).")
            return None
        return self.current_class

    def add_shape(self, shape: Shape) -> DocShape | None:
        """Add ``shape`` (clipped to the image) to the current image; refused with a
        sentence when it has no area left."""
        w, h = self.size()
        clipped, _ = geo.clip(shape, w, h) if w > 0 and h > 0 else (shape, False)
        if clipped is None:
            self.message_posted.emit(f"The {shape.kind} is outside the image; nothing was added.")
            return None
        doc_shape = DocShape(self.doc.new_id(), clipped)
        self.push(d.with_shape(self.state, doc_shape), f"Add {shape.kind} '{shape.label}'")
        self.select([doc_shape.id])
        return doc_shape

    def replace_shapes(self, shapes: list[DocShape], text: str) -> None:
        self.push(d.with_shapes(self.state, shapes), text)

    def delete_selection(self) -> None:
        if self.selected:
            n = len(self.selected)
            self.push(d.without_shapes(self.state, self.selected), f"Delete {n} shape{'s' * (n != 1)}")
            self.select([])

    def remove_vertex(self, shape_id: int, vertex: int) -> None:
        shape = self.state.shape(shape_id)
        if shape is None or shape.kind != "polygon" or shape.locked:
            return
        smaller = geo.remove_vertex(shape.shape, vertex)
        if smaller is None:
            self.message_posted.emit("A polygon needs at least 3 points; delete the shape instead.")
            return
        self.selected_vertex = None
        self.push(d.with_shape(self.state, DocShape(shape.id, smaller)), "Remove vertex")

    def insert_vertex(self, shape_id: int, index: int, at: tuple[float, float]) -> None:
        shape = self.state.shape(shape_id)
        if shape is None or shape.kind != "polygon" or shape.locked:
            return
        w, h = self.size()
        bigger = geo.insert_vertex(shape.shape, index, at, w, h)
        self.push(d.with_shape(self.state, DocShape(shape.id, bigger)), "Add vertex")

    def toggle_flag(self, flag: str) -> None:
        """Hide/show or lock/unlock the selection (all of it one way)."""
        shapes = self.selected_shapes()
        if not shapes:
            self.message_posted.emit("Select shapes first.")
            return
        on = not all(getattr(s, flag) for s in shapes)
        self.push(d.with_shapes(self.state, [s.but(**{flag: on}) for s in shapes]),
                  f"{'Hide' if flag == 'hidden' and on else 'Show' if flag == 'hidden' else 'Lock' if on else 'Unlock'}"
                  f" {len(shapes)} shape{'s' * (len(shapes) != 1)}")  # fmt: skip

    def show_all(self) -> None:
        hidden = [s.but(hidden=False) for s in self.state.shapes if s.hidden]
        if hidden:
            self.push(d.with_shapes(self.state, hidden), "Show all shapes")

    def relabel_selection(self, name: str) -> None:
        shapes = [s for s in self.selected_shapes() if s.label != name]
        if shapes:
            self.push(d.with_shapes(self.state, [s.but(label=name) for s in shapes]), f"Label as '{name}'")

    def toggle_tag(self, name: str) -> None:
        if self.path is None or not name:
            return
        on = name not in self.state.tags
        self.push(d.with_tag(self.state, name, on), f"{'Tag' if on else 'Untag'} image '{name}'")

    def set_status(self, status: str) -> None:
        if self.path is not None:
            self.push(replace(self.state, status=status), f"Mark {d.STATUS_TEXT[status]}")

    # ------------------------------------------------------------ clipboard
    def copy_selection(self) -> None:
        self.clipboard = [s.shape for s in self.selected_shapes()]
        n = len(self.clipboard)
        self.message_posted.emit(f"Copied {n} shape{'s' * (n != 1)}." if n else "Select shapes to copy.")

    def paste(self) -> None:
        """The copied shapes onto the current image (clipped to it), selected."""
        if not self.clipboard or self.path is None:
            return
        w, h = self.size()
        added: list[DocShape] = []
        for shape in self.clipboard:
            clipped, _ = geo.clip(replace(shape, hidden=False, locked=False), w, h)
            if clipped is not None:
                added.append(DocShape(self.doc.new_id(), clipped))
        if added:
            self.push(d.with_shapes(self.state, added), f"Paste {len(added)} shape{'s' * (len(added) != 1)}")
            self.select([s.id for s in added])

    # ------------------------------------------------------------ classes
    def add_class(self, name: str, color: str | None = None) -> bool:
        return self._classes(lambda c: c.add(name, color), {}, f"Add class '{name}'")

    def rename_class(self, old: str, new: str) -> bool:
        info = self.doc.classes.by_name(old)
        if info is None:
            return False
        states = self._relabeled(old, new)
        ok = self._classes(lambda c: c.rename(info.id, new), states, f"Rename class '{old}' to '{new}'")
        if ok and self.current_class == old:
            self.set_class(new)
        return ok

    def recolour_class(self, name: str, color: str) -> bool:
        info = self.doc.classes.by_name(name)
        return info is not None and self._classes(
            lambda c: c.recolor(info.id, color), {}, f"Recolour '{name}'"
        )

    def merge_classes(self, source: str, target: str) -> bool:
        src, dst = self.doc.classes.by_name(source), self.doc.classes.by_name(target)
        if src is None or dst is None:
            return False
        states = self._relabeled(source, target)
        ok = self._classes(lambda c: c.merge(src.id, dst.id), states, f"Merge '{source}' into '{target}'")
        if ok and self.current_class == source:
            self.set_class(target)
        return ok

    def _relabeled(self, old: str, new: str) -> dict[str, ImageState]:
        out = {}
        for path, state in self.doc.states.items():
            if old in state.tags or any(s.label == old for s in state.shapes):
                out[path] = d.relabeled(state, old, new)
        return out

    def _classes(self, change, states: dict[str, ImageState], text: str) -> bool:
        try:
            new: ClassMap = change(self.doc.classes)
        except LabelError as err:
            self.message_posted.emit(f"{str(err)[:1].upper()}{str(err)[1:]}.")
            return False
        self.undo_stack.push(ClassesCommand(self.doc, new, states, text))
        return True

    def color(self, name: str) -> str:
        info = self.doc.classes.by_name(name)
        return info.color if info else default_color(len(self.doc.classes.classes))

    # ------------------------------------------------------------ events
    def _on_doc_event(self, event: str, payload: dict) -> None:
        if event == "image_changed":
            if payload["path"] == self.path:
                kept = [i for i in self.selected if payload["new"].shape(i) is not None]
                if kept != self.selected:
                    self.selected = kept
                    self.selection_changed.emit()
            self.edited.emit(payload["path"])
        elif event == "classes_changed":
            self.edited.emit("")
        elif event == "reset":
            self.undo_stack.clear()
            self.path, self.selected = None, []
            names = self.doc.classes.names()
            self.set_class(names[0] if names else "")
