"""The labeling document: plain Python, no Qt. It holds the version being labeled (one
``ImageState`` per image, frozen, and the class list) and tells its subscribers what
changed. Undo commands swap whole ``ImageState`` values, so an edit is a pure function
``old state → new state`` (the helpers below) and undo puts the old value back.

A version's labels arrive as the contract's ``LabelsView`` (annotations as ``AnnotationView``);
a draft as ``DraftView``, whose annotations are the JSON this document sent (the labels
contract: ``{"h","w","status","tags","shapes":[{"kind","label","points",("hidden"),("locked")}]}``),
decoded by the runtime's ``ImageAnnotation``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from trainer_runtime.api.schema.labels import AnnotationView, DraftView, LabelsView
from trainer_runtime.labeling.classmap import ClassMap
from trainer_runtime.labeling.shapes import STATUSES, ImageAnnotation, Point, Shape, problem

STATUS_TEXT = {"unlabeled": "unlabeled", "in_progress": "in progress", "done": "done",
               "needs_review": "needs review"}  # fmt: skip

Listener = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class DocShape:
    """One shape on one image: the runtime's frozen ``Shape`` with the document's handle
    ``id`` (never saved)."""

    id: int
    shape: Shape

    @property
    def kind(self) -> str:
        return self.shape.kind

    @property
    def label(self) -> str:
        return self.shape.label

    @property
    def points(self) -> tuple[Point, ...]:
        return self.shape.points

    @property
    def hidden(self) -> bool:
        return self.shape.hidden

    @property
    def locked(self) -> bool:
        return self.shape.locked

    def but(self, **changes: Any) -> DocShape:
        """The same shape (same id) with ``changes`` to the ``Shape`` fields."""
        points = changes.pop("points", None)
        shape = replace(self.shape, **changes)
        return DocShape(self.id, shape.with_points(points) if points is not None else shape)


@dataclass(frozen=True)
class ImageState:
    w: int = 0
    h: int = 0
    status: str = "unlabeled"
    tags: tuple[str, ...] = ()
    shapes: tuple[DocShape, ...] = ()

    def shape(self, shape_id: int) -> DocShape | None:
        return next((s for s in self.shapes if s.id == shape_id), None)

    def index(self, shape_id: int) -> int | None:
        return next((i for i, s in enumerate(self.shapes) if s.id == shape_id), None)

    def annotation(self) -> ImageAnnotation:
        return ImageAnnotation(self.w, self.h, self.status, self.tags, tuple(s.shape for s in self.shapes))

    def to_json(self) -> dict[str, Any]:
        return self.annotation().to_json()


@dataclass(frozen=True)
class DocBody:
    """What a save or a draft sends: the images edited since ``base_version`` and the classes."""

    base_version: int
    classes: dict[str, Any]
    annotations: dict[str, dict[str, Any]]
    message: str = ""


# ------------------------------------------------------------------ decoding
def decode_annotation(data: Any, next_id: Callable[[], int], where: str = "image") -> ImageState:
    """The contract's annotation (a view from the daemon, a draft's JSON, or a plain class
    name: a whole-image tag) as a state."""
    if isinstance(data, AnnotationView):  # checked by the daemon and the contract already
        shapes = tuple(
            DocShape(next_id(), Shape(s.kind, s.label, tuple(s.points), s.hidden, s.locked))
            for s in data.shapes
        )
        return ImageState(data.w, data.h, data.status, tuple(data.tags), shapes)
    if data is None or data == "":
        return ImageState()
    if isinstance(data, str):
        return ImageState(status="done", tags=(data,))
    ann = ImageAnnotation.from_json(data, where)
    shapes = tuple(DocShape(next_id(), s) for s in ann.shapes)
    return ImageState(ann.w, ann.h, ann.status, ann.tags, shapes)


# ------------------------------------------------------------------ pure edits
def touched(state: ImageState) -> ImageState:
    """An edit on an unlabeled image puts it in progress."""
    return replace(state, status="in_progress") if state.status == "unlabeled" else state


def with_shape(state: ImageState, shape: DocShape) -> ImageState:
    """``shape`` added, or replacing the one with its id."""
    if state.shape(shape.id) is None:
        return touched(replace(state, shapes=(*state.shapes, shape)))
    return touched(replace(state, shapes=tuple(shape if s.id == shape.id else s for s in state.shapes)))


def with_shapes(state: ImageState, shapes: Iterable[DocShape]) -> ImageState:
    for shape in shapes:
        state = with_shape(state, shape)
    return state


def without_shapes(state: ImageState, ids: Iterable[int]) -> ImageState:
    gone = set(ids)
    return touched(replace(state, shapes=tuple(s for s in state.shapes if s.id not in gone)))


def with_tag(state: ImageState, tag: str, on: bool) -> ImageState:
    tags = tuple(t for t in state.tags if t != tag) + ((tag,) if on else ())
    return touched(replace(state, tags=tags))


def relabeled(state: ImageState, old: str, new: str) -> ImageState:
    """Every use of class ``old`` (shapes and tags) now says ``new`` (rename and merge)."""
    tags: list[str] = []
    for t in state.tags:
        name = new if t == old else t
        if name not in tags:
            tags.append(name)
    shapes = tuple(s.but(label=new) if s.label == old else s for s in state.shapes)
    return replace(state, tags=tuple(tags), shapes=shapes)


@dataclass
class LabelDocument:
    """The version being labeled. Events: ``image_changed`` {path, old, new},
    ``classes_changed`` {old, new}, ``reset`` {}."""

    dataset: str = ""
    base_version: int = 0
    paths: list[str] = field(default_factory=list)
    blobs: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # images the runtime could not decode
    edited: set[str] = field(default_factory=set)  # images changed since the version (what is sent)
    states: dict[str, ImageState] = field(default_factory=dict)
    classes: ClassMap = field(default_factory=ClassMap)
    _listeners: list[Listener] = field(default_factory=list)
    _next_id: int = 0

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, event: str, payload: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            listener(event, payload)

    # ------------------------------------------------------------- loading
    def load(self, dataset: str, labels: LabelsView, draft: DraftView | None = None) -> None:
        """Fill from ``GET …/labels`` (and a draft's annotations over it)."""
        self.dataset, self.base_version = dataset, labels.version
        self.paths, self.blobs, self.states, self.errors = [], {}, {}, {}
        self.edited = set()
        drafted = draft.annotations if draft is not None else {}
        for image in labels.images:
            path = image.path
            self.paths.append(path)
            self.blobs[path] = image.blob
            if image.error:
                self.errors[path] = image.error
            if path in drafted:
                self.edited.add(path)
            data = drafted.get(path, image.annotation)
            self.states[path] = decode_annotation(data, self.new_id, path)
        if draft is not None and draft.classes:
            classes = ClassMap.from_json(draft.classes)
        else:
            classes = ClassMap.from_json(labels.classes.model_dump(mode="json"))
        used = {s.label for st in self.states.values() for s in st.shapes}
        used |= {t for st in self.states.values() for t in st.tags}
        self.classes = classes.ensure(sorted(used))
        self._emit("reset", {})

    # ------------------------------------------------------------- editing
    def state(self, path: str) -> ImageState:
        return self.states.get(path, ImageState())

    def set_state(self, path: str, new: ImageState) -> None:
        old = self.state(path)
        if old == new:
            return
        self.states[path] = new
        self.edited.add(path)
        self._emit("image_changed", {"path": path, "old": old, "new": new})

    def set_classes(self, new: ClassMap) -> None:
        old, self.classes = self.classes, new
        self._emit("classes_changed", {"old": old, "new": new})

    # ------------------------------------------------------------- saving
    def annotations(self, only_edited: bool = True) -> dict[str, dict[str, Any]]:
        """Path → annotation: of the images edited since the version (what a save or a
        draft sends; the runtime keeps the others as they are), or of all images."""
        return {
            p: self.states[p].to_json()
            for p in self.paths
            if p in self.states and (p in self.edited or not only_edited)
        }

    def problems(self) -> list[str]:
        """One sentence per shape that cannot be saved (image, shape number, why)."""
        out = []
        for path in self.paths:
            for number, shape in enumerate(self.state(path).shapes, start=1):
                why = problem(shape.shape)
                if why:
                    out.append(f"{path}, shape {number} ({shape.kind} '{shape.label}'): {why}")
        return out

    def save_body(self, message: str = "") -> DocBody:
        return DocBody(self.base_version, self.classes.to_json(), self.annotations(), message)

    def draft_body(self) -> DocBody:
        return self.save_body()

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for path in self.paths:
            out[self.state(path).status] += 1
        return out
