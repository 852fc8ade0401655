"""LabelService: the labels of a dataset version, saving edited labels as a new version, drafts
(autosave), and YOLO/COCO import and export. Methods block; the daemon calls them from threads.

Where a version's labels come from: when it holds ``.sparktrainer/classes.json`` the manifest
labels are the truth (JSON annotations or plain tags); otherwise they are read from the
version's own files (a YOLO dataset's ``labels/*.txt``, a COCO dataset's JSON) or its plain
labels (an image-folder dataset's class names)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import uuid
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from trainer_runtime import jsontext
from trainer_runtime.datasets.errors import DatasetError, check_name
from trainer_runtime.datasets.formats import LABEL_FORMATS
from trainer_runtime.datasets.imaging import decode_errors, error_text
from trainer_runtime.datasets.model import Entry, is_image, manifest_hash
from trainer_runtime.datasets.service import DatasetService
from trainer_runtime.datasets.walk import list_files
from trainer_runtime.fsutil import fsync_dir
from trainer_runtime.labeling import coco, yolo
from trainer_runtime.labeling.classmap import CLASSES_PATH, ClassMap
from trainer_runtime.labeling.report import LabelSet, Report
from trainer_runtime.labeling.shapes import ImageAnnotation, LabelError, decode, is_annotation_label, to_label
from trainer_runtime.store.datasets import VersionInfo
from trainer_runtime.userfiles import check_file_or_folder, display

FORMATS = LABEL_FORMATS
SIZE_READERS = 4


class DraftNotFound(DatasetError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class ImageRecord:
    path: str
    sha256: str
    size: int
    blob: str  # absolute path of the stored (read-only) file
    annotation: ImageAnnotation
    error: str | None = None  # why the image cannot be decoded

    def to_json(self) -> dict[str, Any]:
        out = {
            "path": self.path,
            "blob": self.blob,
            "size": self.size,
            "annotation": self.annotation.to_json(),
        }
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class Labels:
    info: VersionInfo
    entries: list[Entry]
    classes: ClassMap
    images: list[ImageRecord]
    report: Report  # what could not be read from the version's own label files

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.info.dataset, "version": self.info.number, "classes": self.classes.to_json(),
                "images": [r.to_json() for r in self.images]}  # fmt: skip

    def annotations(self) -> dict[str, ImageAnnotation]:
        return {r.path: r.annotation for r in self.images if not r.error}


class LabelService:
    def __init__(self, datasets: DatasetService, data_dir: Path | None = None):
        self.ds = datasets
        self.protected = Path(data_dir) if data_dir is not None else datasets.root  # no export goes in here
        self.drafts = datasets.root / "drafts"
        self._sizes: dict[str, tuple[int, int] | str] = {}  # sha256 → (w, h) or why it cannot be read
        self._sizes_lock = threading.Lock()

    # ---------------------------------------------------------------- sizes
    def _size(self, sha: str) -> tuple[int, int] | str:
        with self._sizes_lock:
            known = self._sizes.get(sha)
        if known is not None:
            return known
        from PIL import Image

        try:
            with Image.open(self.ds.blobs.path(sha)) as im:
                size: tuple[int, int] | str = (int(im.width), int(im.height))
        except decode_errors() as err:
            size = error_text(err)
        with self._sizes_lock:
            self._sizes[sha] = size
        return size

    def _prefetch(self, shas: list[str]) -> None:
        todo = [s for s in set(shas) if s not in self._sizes]
        if len(todo) > 8:
            with ThreadPoolExecutor(SIZE_READERS, thread_name_prefix="label-sizes") as pool:
                list(pool.map(self._size, todo))

    # ----------------------------------------------------------------- load
    def load(self, name: str, version: int | str = "latest") -> Labels:
        info, entries = self.ds.entries(name, version)
        if info.meta.get("modality", "image") != "image":
            raise LabelError(
                f"dataset '{name}' version {info.number} is {info.meta.get('modality')} data; "
                "labels (boxes, polygons, tags) are for image datasets"
            )
        images = [e for e in entries if is_image(e.path)]
        by_path = {e.path: e for e in images}
        corrupt = set(info.meta.get("corrupt", []))
        classes_entry = next((e for e in entries if e.path == CLASSES_PATH), None)
        report = Report()
        derived: dict[str, ImageAnnotation] = {}
        if classes_entry is not None:
            classes = ClassMap.from_bytes(self.ds.blobs.path(classes_entry.sha256).read_bytes())
            self._prefetch([e.sha256 for e in images if not is_annotation_label(e.label)])
        else:
            fmt = info.meta.get("format")
            files = {e.path: self.ds.blobs.path(e.sha256) for e in entries if not is_image(e.path)}
            if fmt in FORMATS:
                self._prefetch([e.sha256 for e in images])
                found = self._read(fmt, files, [e.path for e in images], by_path)
                classes, derived, report = found.classes, found.annotations, found.report
            else:
                self._prefetch([e.sha256 for e in images])
                tags = sorted({e.label for e in images if e.label and not is_annotation_label(e.label)})
                classes = ClassMap().ensure(tags)
        records = []
        for e in images:
            blob = str(self.ds.blobs.path(e.sha256))
            size = None if is_annotation_label(e.label) and e.path not in corrupt else self._size(e.sha256)
            if e.path in corrupt or isinstance(size, str):
                why = size if isinstance(size, str) else "it could not be decoded when it was imported"
                records.append(ImageRecord(e.path, e.sha256, e.size, blob, ImageAnnotation(0, 0), why))
                continue
            w, h = size if size is not None else (0, 0)
            if e.path in derived:
                ann = derived[e.path]
            elif classes_entry is None and info.meta.get("format") in FORMATS:
                ann = ImageAnnotation(w, h)
            else:
                ann = decode(e.label, w, h, where=f"image '{e.path}'")
            records.append(ImageRecord(e.path, e.sha256, e.size, blob, ann))
        used = sorted({lbl for r in records for lbl in r.annotation.labels()})
        return Labels(info, entries, classes.ensure(used), records, report)

    def _read(self, fmt: str, files: Mapping[str, Path], images: list[str], by_path: Mapping[str, Entry],
              errors: Mapping[str, str] | None = None) -> LabelSet:  # fmt: skip
        def size_of(path: str) -> tuple[int, int] | str:
            if errors and path in errors:
                return errors[path]
            return self._size(by_path[path].sha256)

        reader = yolo.read_yolo if fmt == "yolo" else coco.read_coco
        return reader(files, images, size_of)

    # ----------------------------------------------------------------- save
    def save(self, name: str, base_version: int | str, classes: Any, annotations: Mapping[str, Any],
             message: str = "") -> VersionInfo:  # fmt: skip
        """A new version: ``base_version``'s files with ``annotations`` (path → annotation JSON)
        and the class map ``classes`` (None: keep the base's). An invalid shape is refused with
        a ``LabelError`` naming the image and shape; the draft is dropped once saved."""
        base = self.load(name, base_version)
        known = {r.path: r for r in base.images}
        edited: dict[str, ImageAnnotation] = {}
        for path, data in annotations.items():
            if path not in known:
                raise LabelError(f"image '{path}' is not in version {base.info.number} of dataset '{name}'")
            ann = ImageAnnotation.from_json(data, f"image '{path}'").validate(f"image '{path}'")
            if not (ann.w and ann.h):  # the size is the image's own
                ann = replace(ann, w=known[path].annotation.w, h=known[path].annotation.h)
            edited[path] = ann
        cmap = base.classes if classes is None else ClassMap.from_json(classes)
        info = self._save(base, cmap, edited, message or f"labels edited on version {base.info.number}")
        self.drop_draft(name)
        return info

    def _save(
        self, base: Labels, classes: ClassMap, edited: Mapping[str, ImageAnnotation], message: str
    ) -> VersionInfo:
        anns = {**base.annotations(), **edited}
        classes = classes.ensure(sorted({lbl for a in anns.values() for lbl in a.labels()}))
        blob = classes.to_bytes()
        sha = hashlib.sha256(blob).hexdigest()
        entries = []
        for e in base.entries:
            if e.path == CLASSES_PATH:
                continue
            entries.append(Entry(e.path, e.sha256, e.size, to_label(anns[e.path])) if e.path in anns else e)
        entries.append(Entry(CLASSES_PATH, sha, len(blob), None))
        entries.sort(key=lambda e: e.path)
        latest = self.ds.store.latest(base.info.dataset)
        if latest is not None and latest.manifest_hash == manifest_hash(entries):
            return latest  # nothing changed: no new version
        counts = Counter(lbl for a in anns.values() for lbl in [*a.tags, *(s.label for s in a.shapes)])
        meta = {"classes": dict(sorted(counts.items())), "labelled_from": base.info.number,
                "labels": {"images": sum(a.status != "unlabeled" for a in anns.values()),
                           "shapes": sum(len(a.shapes) for a in anns.values())}}  # fmt: skip
        return self.ds.commit(base.info, entries, message, new_blobs={sha: blob}, **meta)

    # --------------------------------------------------------------- drafts
    def _draft_path(self, name: str) -> Path:
        return self.drafts / f"{check_name(name)}.json"

    def save_draft(self, name: str, draft: Mapping[str, Any]) -> dict[str, Any]:
        """Write the draft atomically (temp file, fsync, rename): a crash leaves the old draft
        or the new one, never half of one."""
        self.ds.get(name)  # the dataset must exist
        path = self._draft_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = jsontext.dumps(dict(draft)).encode()  # in pieces: a big draft holds no GIL for seconds
        tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(path.parent)
        return {"dataset": name, "path": str(path), "bytes": len(data)}

    def load_draft(self, name: str) -> dict[str, Any]:
        path = self._draft_path(name)
        try:
            data = jsontext.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DraftNotFound(f"dataset '{name}' has no unsaved labelling draft") from None
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
            raise LabelError(
                f"the draft of dataset '{name}' ({path}) is damaged ({err}); delete it"
            ) from None
        if not isinstance(data, dict):
            raise LabelError(f"the draft of dataset '{name}' ({path}) is not a JSON object; delete it")
        return data

    def drop_draft(self, name: str) -> bool:
        try:
            self._draft_path(name).unlink()
        except FileNotFoundError:
            return False
        return True

    # ------------------------------------------------------- import, export
    def import_labels(
        self, name: str, source: str | Path, fmt: str
    ) -> tuple[VersionInfo, list[dict[str, Any]]]:
        """Apply the YOLO or COCO labels at ``source`` to dataset ``name`` (made from ``source``
        first when there is no such dataset) as a new version; returns it and the report."""
        if fmt not in FORMATS:
            raise LabelError(f"unknown label format '{fmt}'; choose yolo or coco")
        src = Path(source).expanduser()
        if not src.exists():
            raise LabelError(f"nothing to import at {display(src)}: no such file or folder")
        check_file_or_folder(src, "the label source")  # not a FIFO, device or /proc file
        if self.ds.store.latest(check_name(name)) is None:
            self.ds.import_(src, name, fmt=fmt, keep_corrupt=True)  # bad images are marked, then skipped
        base = self.load(name, "latest")
        files = dict(list_files(src)) if src.is_dir() else {src.name: src}
        if fmt == "yolo" and src.is_file():
            raise LabelError(f"a YOLO import reads a folder with data.yaml and labels/, not the file {src}")
        errors = {r.path: r.error for r in base.images if r.error}
        by_path = {r.path: Entry(r.path, r.sha256, r.size) for r in base.images}
        found = self._read(fmt, files, list(by_path), by_path, errors)
        for path in errors.keys() & found.annotations.keys():  # a size from the file, but no image
            del found.annotations[path]
        reported = {r.get("image") for r in found.report.rows}
        stored = next((e for e in base.entries if e.path == CLASSES_PATH), None)
        saved_map = (src / ".sparktrainer" / "classes.json") if src.is_dir() else None
        if stored is not None:
            classes = base.classes.ensure(c.name for c in found.classes.classes)
        elif saved_map is not None and saved_map.is_file():  # one of our exports: keep its ids and colours
            classes = ClassMap.from_bytes(saved_map.read_bytes()).ensure(
                c.name for c in found.classes.classes
            )
        else:
            classes = found.classes.ensure(base.classes.names())
        info = self._save(base, classes, found.annotations, f"{fmt} labels imported from {src}")
        bad = [{"action": "skipped", "reason": f"the image cannot be decoded ({why})", "image": path}
               for path, why in sorted(errors.items()) if path not in reported]  # fmt: skip
        return info, bad + found.report.rows

    def export(
        self, name: str, version: int | str, fmt: str, out: str | Path, force: bool = False
    ) -> dict[str, Any]:
        """Write the version's images and labels as a YOLO or COCO folder at ``out``: into a
        temporary folder beside it, renamed into place when complete, so a failed export leaves
        nothing behind. ``out`` must be new or empty; ``force`` replaces an earlier export (a
        folder with ``.sparktrainer/classes.json``), never another folder."""
        if fmt not in FORMATS:
            raise LabelError(f"unknown label format '{fmt}'; choose yolo or coco")
        target = export_target(Path(out), self.protected, force)
        labels = self.load(name, version)
        blobs = {r.path: Path(r.blob) for r in labels.images}
        errors = {r.path: r.error for r in labels.images if r.error}
        writer = yolo.write_yolo if fmt == "yolo" else coco.write_coco
        tmp = target.parent / f".{target.name}.export-{uuid.uuid4().hex[:8]}"
        try:
            written, report = writer(labels.classes, labels.annotations(), tmp, blobs.__getitem__, errors)
            (tmp / ".sparktrainer").mkdir(exist_ok=True)
            (tmp / ".sparktrainer" / "classes.json").write_bytes(labels.classes.to_bytes())
            if fmt == "yolo":
                _yolo_root(tmp / "data.yaml", target)
            _swap_into_place(tmp, target)
        except OSError as err:
            shutil.rmtree(tmp, ignore_errors=True)  # our own temporary folder
            raise LabelError(
                f"the export to {display(target)} failed ({err.strerror or err}); nothing was written there"
            ) from err
        written.update(dataset=name, version=labels.info.number, out=str(target))
        return {"written": written, "report": labels.report.rows + report.rows}


EXPORT_MARKER = Path(".sparktrainer") / "classes.json"


def export_target(out: Path, protected: Path, force: bool) -> Path:
    """Where an export may go: an absolute path outside the data dir ``protected``, new or an
    empty folder (or, with ``force``, an earlier export). LabelError says why not."""
    target = Path(os.path.abspath(out.expanduser()))
    real, home = target.resolve(), protected.resolve()
    if real == home or home in real.parents or real in home.parents:
        raise LabelError(
            f"cannot export into {display(target)}: it is inside SparkTrainer's data dir {display(home)} "
            "(or holds it); name a folder outside it"
        )
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise LabelError(f"cannot export into {display(target)}: it is a file or a link; name a folder")
    if target.is_dir() and any(target.iterdir()):
        if not force:
            raise LabelError(
                f"cannot export into {display(target)}: the folder is not empty; name a new or empty "
                "folder, or pass --force to replace an earlier export there"
            )
        if not (target / EXPORT_MARKER).is_file():
            raise LabelError(
                f"cannot replace {display(target)}: it is not an earlier SparkTrainer export (no "
                f"{EXPORT_MARKER}), and --force replaces only those; name a new or empty folder"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _yolo_root(data_yaml: Path, root: Path) -> None:
    """data.yaml names the folder it is in: the final one, not the temporary one."""
    import yaml

    data = yaml.safe_load(data_yaml.read_text(encoding="utf-8"))
    data["path"] = str(root.resolve())
    data_yaml.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _swap_into_place(tmp: Path, target: Path) -> None:
    """``tmp`` becomes ``target`` (a missing or empty folder is replaced by the rename itself;
    an earlier export is moved aside first and removed once the new one is in place)."""
    if not target.exists() or not any(target.iterdir()):
        os.replace(tmp, target)
        return
    old = target.parent / f".{target.name}.replaced-{uuid.uuid4().hex[:8]}"
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except OSError:
        os.replace(old, target)  # put the earlier export back
        raise
    shutil.rmtree(old, ignore_errors=True)
