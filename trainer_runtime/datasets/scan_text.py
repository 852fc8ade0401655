"""Text and tabular formats: CSV, JSONL, Parquet and plain .txt corpora."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from trainer_runtime.datasets.errors import DatasetError
from trainer_runtime.datasets.model import Item, Scan

N_SAMPLES = 5
SAMPLE_CHARS = 200


def read_utf8(rel: str, full: Path) -> str:
    data = full.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DatasetError(
            f"'{rel}' is not UTF-8 text (bad byte 0x{data[err.start]:02x} on line {line}); "
            "convert it to UTF-8 and import again"
        ) from None
    if "\x00" in text:
        raise DatasetError(f"'{rel}' contains NUL bytes, so it is binary, not text")
    return text


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


def scan_csv(root: Path, files: list[tuple[str, Path]]) -> Scan:
    files = _only(files, (".csv", ".tsv"), "CSV")
    rows_total, header0 = 0, None
    samples: list[dict[str, Any]] = []
    for rel, full in files:
        text = read_utf8(rel, full)
        delimiter = "\t" if rel.lower().endswith(".tsv") else ","
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise DatasetError(f"CSV file '{rel}' is empty; it needs a header line") from None
        except csv.Error as err:
            raise DatasetError(f"CSV file '{rel}', line 1: {err}") from None
        header0 = header0 or header
        try:
            for row in reader:
                if not row:
                    continue
                if len(row) != len(header):
                    raise DatasetError(
                        f"CSV file '{rel}', line {reader.line_num}: {len(row)} columns, but the header has "
                        f"{len(header)}; fix that line (quote values that contain '{delimiter}')"
                    )
                rows_total += 1
                if len(samples) < N_SAMPLES:
                    samples.append({k: _clip(v) for k, v in zip(header, row, strict=True)})
        except csv.Error as err:
            raise DatasetError(f"CSV file '{rel}', line {reader.line_num}: {err}") from None
    return _columns_scan("csv", root, files, rows_total, samples, header0 or [])


def scan_jsonl(root: Path, files: list[tuple[str, Path]]) -> Scan:
    files = _only(files, (".jsonl", ".ndjson"), "JSONL")
    rows_total, fields = 0, None
    samples: list[dict[str, Any]] = []
    for rel, full in files:
        text = read_utf8(rel, full)
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise DatasetError(f"JSONL file '{rel}', line {lineno} is not JSON: {err.msg}") from None
            if not isinstance(row, dict):
                raise DatasetError(f"JSONL file '{rel}', line {lineno} is not a JSON object")
            fields = fields or list(row)
            rows_total += 1
            if len(samples) < N_SAMPLES:
                samples.append({k: _clip(v) for k, v in row.items()})
    meta = {"fields": fields or [], **_text_field(fields or [])}
    return Scan("jsonl", "text", root, [Item(r, f) for r, f in files], rows_total, {}, samples, meta)


PYARROW_MISSING = "reading Parquet files needs pyarrow: install it (pip install pyarrow) and import again"


def scan_parquet(root: Path, files: list[tuple[str, Path]]) -> Scan:
    files = _only(files, (".parquet",), "Parquet")
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
            if len(samples) < N_SAMPLES and pf.num_row_groups:
                head = pf.read_row_group(0).slice(0, N_SAMPLES - len(samples)).to_pylist()
                samples.extend({k: _clip(v) for k, v in r.items()} for r in head)
        except (pa.ArrowException, OSError) as err:
            if isinstance(err, OSError) and err.errno:
                raise
            raise DatasetError(f"'{rel}' is not a readable Parquet file: {err}") from None
    return _columns_scan("parquet", root, files, rows_total, samples, cols or [])


def scan_text(root: Path, files: list[tuple[str, Path]]) -> Scan:
    files = _only(files, (".txt",), "text")
    lines = 0
    samples: list[dict[str, Any]] = []
    for rel, full in files:
        text = read_utf8(rel, full)
        for line in text.splitlines():
            if line.strip():
                lines += 1
                if len(samples) < N_SAMPLES:
                    samples.append({"path": rel, "text": _clip(line)})
    return Scan(
        "text", "text", root, [Item(r, f) for r, f in files], lines, {}, samples, {"documents": len(files)}
    )
