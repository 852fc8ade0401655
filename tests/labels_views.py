"""Labels answers for tests that need no daemon: the contract's views built from short dicts.

The daemon always sends an image's annotation as an ``AnnotationView``; a test may write
``None`` (an unlabeled image) or a class name (a whole-image tag, as the label service reads an
image-folder label), and leave out the fields a canvas test does not care about."""

from __future__ import annotations

from typing import Any

from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.labels import DraftView, LabelsView, SuggestionsView

EMPTY = {"w": 0, "h": 0, "status": "unlabeled", "tags": [], "shapes": []}


def annotation(a: Any) -> dict[str, Any]:
    if a is None or a == "":
        return dict(EMPTY)
    if isinstance(a, str):
        return {**EMPTY, "status": "done", "tags": [a]}
    return a


def labels_view(labels: dict[str, Any], dataset: str = "local") -> LabelsView:
    """``labels`` ({"version", "images": [{"path", "blob"?, "size"?, "annotation"?}], "classes"?})
    as the ``LabelsView`` a ``GET …/labels`` answer parses into."""
    images = [
        {"blob": "", "size": 0, **im, "annotation": annotation(im.get("annotation"))}
        for im in labels.get("images", [])
    ]
    return parse(
        LabelsView,
        {
            "dataset": dataset,
            "version": labels.get("version", 1),
            "classes": labels.get("classes") or {"classes": [], "retired": []},
            "images": images,
            "report": [],
        },
    )


def draft_view(draft: dict[str, Any]) -> DraftView:
    return parse(DraftView, draft)


def suggestions_view(images: dict[str, list[dict[str, Any]]], kind: str = "boxes") -> SuggestionsView:
    return parse(
        SuggestionsView, {"dataset": "local", "version": 1, "model": "/m", "kind": kind, "images": images}
    )
