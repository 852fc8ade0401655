"""Reading a worker's events.jsonl from a stored byte offset."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from trainer_runtime.store.records import Ingest

log = logging.getLogger(__name__)
MAX_READ = 8 << 20  # bytes per pass; the rest comes on the next pass


@dataclass
class TailResult:
    ingest: Ingest
    events: list[dict[str, Any]] = field(default_factory=list)  # every parsed event, in order
    corrupt: list[str] = field(default_factory=list)  # one sentence per skipped line
    at_end: bool = True  # this pass read up to the end of the file (as it was then)

    def last(self, *types: str) -> dict[str, Any] | None:
        for ev in reversed(self.events):
            if ev.get("type") in types:
                return ev
        return None


def read_events(job_dir: Path, offset: int, final: bool = False, max_read: int = MAX_READ) -> TailResult:
    """Parse whole lines after ``offset``, at most ``max_read`` bytes of them (``at_end`` is
    False when more is left: call again from ``ingest.new_offset``). An unfinished last line
    waits for the next pass, unless ``final`` (the worker has exited): then it is reported as
    corrupt. A line longer than ``max_read`` is skipped as corrupt, so every pass advances."""
    path = job_dir / "events.jsonl"
    result = TailResult(Ingest(new_offset=offset))
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read(max_read)
            result.at_end = len(data) < max_read
            end = data.rfind(b"\n") + 1
            if end == 0 and not result.at_end:  # one line fills the whole read: skip past it
                skipped = _skip_line(fh)
                result.corrupt.append(
                    f"events.jsonl: a line of {len(data) + skipped} bytes at byte {offset} "
                    f"skipped (lines over {max_read} bytes are not events)"
                )
                result.ingest.new_offset = offset + len(data) + skipped
                result.at_end = False
                return result
    except FileNotFoundError:
        return result
    complete, rest = data[:end], data[end:]
    consumed = end
    if final and rest and result.at_end:
        result.corrupt.append(f"events.jsonl: unfinished last line at byte {offset + end} ignored")
        consumed = len(data)
    line_start = offset
    for raw in complete.split(b"\n")[:-1] if complete else []:
        where = line_start
        line_start += len(raw) + 1
        if not raw.strip():
            continue
        try:
            ev = json.loads(raw)
            if not isinstance(ev, dict) or not isinstance(ev.get("type"), str):
                raise ValueError("not an event object")
        except (ValueError, UnicodeDecodeError) as err:
            result.corrupt.append(f"events.jsonl: corrupt line at byte {where} skipped ({err})")
            continue
        _apply(job_dir, ev, result)
    result.ingest.new_offset = offset + consumed
    return result


def _skip_line(fh: IO[bytes], chunk: int = 1 << 20) -> int:
    """Bytes from the file position up to and including the next newline (or to the end)."""
    skipped = 0
    while True:
        data = fh.read(chunk)
        if not data:
            return skipped
        nl = data.find(b"\n")
        if nl >= 0:
            return skipped + nl + 1
        skipped += len(data)


def _apply(job_dir: Path, ev: dict[str, Any], result: TailResult) -> None:
    kind = ev["type"]
    t = float(ev.get("time", 0.0))
    ingest = result.ingest
    try:
        if kind == "metrics":
            step = int(ev["step"])
            for key, value in dict(ev["values"]).items():
                ingest.metrics.append((str(key), step, float(value), t))
            if "loss" in ev["values"]:
                ingest.step = step
        elif kind == "started":
            ingest.total_steps = int(ev.get("total_steps") or 0) or None
            ingest.step = int(ev.get("step", 0))
        elif kind == "progress":  # a job that trains nothing (prelabel): items done so far
            ingest.step = int(ev["step"])
        elif kind == "checkpoint":
            ingest.artifacts.append(("checkpoint", str(job_dir / ev["path"]), int(ev["step"])))
        elif kind == "checkpoint_pruned":  # retention removed it (train.keep_checkpoints)
            ingest.pruned.append(str(job_dir / ev["path"]))
        elif kind == "completed":
            art = ev.get("artifact") or {}
            if art.get("path"):
                ingest.artifacts.append(
                    (str(art.get("kind", "model")), str(job_dir / art["path"]), int(ev["step"]))
                )
            ingest.step = int(ev["step"])
    except (KeyError, TypeError, ValueError) as err:
        result.corrupt.append(f"events.jsonl: malformed {kind} event skipped ({_describe(err)})")
        return
    result.events.append(ev)


def _describe(err: Exception) -> str:
    if isinstance(err, KeyError):
        return f"it has no field {err.args[0]}" if err.args else "a field is missing"
    return str(err) or type(err).__name__
