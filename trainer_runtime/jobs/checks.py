"""Checks of a spec's inputs that need the filesystem: run before a job is queued
(daemon) and again when the worker starts (the files may have changed since)."""

from __future__ import annotations

import json
from pathlib import Path

from trainer_runtime.jobs import recipes
from trainer_runtime.jobs.spec import JobSpec, SpecError
from trainer_runtime.userfiles import UserFileError, check_folder, display, read_bytes

MAX_PROBE = 1 << 20  # bytes read to judge a dataset file
MAX_MODEL_CONFIG = 16 << 20  # a config.json is a few KiB; the largest known are under 1 MiB


def check_dataset_file(path: str | Path, text_field: str = "text") -> None:
    p = Path(path)
    where = "dataset.path"
    if p.is_dir():
        raise SpecError([(where, f"dataset path is a folder, expected a .txt or .jsonl file: {display(p)}")])
    if p.suffix.lower() not in (".txt", ".jsonl"):
        raise SpecError(
            [
                (
                    where,
                    f"unsupported dataset format '{display(p.suffix or p.name)}': use a .txt or .jsonl file",
                )
            ]
        )
    try:  # a regular file (not a FIFO, device or /proc file), only its head read
        head = read_bytes(p, "dataset file", MAX_PROBE, head=True)
    except UserFileError as err:
        raise SpecError([(where, err.message)]) from None
    if not head:
        raise SpecError([(where, f"dataset file is empty: {display(p)}")])
    if b"\x00" in head:
        raise SpecError(
            [(where, f"dataset file looks binary (contains NUL bytes), expected UTF-8 text: {display(p)}")]
        )
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not just a multi-byte char cut at the probe's end
            raise SpecError(
                [(where, f"dataset file is not UTF-8 text (bad byte at offset {err.start}): {display(p)}")]
            ) from None
        text = head[: err.start].decode("utf-8")
    if not text.strip():
        raise SpecError([(where, f"dataset file has no text: {display(p)}")])
    if p.suffix.lower() == ".jsonl":
        for lineno, line in enumerate(text.splitlines()[:200], 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as err:
                msg = err.msg if isinstance(err, json.JSONDecodeError) else "nested too deeply"
                raise SpecError([(where, f"line {lineno} of {display(p.name)} is not JSON: {msg}")]) from None
            if not isinstance(row, dict) or not isinstance(row.get(text_field), str):
                raise SpecError(
                    [(where, f"line {lineno} of {display(p.name)} has no string field '{text_field}'")]
                )


def check_model_folder(path: str | Path, *, causal_lm: bool = False) -> dict:
    """A local Hugging Face model folder must hold a config.json naming its model_type. With
    ``causal_lm``, it must also be a decoder with a loadable tokenizer (``model_checks``): what the
    causal-lm and sft recipes train."""
    p = Path(path)
    where = "model.path"
    try:
        check_folder(p, "model folder")
        raw = read_bytes(p / "config.json", "config.json", MAX_MODEL_CONFIG)
    except UserFileError as err:
        if not (p / "config.json").exists() and p.is_dir():
            raise SpecError(
                [(where, f"{display(p)} is not a Hugging Face model folder: it has no config.json")]
            ) from None
        raise SpecError([(where, err.message)]) from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        why = "nested too deeply" if isinstance(err, RecursionError) else err
        raise SpecError([(where, f"config.json in {display(p)} is not valid JSON: {why}")]) from None
    if not isinstance(data, dict) or "model_type" not in data:
        raise SpecError(
            [(where, f"config.json in {display(p)} names no model_type, so it is not a model config")]
        )
    if causal_lm:
        from trainer_runtime.jobs.model_checks import check_causal_lm_folder

        check_causal_lm_folder(p, config=data)
    return data


def check_inputs(spec: JobSpec) -> None:
    """The spec's inputs on disk, by its recipe's checks; SpecError names the field and why."""
    if spec.dataset.path is None:
        raise SpecError(
            [
                (
                    "dataset.name",
                    f"dataset '{spec.dataset.name}' is resolved by the daemon at submit; submit the job to it",
                )
            ]
        )
    check = recipes.get(spec.recipe).check_inputs  # the recipe's own checks (jobs/recipes/)
    if check is not None:
        check(spec)


def check_dataset_path(materialize: str, path: str | Path) -> None:
    """A ``dataset.path`` chosen in a form, checked as the kind of dataset a recipe reads (its
    ``DatasetRule.materialize``: ``text`` a .txt/.jsonl file, ``images`` an image folder with one
    sub-folder per class; ``files`` is checked with the whole spec)."""
    if materialize == "text":
        check_dataset_file(path)
    elif materialize == "images":
        from trainer_runtime.jobs.image_checks import check_image_folder

        check_image_folder(path)
