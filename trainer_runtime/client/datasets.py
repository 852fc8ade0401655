"""The client's calls for datasets, their versions, imports and labels."""

from __future__ import annotations

from typing import Any

from trainer_runtime.client.transport import ApiError, Transport


class DatasetCalls(Transport):
    # -------------------------------------------------------------- datasets
    @staticmethod
    def _ds(name: str) -> str:
        from urllib.parse import quote

        return f"/v1/datasets/{quote(name, safe='')}"

    def dataset_detect(
        self, path: str, fmt: str | None = None, modality: str | None = None
    ) -> dict[str, Any]:
        return self.request(
            "POST", "/v1/datasets/detect", {"path": path, "format": fmt, "modality": modality}
        )["preview"]

    def dataset_import(self, path: str, name: str, fmt: str | None = None, modality: str | None = None,
                       keep_corrupt: bool = False, link: bool = False) -> dict[str, Any]:  # fmt: skip
        body = {"path": path, "name": name, "format": fmt, "modality": modality,
                "keep_corrupt": keep_corrupt, "link": link}  # fmt: skip
        return self.request("POST", "/v1/datasets/imports", body)["import"]

    def dataset_import_status(self, import_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/datasets/imports/{import_id}")["import"]

    def dataset_import_cancel(self, import_id: str) -> dict[str, Any]:
        return self.request("POST", f"/v1/datasets/imports/{import_id}/cancel")["import"]

    def datasets(self) -> list[dict[str, Any]]:
        return self.request("GET", "/v1/datasets")["datasets"]

    def dataset(self, name: str) -> dict[str, Any]:
        return self.request("GET", self._ds(name))["dataset"]

    def dataset_versions(self, name: str) -> list[dict[str, Any]]:
        return self.request("GET", f"{self._ds(name)}/versions")["versions"]

    def dataset_version(self, name: str, version: int | str = "latest", offset: int = 0,
                        limit: int = 1000) -> dict[str, Any]:  # fmt: skip
        return self.request(
            "GET", f"{self._ds(name)}/versions/{version}", query={"offset": offset, "limit": limit}
        )

    def dataset_diff(self, name: str, a: int | str, b: int | str) -> dict[str, Any]:
        return self.request("GET", f"{self._ds(name)}/diff", query={"a": a, "b": b})["diff"]

    def dataset_verify(self, name: str, version: int | str = "latest") -> dict[str, Any]:
        return self.request("POST", f"{self._ds(name)}/verify", {"version": version})["verify"]

    def dataset_quality(self, name: str, version: int | str = "latest", gates: list[str] | None = None,
                        **options: Any) -> dict[str, Any]:  # fmt: skip
        return self.request(
            "POST", f"{self._ds(name)}/quality", {"version": version, "gates": gates, **options}
        )

    def dataset_rollback(self, name: str, version: int) -> dict[str, Any]:
        return self.request("POST", f"{self._ds(name)}/rollback", {"version": version})["version"]

    def dataset_delete_version(self, name: str, version: int) -> dict[str, Any]:
        return self.request("DELETE", f"{self._ds(name)}/versions/{version}")["deleted"]

    # labels (``trainer_runtime/labeling``): imports and exports copy files, so they may take long
    def labels(self, name: str, version: int | str = "latest") -> dict[str, Any]:
        """``{"version", "classes", "images": [{"path", "blob", "size", "annotation", "error"?}]}``."""
        return self.request("GET", f"{self._ds(name)}/labels", query={"version": version})

    def labels_save(self, name: str, base_version: int, annotations: dict[str, Any],
                    classes: dict[str, Any] | None = None, message: str = "") -> dict[str, Any]:  # fmt: skip
        """A new version with ``annotations`` (path → annotation; only edited images are needed)."""
        body = {
            "base_version": base_version,
            "classes": classes,
            "annotations": annotations,
            "message": message,
        }
        return self.request("POST", f"{self._ds(name)}/labels", body)["version"]

    def labels_draft_put(self, name: str, base_version: int, annotations: dict[str, Any],
                         classes: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
        body = {"base_version": base_version, "classes": classes, "annotations": annotations}
        return self.request("PUT", f"{self._ds(name)}/labels/draft", body)["draft"]

    def labels_draft(self, name: str) -> dict[str, Any] | None:
        """The saved draft, or None when there is none."""
        try:
            return self.request("GET", f"{self._ds(name)}/labels/draft")["draft"]
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def labels_draft_delete(self, name: str) -> bool:
        return self.request("DELETE", f"{self._ds(name)}/labels/draft")["dropped"]

    def labels_import(self, name: str, path: str, fmt: str) -> dict[str, Any]:
        """``{"version": …, "report": [...]}``."""
        slow = self.slow(3600)
        return slow.request("POST", f"{self._ds(name)}/labels/import", {"path": path, "format": fmt})

    def labels_export(
        self, name: str, out: str, fmt: str, version: int | str = "latest", force: bool = False
    ) -> dict[str, Any]:
        """``{"written": {...}, "report": [...]}``; ``force`` replaces an earlier export at ``out``."""
        slow = self.slow(3600)
        body = {"version": version, "format": fmt, "out": out, "force": force}
        return slow.request("POST", f"{self._ds(name)}/labels/export", body)

    def job_suggestions(self, job_id: str) -> dict[str, Any] | None:
        """A pre-labelling job's ``suggestions.json``, or None until it is written."""
        try:
            return self.request("GET", f"/v1/jobs/{job_id}/suggestions")
        except ApiError as err:
            if err.status == 404 and "no suggestions" in err.message:
                return None
            raise


__all__ = ["DatasetCalls"]
