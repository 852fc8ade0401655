"""Image formats: class folders, flat folders, COCO JSON with its images, YOLO."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from trainer_runtime.datasets.errors import DatasetError
from trainer_runtime.datasets.formats import IMAGE_SUFFIXES, is_image
from trainer_runtime.datasets.imaging import header
from trainer_runtime.datasets.limits import DEFAULT_LIMITS, Limits, size_text
from trainer_runtime.datasets.model import Item, Scan
from trainer_runtime.datasets.textio import lines, read_small

N_SAMPLES = 8


def _not_image(rel: str) -> DatasetError:
    return DatasetError(f"'{rel}' is not an image (expected one of {', '.join(IMAGE_SUFFIXES)})")


def scan_image_folder(root: Path, files: list[tuple[str, Path]], limits: Limits = DEFAULT_LIMITS) -> Scan:
    items = []
    for rel, full in files:
        parts = rel.split("/")
        if len(parts) < 2:
            raise DatasetError(
                f"an image-folder dataset keeps every image in a sub-folder named after its class, but "
                f"'{rel}' is at the top; move it into a class folder or choose the format image-flat"
            )
        if not is_image(rel):
            raise _not_image(rel)
        items.append(Item(rel, full, parts[0]))
    if not items:
        raise DatasetError(f"no images found in {root}")
    classes = dict(sorted(Counter(i.label for i in items if i.label).items()))
    return Scan("image-folder", "image", root, items, len(items), classes, _samples(items, limits))


def scan_image_flat(root: Path, files: list[tuple[str, Path]], limits: Limits = DEFAULT_LIMITS) -> Scan:
    items = []
    for rel, full in files:
        if not is_image(rel):
            raise _not_image(rel)
        items.append(Item(rel, full))
    if not items:
        raise DatasetError(f"no images found in {root}")
    return Scan("image-flat", "image", root, items, len(items), {}, _samples(items, limits))


def _samples(items: list[Item], limits: Limits) -> list[dict[str, Any]]:
    """A few images' sizes, read from their headers (nothing is decoded); a sample that cannot
    be read, or is over the pixel limit, carries the sentence why."""
    step = max(1, len(items) // N_SAMPLES)
    return [
        {"path": item.path, "label": item.label, **header(item.source, item.path, limits)}
        for item in items[::step][:N_SAMPLES]
    ]


# ---------------------------------------------------------------------- COCO
COCO_KEYS = ("images", "annotations", "categories")


def coco_json_files(files: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
    return [
        (rel, full)
        for rel, full in files
        if rel.lower().endswith(".json") and ("/" not in rel or rel.startswith("annotations/"))
    ]


def read_coco_json(
    rel: str, full: Path, error: type[DatasetError] = DatasetError, limits: Limits = DEFAULT_LIMITS
) -> Any:
    """The parsed JSON of COCO file ``rel``; ``error`` with the place when it is not UTF-8 JSON,
    nests too deeply, or is bigger than ``limits.max_json_bytes`` (refused before it is read:
    parsing costs several times the file's size)."""
    size = full.stat().st_size
    if size > limits.max_json_bytes:
        raise error(
            f"COCO file '{rel}' is {size_text(size)}, more than the {size_text(limits.max_json_bytes)} "
            "an annotation file may be; split it into several files"
        )
    data = full.read_bytes()
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise error(f"COCO file '{rel}' is not UTF-8 text (bad byte at offset {err.start})") from None
    except json.JSONDecodeError as err:
        raise error(
            f"COCO file '{rel}' is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})"
        ) from None
    except RecursionError:
        raise error(f"COCO file '{rel}' nests too deeply to be read; that is not a COCO file") from None


def load_coco(rel: str, full: Path, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    data = read_coco_json(rel, full, limits=limits)
    if not isinstance(data, dict):
        raise DatasetError(f"COCO file '{rel}' must hold a JSON object with {', '.join(COCO_KEYS)}")
    missing = [k for k in COCO_KEYS if not isinstance(data.get(k), list)]
    if missing:
        raise DatasetError(f"COCO file '{rel}' misses the required key(s) {', '.join(missing)} (each a list)")
    for i, img in enumerate(data["images"]):
        if not isinstance(img, dict) or "id" not in img or not isinstance(img.get("file_name"), str):
            raise DatasetError(f"COCO file '{rel}': images[{i}] needs an 'id' and a 'file_name'")
    for i, cat in enumerate(data["categories"]):
        if not isinstance(cat, dict) or "id" not in cat or not isinstance(cat.get("name"), str):
            raise DatasetError(f"COCO file '{rel}': categories[{i}] needs an 'id' and a 'name'")
    for i, ann in enumerate(data["annotations"]):
        ok = isinstance(ann, dict) and "image_id" in ann and "category_id" in ann
        bbox = ann.get("bbox") if isinstance(ann, dict) else None
        if not ok or not (
            isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, int | float) for v in bbox)
        ):
            raise DatasetError(
                f"COCO file '{rel}': annotations[{i}] needs 'image_id', 'category_id' and a 'bbox' of 4 numbers"
            )
    return data


def scan_coco(root: Path, files: list[tuple[str, Path]], limits: Limits = DEFAULT_LIMITS) -> Scan:
    jsons = coco_json_files(files)
    if not jsons:
        raise DatasetError(f"no COCO annotation file (.json) found at the top of {root} or in annotations/")
    by_rel = dict(files)
    items: list[Item] = []
    classes: Counter[str] = Counter()
    used: set[str] = set()
    n_images = 0
    for rel, full in jsons:
        data = load_coco(rel, full, limits)
        items.append(Item(rel, full, None))
        used.add(rel)
        names = {c["id"]: c["name"] for c in data["categories"]}
        per_image: dict[Any, set[str]] = {}
        for ann in data["annotations"]:
            name = names.get(ann["category_id"], f"#{ann['category_id']}")
            per_image.setdefault(ann["image_id"], set()).add(name)
            classes[name] += 1
        json_dir = PurePosixPath(rel).parent
        for img in data["images"]:
            found = _find_image(img["file_name"], json_dir, by_rel)
            if found is None:
                raise DatasetError(
                    f"COCO file '{rel}' lists the image '{img['file_name']}', which is not in {root} "
                    "(looked next to the JSON, in images/ and at the top)"
                )
            if found in used:
                continue
            used.add(found)
            n_images += 1
            label = ",".join(sorted(per_image.get(img["id"], ()))) or None
            items.append(Item(found, by_rel[found], label))
    image_items = [i for i in items if is_image(i.path)]
    return Scan(
        "coco", "image", root, items, n_images, dict(sorted(classes.items())), _samples(image_items, limits),
        {"annotation_files": [r for r, _ in jsons]},
    )  # fmt: skip


def _find_image(file_name: str, json_dir: PurePosixPath, by_rel: dict[str, Path]) -> str | None:
    name = PurePosixPath(file_name.replace("\\", "/"))
    for base in (json_dir, PurePosixPath("images"), PurePosixPath(), json_dir.parent / "images"):
        cand = (base / name).as_posix()
        if cand in by_rel:
            return cand
    return None


# ---------------------------------------------------------------------- YOLO
YAML_NAMES = ("data.yaml", "dataset.yaml", "data.yml")


def yolo_names(
    root: Path, files: list[tuple[str, Path]], limits: Limits = DEFAULT_LIMITS
) -> tuple[str, list[str]]:
    for rel, full in files:
        if rel in YAML_NAMES:
            text = read_small(rel, full, limits.max_small_file_bytes, "YOLO file")
            try:
                data = yaml.safe_load(text)
            except (yaml.YAMLError, RecursionError) as err:
                raise DatasetError(f"YOLO file '{rel}' is not valid YAML: {err}") from None
            names = data.get("names") if isinstance(data, dict) else None
            if isinstance(names, dict):
                names = [str(names[k]) for k in sorted(names)]
            if not isinstance(names, list) or not names:
                raise DatasetError(f"YOLO file '{rel}' needs 'names': the list of class names")
            return rel, [str(n) for n in names]
    raise DatasetError(f"no data.yaml at the top of {root}; a YOLO dataset needs one with the class names")


def scan_yolo(root: Path, files: list[tuple[str, Path]], limits: Limits = DEFAULT_LIMITS) -> Scan:
    yaml_rel, names = yolo_names(root, files, limits)
    by_rel = dict(files)
    items = [Item(yaml_rel, by_rel[yaml_rel])]
    classes: Counter[str] = Counter()
    images = [(r, f) for r, f in files if r.startswith("images/")]
    if not images:
        raise DatasetError(f"a YOLO dataset keeps its images in images/, and {root} has none there")
    for rel, full in images:
        if not is_image(rel):
            raise _not_image(rel)
        label_rel = "labels/" + str(PurePosixPath(rel[len("images/") :]).with_suffix(".txt"))
        ids: set[int] = set()
        if label_rel in by_rel:
            for cls in parse_yolo_labels(label_rel, by_rel[label_rel], limits):
                ids.add(cls)
                classes[names[cls] if 0 <= cls < len(names) else f"#{cls}"] += 1
            items.append(Item(label_rel, by_rel[label_rel], None))
        label = ",".join(sorted(names[i] if 0 <= i < len(names) else f"#{i}" for i in ids)) or None
        items.append(Item(rel, full, label))
    items.sort(key=lambda i: i.path)
    image_items = [i for i in items if is_image(i.path)]
    return Scan(
        "yolo", "image", root, items, len(image_items), dict(sorted(classes.items())),
        _samples(image_items, limits), {"names": names},
    )  # fmt: skip


def parse_yolo_labels(rel: str, full: Path, limits: Limits = DEFAULT_LIMITS) -> list[int]:
    """Class ids of a YOLO label file (read line by line); a malformed line is an error naming
    file and line."""
    out = []
    for lineno, line in lines(rel, full, limits):
        cols = line.split()
        if not cols:
            continue
        if len(cols) != 5 and (len(cols) < 7 or len(cols) % 2 == 0):
            raise DatasetError(
                f"YOLO label file '{rel}', line {lineno}: {len(cols)} columns; expected 5 "
                "(class x_center y_center width height) or a polygon (class x1 y1 x2 y2 x3 y3 ...)"
            )
        try:
            cls = int(cols[0])
            [float(c) for c in cols[1:]]
        except ValueError:
            raise DatasetError(
                f"YOLO label file '{rel}', line {lineno}: expected an integer class id and numbers, got '{line.strip()[:80]}'"
            ) from None
        out.append(cls)
    return out
