"""The contract of ``/v1/datasets/...``: request bodies and queries, and the views of datasets,
versions, entries, diffs, integrity and quality reports, format previews and import tasks.

The server validates a request with the same model the client builds (``ImportRequest`` is one
object, not eight positional options). A version's ``meta`` is the import's open record (its
keys depend on the format: ``columns`` of a CSV, ``names`` of YOLO...); the keys every client
reads have typed accessors on ``VersionView``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from trainer_runtime.api.schema.base import AbsPath, Count, Id, PlainStr, Query, Strict, View
from trainer_runtime.datasets.tasks import ImportState

Word = Annotated[PlainStr, Field(min_length=1, max_length=100)]
VersionRef = Count | Literal["latest"]


class Sparse(View):
    """A view whose optional fields are left out when unset, as the runtime writes them."""

    @model_serializer(mode="wrap")
    def _sparse(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


# ------------------------------------------------------------------ requests
class DetectRequest(Strict):
    """What an import of ``path`` would store (nothing is written)."""

    path: AbsPath
    format: Word | None = Field(
        None, description="a format from GET /v1/datasets/formats; detected when left out"
    )
    modality: Word | None = None


class ImportRequest(DetectRequest):
    """One import: the route validates it, the client sends it, the CLI and the GUI build it."""

    name: Annotated[PlainStr, Field(min_length=1, max_length=80)]
    keep_corrupt: bool = Field(False, description="store undecodable pictures too (listed in meta.corrupt)")
    link: bool = Field(False, description="hard-link the source files into storage instead of copying")


class VersionRequest(Strict):
    version: VersionRef = "latest"


class QualityRequest(VersionRequest):
    gates: list[Word] | None = Field(None, max_length=20, description="make a cleaned version (dedupe...)")
    near_threshold: int = Field(4, ge=0, le=32)
    max_text_chars: int = Field(20_000, ge=1, le=100_000_000)


class RollbackRequest(Strict):
    version: Count


class EntriesQuery(Query):
    offset: Id = 0
    limit: int = Field(1000, ge=1, le=1 << 62)  # pages are cut to the server's MAX_PAGE


class DiffQuery(Query):
    a: str = Field(..., max_length=30, description="a version number or 'latest'")
    b: str = Field(..., max_length=30)


# --------------------------------------------------------------------- views
class FormatsView(View):
    """What can be imported (``trainer_runtime.datasets.formats``), for clients to offer."""

    archive_suffixes: list[str]
    image_suffixes: list[str]
    data_suffixes: dict[str, str]  # suffix → the format it is read as
    formats: dict[str, str]  # format → its default modality
    modalities: list[str]
    label_formats: list[str]
    text_formats: list[str]
    importable: str  # one sentence naming them, for refusals


class VersionView(View):
    dataset: str
    version: int
    manifest_hash: str
    files: int
    total_bytes: int
    message: str
    meta: dict[str, Any]  # the import's record; typed accessors below
    created_at: str

    @property
    def format(self) -> str | None:
        return self.meta.get("format")

    @property
    def item_count(self) -> int:
        return int(self.meta.get("item_count", 0))

    @property
    def classes(self) -> dict[str, int]:
        return dict(self.meta.get("classes") or {})

    @property
    def link_note(self) -> str | None:
        return self.meta.get("link_note")

    @property
    def corrupt(self) -> list[str]:
        return list(self.meta.get("corrupt") or [])


class DatasetView(View):
    name: str
    modality: str
    format: str
    created_at: str
    versions: int
    latest: int | None
    manifest_hash: str | None
    files: int
    total_bytes: int
    items: int
    classes: dict[str, int]
    updated_at: str


class DatasetList(View):
    datasets: list[DatasetView]


class DatasetAnswer(View):
    dataset: DatasetView


class VersionList(View):
    versions: list[VersionView]


class VersionAnswer(View):
    version: VersionView


class EntryView(View):
    path: str
    sha256: str
    size: int
    label: str | None
    blob: str  # the stored file (read-only)


class EntriesPage(View):
    version: VersionView
    entries: list[EntryView]
    offset: int


class Relabel(View):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True, validate_by_alias=True)

    path: str
    from_: str | None = Field(alias="from")
    to: str | None


class DiffView(View):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True, validate_by_alias=True)

    dataset: str
    from_: int = Field(alias="from")
    to: int
    added: list[str]
    removed: list[str]
    changed: list[str]
    labels: list[Relabel]


class DiffAnswer(View):
    diff: DiffView


class VerifyView(View):
    dataset: str
    version: int
    ok: bool
    checked: int
    missing: list[str]
    corrupt: list[str]


class VerifyAnswer(View):
    verify: VerifyView


class Undecodable(View):
    path: str
    error: str


class EmptyRow(View):
    path: str
    line: int


class OverlongRow(EmptyRow):
    chars: int


class SchemaError(Sparse):
    """A label file's line (YOLO) or a COCO file's annotation that does not fit its schema."""

    path: str
    message: str
    line: int | None = None
    annotation: int | None = None


class NotCompared(View):
    """A picture too big to hash, so left out of the near-duplicate search."""

    path: str
    width: int
    height: int


class QualitySummary(View):
    """How many findings each list of the report has (counted before the lists were cut)."""

    undecodable: int
    exact_duplicates: int
    near_duplicates: int
    empty_rows: int
    overlong_rows: int
    schema_errors: int
    not_compared: int


class QualityReport(View):
    dataset: str
    version: int
    undecodable: list[Undecodable]
    exact_duplicates: list[list[str]]
    near_duplicates: list[list[str]]
    empty_rows: list[EmptyRow]
    overlong_rows: list[OverlongRow]
    schema_errors: list[SchemaError]
    not_compared: list[NotCompared]
    class_counts: dict[str, int]
    imbalance_ratio: float | None
    summary: QualitySummary
    near_threshold: int
    max_text_chars: int


class GatesView(View):
    dataset: str
    version: int | None  # the cleaned version; None when nothing was dropped
    dropped: list[str]
    message: str
    info: VersionView | None


class QualityAnswer(View):
    quality: QualityReport


class GatesAnswer(View):
    gates: GatesView


class DeletedView(View):
    dataset: str
    version: int
    reclaimed_blobs: int


class DeletedAnswer(View):
    deleted: DeletedView


class ImageSample(Sparse):
    """An image sample of a preview: its size from the header, or why it cannot be read."""

    path: str
    label: str | None = None
    width: int | None = None
    height: int | None = None
    mode: str | None = None
    error: str | None = None


class PreviewView(View):
    """What an import would store. ``samples`` are a few items as read: an image's path, label
    and size (or why it cannot be read), a text row's fields."""

    format: str
    modality: str
    root: str
    source: str
    archive: bool
    files: int
    items: int
    classes: dict[str, int]
    samples: list[dict[str, Any]]
    meta: dict[str, Any]
    total_bytes: int

    @property
    def image_samples(self) -> list[ImageSample]:
        """The samples of an image dataset as views (a text dataset's are its rows' fields)."""
        return [ImageSample.model_validate(s) for s in self.samples] if self.modality == "image" else []


class PreviewAnswer(View):
    preview: PreviewView


class ImportTaskView(View):
    id: str
    name: str
    source: str
    state: ImportState
    phase: str
    done: int
    total: int
    error: str | None
    version: VersionView | None
    started: float
    finished: float | None

    @property
    def is_terminal(self) -> bool:
        return self.state.is_terminal


class ImportAnswer(View):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True, validate_by_alias=True)

    import_: ImportTaskView = Field(alias="import")


class ImportList(View):
    imports: list[ImportTaskView]


__all__ = [
    "DatasetAnswer",
    "DatasetList",
    "DatasetView",
    "DeletedAnswer",
    "DeletedView",
    "DetectRequest",
    "DiffAnswer",
    "DiffQuery",
    "DiffView",
    "EntriesPage",
    "EntriesQuery",
    "EntryView",
    "EmptyRow",
    "NotCompared",
    "OverlongRow",
    "SchemaError",
    "Undecodable",
    "FormatsView",
    "GatesAnswer",
    "GatesView",
    "ImageSample",
    "ImportAnswer",
    "ImportList",
    "ImportRequest",
    "ImportState",
    "ImportTaskView",
    "PreviewAnswer",
    "PreviewView",
    "QualityAnswer",
    "QualityReport",
    "QualityRequest",
    "QualitySummary",
    "Relabel",
    "Sparse",
    "RollbackRequest",
    "VerifyAnswer",
    "VerifyView",
    "VersionAnswer",
    "VersionList",
    "VersionRequest",
    "VersionView",
]
