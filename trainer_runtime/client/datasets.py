"""The client's calls for datasets, their versions, imports and labels: each returns the
contract's models (``api/schema/datasets.py``, ``api/schema/labels.py``), never a dict."""

from __future__ import annotations

from typing import Any

from trainer_runtime.api.schema import datasets as ds
from trainer_runtime.api.schema import labels as lb
from trainer_runtime.api.schema.base import parse
from trainer_runtime.client.transport import ApiError, Transport
from trainer_runtime.jsontext import gc_paused

PARSE_CHUNK = 500  # images of a labels answer validated per call (the GIL is given up between)


class DatasetCalls(Transport):
    # -------------------------------------------------------------- datasets
    @staticmethod
    def _ds(name: str) -> str:
        from urllib.parse import quote

        return f"/v1/datasets/{quote(name, safe='')}"

    def dataset_formats(self) -> ds.FormatsView:
        return parse(ds.FormatsView, self.request("GET", "/v1/datasets/formats"))

    def dataset_detect(
        self, path: str, fmt: str | None = None, modality: str | None = None
    ) -> ds.PreviewView:
        body = {"path": path, "format": fmt, "modality": modality}  # a DetectRequest; the daemon checks it
        return parse(ds.PreviewAnswer, self.request("POST", "/v1/datasets/detect", body)).preview

    def import_dataset(self, request: ds.ImportRequest) -> ds.ImportTaskView:
        """Start an import (the daemon runs it in the background); poll ``dataset_import_status``."""
        answer = self.request("POST", "/v1/datasets/imports", request.model_dump())
        return parse(ds.ImportAnswer, answer).import_

    def dataset_import_status(self, import_id: str) -> ds.ImportTaskView:
        return parse(ds.ImportAnswer, self.request("GET", f"/v1/datasets/imports/{import_id}")).import_

    def dataset_import_cancel(self, import_id: str) -> ds.ImportTaskView:
        answer = self.request("POST", f"/v1/datasets/imports/{import_id}/cancel")
        return parse(ds.ImportAnswer, answer).import_

    def dataset_imports(self) -> list[ds.ImportTaskView]:
        return parse(ds.ImportList, self.request("GET", "/v1/datasets/imports")).imports

    def datasets(self) -> list[ds.DatasetView]:
        return parse(ds.DatasetList, self.request("GET", "/v1/datasets")).datasets

    def dataset(self, name: str) -> ds.DatasetView:
        return parse(ds.DatasetAnswer, self.request("GET", self._ds(name))).dataset

    def dataset_versions(self, name: str) -> list[ds.VersionView]:
        return parse(ds.VersionList, self.request("GET", f"{self._ds(name)}/versions")).versions

    def dataset_version(self, name: str, version: int | str = "latest", offset: int = 0,
                        limit: int = 1000) -> ds.EntriesPage:  # fmt: skip
        answer = self.request(
            "GET", f"{self._ds(name)}/versions/{version}", query={"offset": offset, "limit": limit}
        )
        return parse(ds.EntriesPage, answer)

    def dataset_diff(self, name: str, a: int | str, b: int | str) -> ds.DiffView:
        return parse(
            ds.DiffAnswer, self.request("GET", f"{self._ds(name)}/diff", query={"a": a, "b": b})
        ).diff

    def dataset_verify(self, name: str, version: int | str = "latest") -> ds.VerifyView:
        answer = self.request("POST", f"{self._ds(name)}/verify", {"version": version})
        return parse(ds.VerifyAnswer, answer).verify

    def dataset_quality(self, name: str, version: int | str = "latest", **options: Any) -> ds.QualityReport:
        """The quality report (``near_threshold``, ``max_text_chars`` as options)."""
        answer = self.request("POST", f"{self._ds(name)}/quality", {"version": version, **options})
        return parse(ds.QualityAnswer, answer).quality

    def dataset_gates(self, name: str, gates: list[str], version: int | str = "latest",
                      **options: Any) -> ds.GatesView:  # fmt: skip
        """A cleaned version made by the quality ``gates`` (dedupe, dedupe-near, drop-corrupt)."""
        body = {"version": version, "gates": gates, **options}
        return parse(ds.GatesAnswer, self.request("POST", f"{self._ds(name)}/quality", body)).gates

    def dataset_rollback(self, name: str, version: int) -> ds.VersionView:
        answer = self.request("POST", f"{self._ds(name)}/rollback", {"version": version})
        return parse(ds.VersionAnswer, answer).version

    def dataset_delete_version(self, name: str, version: int) -> ds.DeletedView:
        return parse(ds.DeletedAnswer, self.request("DELETE", f"{self._ds(name)}/versions/{version}")).deleted

    # labels (``trainer_runtime/labeling``): imports and exports copy files, so they may take long
    def labels(self, name: str, version: int | str = "latest") -> lb.LabelsView:
        """The version's classes and every image with its annotation. A big version's images are
        validated a chunk at a time: one call over 5,000 images held the GIL for some 0.2 s, and
        the GUI's main thread waited for it."""
        data = self.request("GET", f"{self._ds(name)}/labels", query={"version": version})
        images = data.pop("images", [])
        with gc_paused():  # tens of thousands of views: a full collection each few chunks cost 5x
            head = parse(lb.LabelsView, {**data, "images": []})
            parsed: list[lb.LabelImageView] = []
            for i in range(0, len(images), PARSE_CHUNK):
                parsed.extend(parse(list[lb.LabelImageView], images[i : i + PARSE_CHUNK]))
            return head.model_copy(update={"images": parsed})

    def labels_save(self, name: str, base_version: int, annotations: dict[str, Any],
                    classes: dict[str, Any] | None = None, message: str = "") -> ds.VersionView:  # fmt: skip
        """A new version with ``annotations`` (path → annotation; only edited images are needed)."""
        body = {
            "base_version": base_version,
            "classes": classes,
            "annotations": annotations,
            "message": message,
        }
        return parse(ds.VersionAnswer, self.request("POST", f"{self._ds(name)}/labels", body)).version

    def labels_draft_put(self, name: str, base_version: int, annotations: dict[str, Any],
                         classes: dict[str, Any] | None = None) -> lb.DraftSavedView:  # fmt: skip
        body = {"base_version": base_version, "classes": classes, "annotations": annotations}
        return parse(lb.DraftSavedAnswer, self.request("PUT", f"{self._ds(name)}/labels/draft", body)).draft

    def labels_draft(self, name: str) -> lb.DraftView | None:
        """The saved draft, or None when there is none."""
        try:
            answer = self.request("GET", f"{self._ds(name)}/labels/draft")
        except ApiError as err:
            if err.status == 404:
                return None
            raise
        return parse(lb.DraftAnswer, answer).draft

    def labels_draft_delete(self, name: str) -> bool:
        return parse(lb.DroppedAnswer, self.request("DELETE", f"{self._ds(name)}/labels/draft")).dropped

    def labels_import(self, name: str, path: str, fmt: str) -> lb.LabelsImportAnswer:
        """The new version and the report of what could not be taken as it was."""
        slow = self.slow(3600)
        answer = slow.request("POST", f"{self._ds(name)}/labels/import", {"path": path, "format": fmt})
        return parse(lb.LabelsImportAnswer, answer)

    def labels_export(
        self, name: str, out: str, fmt: str, version: int | str = "latest", force: bool = False
    ) -> lb.ExportAnswer:
        """What was written and the report; ``force`` replaces an earlier export at ``out``."""
        slow = self.slow(3600)
        body = {"version": version, "format": fmt, "out": out, "force": force}
        return parse(lb.ExportAnswer, slow.request("POST", f"{self._ds(name)}/labels/export", body))

    def job_suggestions(self, job_id: str) -> lb.SuggestionsView | None:
        """A pre-labelling job's ``suggestions.json``, or None until it is written."""
        try:
            answer = self.request("GET", f"/v1/jobs/{job_id}/suggestions")
        except ApiError as err:
            if err.status == 404 and "no suggestions" in err.message:
                return None
            raise
        return parse(lb.SuggestionsView, answer)


__all__ = ["DatasetCalls"]
