"""Checks of a spec's inputs that need the filesystem: run before a job is queued
(daemon) and again when the worker starts (the files may have changed since)."""

from __future__ import annotations

import json
from pathlib import Path

from trainer_runtime.jobs.spec import JobSpec, SpecError

MAX_PROBE = 1 << 20  # bytes read to judge a dataset file


def check_dataset_file(path: str | Path, text_field: str = "text") -> None:
    p = Path(path)
    where = "dataset.path"
    if not p.exists():
        raise SpecError([(where, f"dataset file not found: {p}")])
    if p.is_dir():
        raise SpecError([(where, f"dataset path is a folder, expected a .txt or .jsonl file: {p}")])
    if p.suffix.lower() not in (".txt", ".jsonl"):
        raise SpecError(
            [(where, f"unsupported dataset format '{p.suffix or p.name}': use a .txt or .jsonl file")]
        )
    if p.stat().st_size == 0:
        raise SpecError([(where, f"dataset file is empty: {p}")])
    with p.open("rb") as fh:
        head = fh.read(MAX_PROBE)
    if b"\x00" in head:
        raise SpecError(
            [(where, f"dataset file looks binary (contains NUL bytes), expected UTF-8 text: {p}")]
        )
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not just a multi-byte char cut at the probe's end
            raise SpecError(
                [(where, f"dataset file is not UTF-8 text (bad byte at offset {err.start}): {p}")]
            ) from None
        text = head[: err.start].decode("utf-8")
    if not text.strip():
        raise SpecError([(where, f"dataset file has no text: {p}")])
    if p.suffix.lower() == ".jsonl":
        for lineno, line in enumerate(text.splitlines()[:200], 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise SpecError([(where, f"line {lineno} of {p.name} is not JSON: {err.msg}")]) from None
            if not isinstance(row, dict) or not isinstance(row.get(text_field), str):
                raise SpecError([(where, f"line {lineno} of {p.name} has no string field '{text_field}'")])


def check_model_folder(path: str | Path) -> dict:
    """A local Hugging Face model folder must hold a config.json naming its model_type."""
    p = Path(path)
    where = "model.path"
    if not p.is_dir():
        raise SpecError([(where, f"model folder not found: {p}")])
    cfg = p / "config.json"
    if not cfg.is_file():
        raise SpecError([(where, f"{p} is not a Hugging Face model folder: it has no config.json")])
    try:
        data = json.loads(cfg.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SpecError([(where, f"config.json in {p} is not valid JSON: {err}")]) from None
    if not isinstance(data, dict) or "model_type" not in data:
        raise SpecError([(where, f"config.json in {p} names no model_type, so it is not a model config")])
    return data


def check_inputs(spec: JobSpec) -> None:
    if spec.dataset.path is None:
        raise SpecError(
            [
                (
                    "dataset.name",
                    f"dataset '{spec.dataset.name}' is resolved by the daemon at submit; submit the job to it",
                )
            ]
        )
    if spec.recipe in ("image-classification", "prelabel"):
        from trainer_runtime.jobs import image_checks

        if spec.recipe == "prelabel":
            image_checks.check_prelabel(spec)
        else:
            image_checks.check_image_classification(spec)
        return
    if spec.recipe == "graph" and spec.model.graph:
        from trainer_runtime.architecture.dataset import GraphJobError, check_graph_job

        try:
            check_graph_job(spec.model.graph, spec.dataset.path)
        except GraphJobError as err:
            raise SpecError([(err.field, err.message)]) from None
        return
    check_dataset_file(spec.dataset.path, spec.dataset.text_field)
    if spec.model.path:
        check_model_folder(spec.model.path)
