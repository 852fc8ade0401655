"""The contract of ``/v1/datasets/{name}/labels...`` and ``/v1/jobs/{id}/suggestions``.

An image's annotation is the labeling contract (``trainer_runtime/labeling/shapes.py``):
``{"w", "h", "status", "tags", "shapes": [{"kind", "label", "points", "hidden"?, "locked"?}]}``.
Bodies keep their annotations as the runtime's JSON: the label service decodes them with
sentences that name the image and the shape (a pydantic error would name a JSON pointer).
A draft is stored as it was sent (the GUI's working state) and read back the same way."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from trainer_runtime.api.schema.base import AbsPath, Count, Query, Strict, View
from trainer_runtime.api.schema.datasets import Sparse, VersionView

LabelFormat = Literal["yolo", "coco"]  # trainer_runtime.datasets.formats.LABEL_FORMATS


# ------------------------------------------------------------------ requests
class DraftRequest(Strict):
    base_version: Count
    classes: dict[str, Any] | None = None
    annotations: dict[str, Any] = Field(default_factory=dict)


class SaveRequest(DraftRequest):
    message: str = Field("", max_length=2000)


class LabelsImportRequest(Strict):
    path: AbsPath
    format: LabelFormat


class LabelsExportRequest(Strict):
    version: Count | Literal["latest"] = "latest"
    format: LabelFormat
    out: AbsPath
    force: bool = Field(False, description="write into a folder that is not empty (its files are replaced)")


class LabelsQuery(Query):
    version: str = Field("latest", max_length=30, description="a version number or 'latest'")


# --------------------------------------------------------------------- views
class ClassView(View):
    id: int
    name: str
    color: str


class ClassMapView(Sparse):
    classes: list[ClassView]
    retired: list[int]
    origin: str | None = None  # "coco": ids are the source file's category ids


class ShapeView(View):
    kind: str  # rect | polygon | point
    label: str
    points: list[tuple[float, float]]
    hidden: bool = False
    locked: bool = False


class AnnotationView(View):
    w: int
    h: int
    status: str
    tags: list[str]
    shapes: list[ShapeView]


class LabelImageView(Sparse):
    path: str
    blob: str  # the stored (read-only) file
    size: int
    annotation: AnnotationView
    error: str | None = None  # why the image cannot be decoded


class ReportRow(Sparse):
    """What an import, export or read did with one label it could not take as it was."""

    action: str  # skipped | clipped | ...
    reason: str
    image: str | None = None
    shape: int | None = None
    label: str | None = None
    file: str | None = None
    line: int | None = None


class LabelsView(View):
    """A version's labels: its classes and every image with its annotation."""

    dataset: str
    version: int
    classes: ClassMapView
    images: list[LabelImageView]
    report: list[ReportRow]


class DraftView(View):
    base_version: int
    classes: dict[str, Any] | None = None
    annotations: dict[str, Any] = Field(default_factory=dict)


class DraftAnswer(View):
    draft: DraftView


class DraftSavedView(View):
    dataset: str
    path: str
    bytes: int


class DraftSavedAnswer(View):
    draft: DraftSavedView


class DroppedAnswer(View):
    dropped: bool


class LabelsImportAnswer(View):
    version: VersionView
    report: list[ReportRow]


class WrittenView(Sparse):
    dataset: str
    version: int
    format: LabelFormat
    out: str
    images: int
    annotations: int | None = None  # COCO
    file: str | None = None  # COCO's annotations file
    label_files: int | None = None  # YOLO
    shapes: int | None = None  # YOLO


class ExportAnswer(View):
    written: WrittenView
    report: list[ReportRow]


class Suggestion(Sparse):
    kind: Literal["tag", "rect"]
    label: str
    score: float
    points: list[tuple[float, float]] | None = None


class SuggestionsView(Sparse):
    """A prelabel job's ``suggestions.json`` (``trainer_runtime/worker/prelabel.py``)."""

    dataset: str
    version: int | None
    hash: str | None = None
    model: str
    kind: Literal["tags", "boxes"]
    images: dict[str, list[Suggestion]]
    skipped: dict[str, str] = Field(default_factory=dict)


__all__ = [
    "AnnotationView",
    "ClassMapView",
    "ClassView",
    "DraftAnswer",
    "DraftRequest",
    "DraftSavedAnswer",
    "DraftSavedView",
    "DraftView",
    "DroppedAnswer",
    "ExportAnswer",
    "LabelImageView",
    "LabelsExportRequest",
    "LabelsImportAnswer",
    "LabelsImportRequest",
    "LabelsQuery",
    "LabelsView",
    "ReportRow",
    "SaveRequest",
    "ShapeView",
    "Suggestion",
    "SuggestionsView",
    "WrittenView",
]
