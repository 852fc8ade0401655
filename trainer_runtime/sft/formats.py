"""The instruction and chat file formats people have, read into one shape: a list of messages.

Five formats, as LLaMA-Factory, axolotl and TRL take them: alpaca (instruction / input / output, with
an optional system and history of [question, answer] pairs), ShareGPT (conversations of from / value,
with roles human / gpt / system / function_call / observation and optional tools), OpenAI messages
(role / content, content a string or typed text parts), prompt-completion pairs, and plain text.

A format is detected only when a row's shape says it without doubt; otherwise the error names the
fields found and the ``dataset.format`` / ``dataset.columns`` to set, because a guess trains silently
on the wrong thing (``text_field: output`` trains on the answers alone). Every error is a sentence
that names the line or example and the field, since that is what the user has to open and fix.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer_runtime import jsontext

FORMATS = ("alpaca", "sharegpt", "messages", "prompt-completion", "text")
ROLES = ("system", "user", "assistant", "tool")

# Our canonical keys per format (dataset.columns maps these to the file's own field names).
COLUMNS: dict[str, tuple[str, ...]] = {
    "alpaca": ("instruction", "input", "output", "system", "history"),
    "sharegpt": ("conversations", "from", "value", "system", "tools"),
    "messages": ("messages", "role", "content", "tools"),
    "prompt-completion": ("prompt", "completion", "system"),
    "text": ("text",),
}
_REQUIRED = {
    "alpaca": ("instruction", "output"),
    "sharegpt": ("conversations",),
    "messages": ("messages",),
    "prompt-completion": ("prompt", "completion"),
    "text": ("text",),
}
SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "system": "system",
    "function_call": "assistant",
    "observation": "tool",
    "tool": "tool",
}
MESSAGE_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
MESSAGE_ROLES |= {"tool": "tool", "function": "tool"}
_BLANK_LINES = re.compile(r"\n[ \t\r]*\n\s*")


class FormatError(ValueError):
    """A dataset row that cannot become an SFT example; ``str(err)`` names the line/example and field."""


@dataclass(frozen=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True)
class Example:
    messages: tuple[Message, ...]  # empty for format "text"
    text: str | None = None  # format "text" only
    tools: str | None = None  # ShareGPT / OpenAI tools as JSON text (a list of OpenAI-style tool dicts)
    where: str = ""  # "line 12 of data.jsonl" / "example 3 of data.json"


@dataclass(frozen=True)
class FormatSummary:
    format: str  # a FORMATS name, or "unknown" when it could not be told
    examples: int
    fields: tuple[str, ...]
    problem: str | None


# -- detection ---------------------------------------------------------------------------------------


def _shapes(row: Mapping[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """Every format this row's shape fits, each with the column mapping its shape implies."""
    found: list[tuple[str, dict[str, str]]] = []
    for key in ("conversations", "messages"):
        turns = row.get(key)
        if isinstance(turns, list) and turns and all(isinstance(t, Mapping) for t in turns):
            first = turns[0]
            if "from" in first and "value" in first:
                found.append(("sharegpt", {"conversations": key}))
            elif "role" in first:
                found.append(("messages", {"messages": key}))
    if "instruction" in row and "output" in row:
        found.append(("alpaca", {}))
    if "prompt" in row and "completion" in row:
        found.append(("prompt-completion", {}))
    if not found and isinstance(row.get("text"), str):
        found.append(("text", {}))
    return found


def _describe_fields(row: Mapping[str, Any]) -> str:
    return ", ".join(repr(str(k)) for k in row) or "none"


def _undetected(row: Mapping[str, Any], where: str, shapes: list[tuple[str, dict[str, str]]]) -> FormatError:
    fields = _describe_fields(row)
    if shapes:
        names = " and ".join(s for s, _ in shapes)
        return FormatError(
            f"{where} fits more than one format ({names}; fields found: {fields}); set dataset.format "
            f"to the one you mean."
        )
    return FormatError(
        f"{where} has fields {fields}, which match no format we read (alpaca needs 'instruction' and "
        "'output', ShareGPT 'conversations' with 'from'/'value', OpenAI 'messages' with 'role'/'content', "
        "prompt-completion 'prompt' and 'completion', text 'text'); set dataset.format and map your "
        "fields with dataset.columns, e.g. {format: prompt-completion, columns: {completion: answer}}."
    )


def detect_format(rows: Sequence[Mapping[str, Any]], name: str = "") -> str:
    """The one format every row's shape fits; else FormatError naming the fields found."""
    label = name or "the dataset"
    return _detect([(f"example {n} of {label}", row) for n, row in enumerate(rows, 1)], label)[0]


def _detect(rows: Sequence[tuple[str, Mapping[str, Any]]], name: str) -> tuple[str, dict[str, str]]:
    if not rows:
        raise FormatError(f"{name} holds no rows; add examples to it.")
    chosen: tuple[str, dict[str, str]] | None = None
    first_where = ""
    for where, row in rows:
        shapes = _shapes(row)
        if len(shapes) != 1:
            raise _undetected(row, where, shapes)
        if chosen is None:
            chosen, first_where = shapes[0], where
        elif shapes[0][0] != chosen[0]:
            raise FormatError(
                f"{where} is {shapes[0][0]} (fields {_describe_fields(row)}) but {first_where} is "
                f"{chosen[0]}; one file holds one format, so split it or fix that row."
            )
    assert chosen is not None
    return chosen


# -- reading files -----------------------------------------------------------------------------------


def _bad_utf8(name: str, line: int, err: UnicodeDecodeError, offset: int) -> FormatError:
    return FormatError(
        f"line {line} of {name} is not valid UTF-8 (byte 0x{err.object[err.start]:02x} at column "
        f"{err.start - offset + 1}); save the file as UTF-8."
    )


def _jsonl_rows(path: Path, limit: int | None) -> Iterator[tuple[str, dict[str, Any]]]:
    with path.open("rb") as fh:
        count = 0
        for n, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise _bad_utf8(path.name, n, err, 0) from None
            if not line.strip():
                continue
            where = f"line {n} of {path.name}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise FormatError(f"{where} is not valid JSON ({err.msg} at column {err.colno}).") from None
            if not isinstance(row, dict):
                raise FormatError(f"{where} is a JSON {type(row).__name__}, not an object with fields.")
            yield where, row
            count += 1
            if limit is not None and count >= limit:
                return


def _json_rows(path: Path, limit: int | None) -> Iterator[tuple[str, dict[str, Any]]]:
    text = _decode(path)
    try:
        with jsontext.gc_paused():
            doc = jsontext.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        detail = (
            f"{err.msg} at line {err.lineno}" if isinstance(err, json.JSONDecodeError) else "nested too deep"
        )
        raise FormatError(f"{path.name} is not valid JSON ({detail}).") from None
    if isinstance(doc, dict):
        lists = [k for k, v in doc.items() if isinstance(v, list)]
        if len(lists) != 1:
            raise FormatError(
                f"{path.name} is a JSON object with fields {_describe_fields(doc)}; an SFT file is an array "
                "of examples, or an object holding exactly one such array."
            )
        doc = doc[lists[0]]
    if not isinstance(doc, list):
        raise FormatError(
            f"{path.name} holds a JSON {type(doc).__name__}; an SFT file is an array of examples."
        )
    for n, row in enumerate(doc[:limit] if limit is not None else doc, 1):
        where = f"example {n} of {path.name}"
        if not isinstance(row, dict):
            raise FormatError(f"{where} is a JSON {type(row).__name__}, not an object with fields.")
        yield where, row


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise _bad_utf8(path.name, line, err, data.rfind(b"\n", 0, err.start) + 1) from None


def _txt_examples(path: Path, limit: int | None) -> list[Example]:
    text = _decode(path).replace("\r\n", "\n")
    out: list[Example] = []
    start = 0
    for sep in [*_BLANK_LINES.finditer(text), None]:
        end = sep.start() if sep else len(text)
        doc = text[start:end]
        if doc.strip():
            line = text.count("\n", 0, start) + 1
            out.append(
                Example(messages=(), text=doc, where=f"document {len(out) + 1} (line {line}) of {path.name}")
            )
            if limit is not None and len(out) >= limit:
                break
        start = sep.end() if sep else end
    if not out:
        raise FormatError(f"{path.name} holds no text; write documents separated by blank lines.")
    return out


def _rows(path: Path, limit: int | None) -> Iterator[tuple[str, dict[str, Any]]]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _jsonl_rows(path, limit)
    if suffix == ".json":
        return _json_rows(path, limit)
    raise FormatError(
        f"{path.name}: SFT data is read from .json, .jsonl or .txt files, not {suffix or 'this'}."
    )


def read_examples(
    path: str | Path,
    format: str | None = None,
    columns: Mapping[str, str] | None = None,
    text_field: str = "text",
    limit: int | None = None,
) -> tuple[str, list[Example]]:
    """(the format used, the examples) of a .json / .jsonl / .txt file; FormatError at the first bad row."""
    path = Path(path)
    if format is not None and format not in FORMATS:
        raise FormatError(
            f"dataset.format {format!r} is not one we read; choose one of {', '.join(FORMATS)}."
        )
    if path.suffix.lower() == ".txt":
        if format not in (None, "text"):
            raise FormatError(
                f"{path.name} is plain text; dataset.format {format!r} needs a .json or .jsonl file."
            )
        return "text", _txt_examples(path, limit)
    rows = list(_rows(path, limit))
    if not rows:
        raise FormatError(f"{path.name} holds no examples; add rows to it.")
    implied: dict[str, str] = {}
    if format is None:
        format, implied = _detect(rows, path.name)
    cols = _columns(format, {**implied, **(dict(columns or {}))}, text_field, rows)
    return format, [_convert(format, row, cols, where) for where, row in rows]


def _columns(
    fmt: str, given: dict[str, str], text_field: str, rows: list[tuple[str, dict[str, Any]]]
) -> dict[str, str]:
    allowed = COLUMNS[fmt]
    unknown = [k for k in given if k not in allowed]
    if unknown:
        raise FormatError(
            f"dataset.columns names {', '.join(map(repr, unknown))}, which format {fmt} does not have; "
            f"its keys are {', '.join(allowed)}."
        )
    cols = {k: k for k in allowed}
    if fmt == "text":
        cols["text"] = text_field
    cols.update(given)
    where, first = rows[0]
    inner = {"from", "value", "role", "content"}
    for key in allowed:
        field = cols[key]
        if key in inner:
            continue
        if key in _REQUIRED[fmt] and field not in first:
            raise _missing(fmt, key, field, where, first, key in given)
        if key in given and not any(field in row for _, row in rows):
            raise _missing(fmt, key, field, where, first, True)
    return cols


def _missing(fmt: str, key: str, field: str, where: str, row: Mapping[str, Any], mapped: bool) -> FormatError:
    how = (
        f"dataset.columns maps {key!r} to {field!r}" if mapped else f"format {fmt} needs the field {field!r}"
    )
    return FormatError(
        f"{how}, but {where} has no field {field!r} (fields found: {_describe_fields(row)}); "
        f"set dataset.columns: {{{key}: <your field>}}."
    )


# -- one row into one example ------------------------------------------------------------------------


def _text(value: Any, where: str, field: str, *, allow_empty: bool = False) -> str:
    if isinstance(value, list):  # OpenAI typed content parts
        parts = []
        for n, part in enumerate(value, 1):
            if (
                not isinstance(part, Mapping)
                or part.get("type") != "text"
                or not isinstance(part.get("text"), str)
            ):
                kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
                raise FormatError(
                    f"{where}: part {n} of {field} is of type {kind!r}; only text parts "
                    '({"type": "text", "text": ...}) can be trained here, so remove images and other media.'
                )
            parts.append(part["text"])
        value = "".join(parts)
    if value is None and allow_empty:
        return ""
    if not isinstance(value, str):
        raise FormatError(f"{where}: field {field} holds a {type(value).__name__}, not text.")
    if not value.strip() and not allow_empty:
        raise FormatError(
            f"{where}: field {field} is empty; every turn needs text (remove the row or fill it)."
        )
    return value


def _tools_json(value: Any, where: str, field: str) -> str | None:
    if value in (None, "", [], "[]"):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise FormatError(f"{where}: field {field} is not valid JSON ({err.msg}).") from None
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(t, Mapping) for t in value):
        raise FormatError(f"{where}: field {field} must be a list of tool (function) descriptions.")
    # ShareGPT lists bare functions; templates read the OpenAI shape {"type": "function", "function": ...}.
    tools = [t if "function" in t else {"type": "function", "function": dict(t)} for t in value]
    return json.dumps(tools, ensure_ascii=False)


def _finish(messages: list[Message], where: str, tools: str | None = None) -> Example:
    if not any(m.role == "assistant" for m in messages):
        roles = ", ".join(m.role for m in messages) or "none"
        raise FormatError(
            f"{where} has no assistant turn (roles found: {roles}); an SFT example needs an answer to learn from."
        )
    return Example(messages=tuple(messages), tools=tools, where=where)


def _convert(fmt: str, row: Mapping[str, Any], cols: Mapping[str, str], where: str) -> Example:
    if fmt == "text":
        return Example(messages=(), text=_text(row.get(cols["text"]), where, cols["text"]), where=where)
    msgs: list[Message] = []
    system = cols.get("system")
    if system and row.get(system) not in (None, ""):
        msgs.append(Message("system", _text(row[system], where, system)))
    if fmt == "alpaca":
        msgs += _alpaca_history(row.get(cols["history"]), where, cols["history"])
        ins, inp = cols["instruction"], cols["input"]
        question = "\n\n".join(
            t
            for t in (
                _text(row.get(ins), where, ins, allow_empty=True),
                _text(row.get(inp), where, inp, allow_empty=True),
            )
            if t.strip()
        )
        if not question:
            raise FormatError(
                f"{where}: field {ins} is empty; every turn needs text (remove the row or fill it)."
            )
        msgs += [
            Message("user", question),
            Message("assistant", _text(row.get(cols["output"]), where, cols["output"])),
        ]
        return _finish(msgs, where)
    if fmt == "prompt-completion":
        msgs.append(Message("user", _text(row.get(cols["prompt"]), where, cols["prompt"])))
        msgs.append(Message("assistant", _text(row.get(cols["completion"]), where, cols["completion"])))
        return _finish(msgs, where)
    key = cols["conversations"] if fmt == "sharegpt" else cols["messages"]
    turns = row.get(key)
    if not isinstance(turns, list) or not turns:
        raise FormatError(f"{where}: field {key} must be a non-empty list of turns.")
    role_key, text_key = (
        (cols["from"], cols["value"]) if fmt == "sharegpt" else (cols["role"], cols["content"])
    )
    names = SHAREGPT_ROLES if fmt == "sharegpt" else MESSAGE_ROLES
    for n, turn in enumerate(turns, 1):
        if not isinstance(turn, Mapping):
            raise FormatError(f"{where}: turn {n} of {key} is a {type(turn).__name__}, not an object.")
        role = turn.get(role_key)
        if role not in names:
            found = (
                f"{role!r}"
                if role_key in turn
                else f"no field {role_key!r} (fields: {_describe_fields(turn)})"
            )
            raise FormatError(
                f"{where}: turn {n} of {key} has role {found}; roles are {', '.join(names)}"
                + (" (set dataset.columns for other field names)." if role_key not in turn else ".")
            )
        field = f"{key}[{n}].{text_key}"
        if fmt == "messages" and role == "assistant" and turn.get("tool_calls") and not turn.get(text_key):
            msgs.append(
                Message("assistant", _tool_calls_text(turn["tool_calls"], where, f"{key}[{n}].tool_calls"))
            )
            continue
        msgs.append(Message(names[role], _text(turn.get(text_key), where, field)))
    tools_key = cols.get("tools")
    return _finish(msgs, where, _tools_json(row.get(tools_key), where, tools_key) if tools_key else None)


def _alpaca_history(value: Any, where: str, field: str) -> list[Message]:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise FormatError(f"{where}: field {field} must be a list of [question, answer] pairs.")
    out: list[Message] = []
    for n, pair in enumerate(value, 1):
        if not (isinstance(pair, list) and len(pair) == 2):
            raise FormatError(f"{where}: entry {n} of {field} must be a [question, answer] pair.")
        out.append(Message("user", _text(pair[0], where, f"{field}[{n}][0]")))
        out.append(Message("assistant", _text(pair[1], where, f"{field}[{n}][1]")))
    return out


def _tool_calls_text(calls: Any, where: str, field: str) -> str:
    """OpenAI tool calls as the JSON text ShareGPT's function_call turns hold: {"name", "arguments"}."""
    if not isinstance(calls, list):
        raise FormatError(f"{where}: field {field} must be a list of tool calls.")
    lines = []
    for call in calls:
        fn = call.get("function", call) if isinstance(call, Mapping) else None
        if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
            raise FormatError(f"{where}: a tool call in {field} has no function name.")
        args = fn.get("arguments", {})
        if isinstance(args, str):
            with contextlib.suppress(json.JSONDecodeError):  # else keep the arguments text as written
                args = json.loads(args)
        lines.append(json.dumps({"name": fn["name"], "arguments": args}, ensure_ascii=False))
    return "\n".join(lines)


# -- previews ----------------------------------------------------------------------------------------


def summarize(path: str | Path, limit: int = 1000) -> FormatSummary:
    """Format, example count and fields of the first ``limit`` rows, for an import preview.

    Never raises FormatError: the problem is returned as its sentence, with the format still named
    when the shape could be told, so the preview can show both."""
    path = Path(path)
    fields: dict[str, None] = {}
    fmt = "unknown"
    rows: list[tuple[str, dict[str, Any]]] = []
    try:
        if path.suffix.lower() == ".txt":
            fmt, examples = read_examples(path, limit=limit)
            return FormatSummary(fmt, len(examples), (), None)
        for where, row in _rows(path, limit):
            rows.append((where, row))
            fields.update(dict.fromkeys(map(str, row)))
        fmt = _detect(rows, path.name)[0]
        fmt, examples = read_examples(path, limit=limit)
        return FormatSummary(fmt, len(examples), tuple(fields), None)
    except FormatError as err:
        return FormatSummary(fmt, len(rows), tuple(fields), str(err))
    except OSError as err:
        return FormatSummary(
            fmt, len(rows), tuple(fields), f"{path.name} could not be read ({err.strerror})."
        )
