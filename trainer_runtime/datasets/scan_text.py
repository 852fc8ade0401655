"""Text and tabular formats: CSV, JSONL, Parquet, plain .txt corpora and chat/instruction data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trainer_runtime.datasets.errors import DatasetError
from trainer_runtime.datasets.formats import CHAT_SUFFIXES, suffixes_of
from trainer_runtime.datasets.limits import DEFAULT_LIMITS, Limits, size_text
from trainer_runtime.datasets.model import Item, Scan
from trainer_runtime.datasets.textio import csv_rows, is_blank, json_value, lines

N_SAMPLES = 5
SAMPLE_CHARS = 200


def _only(files: list[tuple[str, Path]], suffixes: tuple[str, ...], kind: str) -> list[tuple[str, Path]]:
    for rel, _ in files:
        if not rel.lower().endswith(suffixes):
            raise DatasetError(
                f"'{rel}' is not a {kind} file; a {kind} dataset holds only {', '.join(suffixes)} files"
            )
    if not files:
        raise DatasetError(f"no {kind} files found")
    return files


def _text_field(names: list[str]) -> dict[str, str]:
    """A column or field named ``text`` is the text field."""
    return {"text_field": "text"} if "text" in names else {}


def _columns_scan(fmt: str, root: Path, files: list[tuple[str, Path]], rows: int,
                  samples: list[dict[str, Any]], cols: list[str]) -> Scan:  # fmt: skip
    """A CSV or Parquet scan: text when it has a ``text`` column, tabular otherwise."""
    modality = "text" if "text" in cols else "tabular"
    meta = {"columns": cols, **_text_field(cols)}
    return Scan(fmt, modality, root, [Item(r, f) for r, f in files], rows, {}, samples, meta)


def _clip(value: Any) -> Any:
    return value[:SAMPLE_CHARS] if isinstance(value, str) else value


def scan_csv(root: Path, files: list[tuple[str, Path]], limits: Limits = DEFAULT_LIMITS) -> Scan:
    files = _only(files, suffixes_of("csv"), "CSV")
    rows_total, header0 = 0, None
    samples: list[dict[str, Any]] = []
    for rel, full in files:
        delimiter = "\t" if rel.lower().endswith(".tsv") else ","
        header = None
        for line_num, row in csv_rows(rel, full, delimiter, limits):
            if header is None:
                header = row
                continue
            if not row:
                continue
            if len(row) != len(header):
                raise DatasetError(
                    f"CSV file '{rel}', line {line_num}: {len(row)} columns, but the header has "
                    f"{len(header)}; fix that line (quote values that contain '{delimiter}')"
                )
            rows_total += 1
            if len(samples) < N_SAMPLES:
                samples.append({k: _clip(v) for k, v in zip(header, row, strict=True)})
        if header is None:
            raise DatasetError(f"CSV file '{rel}' is empty; it needs a header line")
        header0 = header0 or header
    return _columns_scan("csv", root, files, rows_total, samples, header0 or [])


def scan_jsonl(root: Path, files: list[tuple[str, Path]], limits: Limits = DEFAULT_LIMITS) -> Scan:
    files = _only(files, suffixes_of("jsonl"), "JSONL")
    rows_total, fields = 0, None
    samples: list[dict[str, Any]] = []
    for rel, full in files:
        for lineno, line in lines(rel, full, limits):
            if is_blank(line):
                continue
            row = json_value(line, f"JSONL file '{rel}', line {lineno}")
            if not isinstance(row, dict):
                raise DatasetError(f"JSONL file '{rel}', line {lineno} is not a JSON object")
            fields = fields or list(row)
            rows_total += 1
            if len(samples) < N_SAMPLES:
                samples.append({k: _clip(v) for k, v in row.items()})
    meta = {"fields": fields or [], **_text_field(fields or [])}
    return Scan("jsonl", "text", root, [Item(r, f) for r, f in files], rows_total, {}, samples, meta)


PYARROW_MISSING = "reading Parquet files needs pyarrow: install it (pip install pyarrow) and import again"


def scan_parquet(root: Path, files: list[tuple[str, Path]], limits: Limits = DEFAULT_LIMITS) -> Scan:
    files = _only(files, suffixes_of("parquet"), "Parquet")
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DatasetError(PYARROW_MISSING) from None
    import pyarrow as pa

    rows_total, cols = 0, None
    samples: list[dict[str, Any]] = []
    for rel, full in files:
        try:
            pf = pq.ParquetFile(full)
            rows_total += pf.metadata.num_rows
            cols = cols or pf.schema_arrow.names
            if len(samples) < N_SAMPLES and pf.num_row_groups:  # one small batch, not a row group
                batch = next(pf.iter_batches(batch_size=N_SAMPLES - len(samples)), None)
                head = batch.to_pylist() if batch is not None else []
                samples.extend({k: _clip(v) for k, v in r.items()} for r in head)
        except (pa.ArrowException, OSError) as err:
            if isinstance(err, OSError) and err.errno:
                raise
            raise DatasetError(f"'{rel}' is not a readable Parquet file: {err}") from None
    return _columns_scan("parquet", root, files, rows_total, samples, cols or [])


def scan_text(root: Path, files: list[tuple[str, Path]], limits: Limits = DEFAULT_LIMITS) -> Scan:
    files = _only(files, suffixes_of("text"), "text")
    count = 0
    samples: list[dict[str, Any]] = []
    for rel, full in files:
        for _, line in lines(rel, full, limits):
            if not is_blank(line):
                count += 1
                if len(samples) < N_SAMPLES:
                    samples.append({"path": rel, "text": _clip(line.rstrip("\r\n"))})
    return Scan(
        "text", "text", root, [Item(r, f) for r, f in files], count, {}, samples, {"documents": len(files)}
    )


# ---------------------------------------------------------------------------- chat / instruction
CHECKED_EXAMPLES = 1000  # examples of each file read through the SFT format reader at import


def chat_rows(rel: str, full: Path, limits: Limits = DEFAULT_LIMITS) -> list[Any]:
    """The rows of a chat dataset file: a .json array (or an object holding one list of rows),
    or the objects of a .jsonl file. A .json file is parsed whole, refused above
    ``limits.max_json_bytes`` before it is read (as a COCO file is)."""
    if rel.lower().endswith(".json"):
        size = full.stat().st_size
        if size > limits.max_json_bytes:
            raise DatasetError(
                f"'{rel}' is {size_text(size)}, more than the {size_text(limits.max_json_bytes)} a .json "
                "dataset may be; write it as .jsonl (one example per line), which is read as a stream"
            )
        value = json_value(full.read_bytes(), f"'{rel}'")
        if isinstance(value, dict):
            lists = [v for v in value.values() if isinstance(v, list)]
            if len(lists) != 1:
                raise DatasetError(
                    f"'{rel}' is a JSON object with {len(lists)} lists in it ({', '.join(map(str, value))[:200]}); "
                    "a chat or instruction dataset is an array of examples (or an object holding one)"
                )
            value = lists[0]
        if not isinstance(value, list):
            raise DatasetError(f"'{rel}' is not a JSON array of examples")
        return value
    rows = []
    for lineno, line in lines(rel, full, limits):
        if not is_blank(line):
            rows.append(json_value(line, f"JSONL file '{rel}', line {lineno}"))
    return rows


def _chat_sample(row: Any) -> dict[str, Any]:
    """A row as a sample to show: strings clipped, nested turns as clipped JSON text."""
    if not isinstance(row, dict):
        return {"value": _clip(json.dumps(row, ensure_ascii=False))}
    return {
        k: _clip(v) if isinstance(v, (str, int, float, bool)) or v is None
        else _clip(json.dumps(v, ensure_ascii=False))
        for k, v in row.items()
    }  # fmt: skip


def scan_chat(root: Path, files: list[tuple[str, Path]], limits: Limits = DEFAULT_LIMITS) -> Scan:
    """Chat and instruction data (alpaca, ShareGPT, OpenAI messages, prompt-completion) in .json
    and .jsonl files. Each file's format is told by the SFT reader (``sft.formats.summarize``), the
    one that trains on it, so an import refuses what training would refuse, with its sentence."""
    from trainer_runtime.sft.formats import summarize

    files = _only(files, CHAT_SUFFIXES, "chat")
    found: dict[str, str] = {}
    fields: tuple[str, ...] = ()
    count = 0
    samples: list[dict[str, Any]] = []
    for rel, full in files:
        summary = summarize(full, limit=CHECKED_EXAMPLES)
        if summary.problem:
            raise DatasetError(f"'{rel}' cannot be read as chat or instruction data: {summary.problem}")
        if summary.format == "text":
            raise DatasetError(
                f"'{rel}' holds plain text rows, not chat or instruction examples; import it as format "
                "jsonl (or text) instead"
            )
        found[rel] = summary.format
        fields = fields or tuple(summary.fields)
        rows = chat_rows(rel, full, limits)
        count += len(rows)
        samples.extend(_chat_sample(r) for r in rows[: N_SAMPLES - len(samples)])
    if len(set(found.values())) > 1:
        shown = ", ".join(f"'{rel}' is {fmt}" for rel, fmt in found.items())
        raise DatasetError(
            f"the files hold different chat formats ({shown}); import each format as its own dataset"
        )
    chat_format = next(iter(found.values()))
    meta = {"chat_format": chat_format, "fields": list(fields), "examples": count}
    return Scan("chat", "chat", root, [Item(r, f) for r, f in files], count, {}, samples, meta)
