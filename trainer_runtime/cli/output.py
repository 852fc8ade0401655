"""Printing for the CLI: tables for people, JSON for scripts."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pydantic import BaseModel


def emit_json(data: Any) -> None:
    """``data`` as indented JSON; a contract model (or a list of them) as ``model_dump(mode="json")``."""
    json.dump(_plain(data), sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def _plain(data: Any) -> Any:
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, list | tuple):
        return [_plain(d) for d in data]
    return data


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def fmt_num(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.4g}"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def version_arg(raw: str) -> int | str:
    """A dataset version on the command line: a number from 1, or 'latest' (argparse ``type``)."""
    if raw == "latest":
        return raw
    if raw.isdigit() and int(raw) >= 1:
        return int(raw)
    raise argparse.ArgumentTypeError(f"'{raw}' is not a version: give a number (1, 2, ...) or 'latest'")
