"""The API's edge: every request body and query is read and checked here before a route sees
it, and every error answer leaves through ``error_response``.

- Bodies are read with a size bound (``MAX_JSON_BODY``; a route may ask for more), refused
  with 413 as soon as they pass it, and parsed on a thread when they are large.
- Parsed JSON is walked once (iteratively): nesting deeper than ``MAX_DEPTH``, integers outside
  SQLite's 64 bits, non-finite numbers and NUL characters are refused with the JSON path named.
- Queries and URL parts go through pydantic models with bounded integers (``Id``, ``Count``).
- Answers to errors are sanitised (``clean``): printable, bounded, no object reprs or
  tracebacks. ENOSPC and SQLite's "database or disk is full" become 507 with a sentence.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from trainer_runtime import jsontext
from trainer_runtime.api.schema.base import (  # noqa: F401 (the request types live with the contract)
    INT64_MAX,
    MAX_PATH,
    AbsPath,
    Count,
    Id,
    PlainStr,
    Query,
    Strict,
)
from trainer_runtime.plaintext import ONE_LINE

log = logging.getLogger(__name__)

MAX_JSON_BODY = 4 << 20  # every JSON route; the labels routes ask for more
MAX_DEPTH = 64  # a job spec nests 3 levels, a graph or an annotation 6
INLINE_PARSE = 64 << 10  # bodies up to this are parsed on the event loop, larger ones on a thread
MAX_MESSAGE = 2000  # characters of an error sentence
DATA_DIR: web.AppKey[str] = web.AppKey("data_dir", str)
# Store.describe_error: a database error as a sentence (which file, what SQLite said, what to do)
DESCRIBE_DB: web.AppKey[Callable[[BaseException], str]] = web.AppKey("describe_db")

_BAD_TEXT = re.compile(r"[\x00\ud800-\udfff]")


class BadRequest(Exception):
    """A request the daemon refuses: ``status`` (4xx), a sentence and (field, message) pairs."""

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None, status: int = 400):
        super().__init__(message)
        self.message, self.problems, self.status = message, problems or [], status


# --------------------------------------------------------------------- reading
async def read_body(request: web.Request, limit: int = MAX_JSON_BODY) -> bytes:
    """The whole body, refused with 413 as soon as it is larger than ``limit``."""
    too_big = BadRequest(
        f"the request body is larger than {_size(limit)}, the most this route takes", status=413
    )
    if request.content_length is not None and request.content_length > limit:
        raise too_big
    chunks, size = [], 0
    while chunk := await request.content.read(1 << 20):
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """Parse and check a JSON body (blocking: big bodies call it on a thread)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadRequest(f"request body is not UTF-8 text (bad byte at offset {err.start})") from None
    try:
        data = jsontext.loads(text)  # in pieces: a big body does not hold the GIL in one C call
    except RecursionError:
        raise BadRequest(f"request body is nested too deeply (at most {MAX_DEPTH} levels)") from None
    except json.JSONDecodeError as err:
        raise BadRequest("request body is not valid JSON", [("", f"{err.msg} at offset {err.pos}")]) from None
    except ValueError as err:  # e.g. an integer with more digits than Python converts
        raise BadRequest("request body is not valid JSON", [("", str(err))]) from None
    check_values(data)
    return data


def check_values(data: Any) -> None:
    """Refuse deep nesting, integers outside 64 bits, NaN/Infinity, NUL characters and lone
    surrogates anywhere in ``data``, naming the JSON path (``spec.train.seed``)."""
    if not isinstance(data, dict | list):
        _check_scalar(data, ())
        return
    stack: list[tuple[dict[Any, Any] | list[Any], tuple[Any, ...]]] = [(data, ())]
    while stack:
        container, at = stack.pop()
        if len(at) >= MAX_DEPTH:
            raise BadRequest(
                f"request body is nested more than {MAX_DEPTH} levels deep",
                [(_dotted(at), "nested too deeply")],
            )
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for k, v in items:
            if type(k) is str and _BAD_TEXT.search(k):
                raise BadRequest(
                    "a field name holds a NUL character or a lone surrogate",
                    [(_dotted(at), "invalid field name")],
                )
            t = type(v)
            if t is dict or t is list:
                stack.append((v, (*at, k)))
            elif t is str:
                if _BAD_TEXT.search(v):
                    _check_scalar(v, (*at, k))
            elif t is int:
                if not -INT64_MAX - 1 <= v <= INT64_MAX:
                    _check_scalar(v, (*at, k))
            elif t is float and not math.isfinite(v):
                _check_scalar(v, (*at, k))


def _check_scalar(value: Any, at: tuple[Any, ...]) -> None:
    if isinstance(value, str):
        bad = _BAD_TEXT.search(value)
        if bad and bad.group() == "\x00":
            raise BadRequest(
                "a text value holds a NUL character", [(_dotted(at), "contains a NUL character")]
            )
        if bad:
            raise BadRequest(
                "a text value is not valid Unicode (it holds a lone surrogate, as a file name that is "
                "not UTF-8 gives); rename the file to a UTF-8 name",
                [(_dotted(at), "not valid Unicode text")],
            )
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not -INT64_MAX - 1 <= value <= INT64_MAX:
            raise BadRequest(
                "a whole number is out of range", [(_dotted(at), "must be between -2^63 and 2^63-1")]
            )
    elif isinstance(value, float) and not math.isfinite(value):
        raise BadRequest("a number is not finite", [(_dotted(at), "Infinity and NaN are not numbers here")])


def _dotted(at: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in at)


def validate(model: type[BaseModel], data: Any, where: str = "request") -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise BadRequest(f"invalid {where}", problems_of(err)) from None


def problems_of(err: ValidationError) -> list[tuple[str, str]]:
    out = []
    for e in err.errors():
        msg = "unknown field" if e["type"] == "extra_forbidden" else e["msg"]
        out.append((_dotted(tuple(e["loc"])), msg.removeprefix("Value error, ")))
    return out


async def json_body(
    request: web.Request, model: type[BaseModel] | None = None, limit: int = MAX_JSON_BODY
) -> Any:
    """The body as a JSON object (an empty body is ``{}``), validated into ``model``; a large
    one is parsed on a thread with the cyclic GC paused (see ``jsontext.gc_paused``)."""
    raw = await read_body(request, limit)
    if len(raw) <= INLINE_PARSE:
        return parse_body(raw, model)

    def parse() -> Any:
        with jsontext.gc_paused():
            return parse_body(raw, model)

    return await asyncio.to_thread(parse)


def parse_body(raw: bytes, model: type[BaseModel] | None = None) -> Any:
    """``raw`` as a JSON object validated into ``model`` (blocking)."""
    data = parse_json(raw) if raw.strip() else {}
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object", [("", f"got {type(data).__name__}")])
    return data if model is None else validate(model, data)


def query(request: web.Request, model: type[BaseModel], multi: tuple[str, ...] = ()) -> Any:
    """The query string validated into ``model``; ``multi`` keys take comma-separated lists."""
    out: dict[str, Any] = {}
    for key in request.query:
        values = request.query.getall(key)
        out[key] = [v for raw in values for v in raw.split(",") if v] if key in multi else values[-1]
    check_values(out)
    return validate(model, out, "query")


def url_int(raw: str, field: str, low: int = 1) -> int:
    """A whole number from the URL (``/versions/{version}``), bounded to 64 bits."""
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{field} must be a whole number", [(field, "not a whole number")]) from None
    if not low <= value <= INT64_MAX:
        raise BadRequest(f"{field} is out of range", [(field, f"must be between {low} and 2^63-1")])
    return value


# ---------------------------------------------------------------------- answers
_REPR = re.compile(r"<(?:[\w.]+ )?[\w.]+ object at 0x[0-9a-fA-F]+>")
_RUN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]+")


def clean(text: Any, limit: int = MAX_MESSAGE) -> str:
    """``text`` fit for a user: object reprs become "the data", tracebacks are cut, control
    characters and lone surrogates become U+FFFD (one per run), at most ``limit`` characters."""
    s = str(text)
    cut = s.find("Traceback (most recent call last)")
    if cut >= 0:
        s = s[:cut].rstrip() + " (details in daemon.log)"
    s = _RUN.sub("\ufffd", _REPR.sub("the data", s))
    return s if len(s) <= limit else s[: limit - 1] + "…"


def error_response(
    status: int, message: str, problems: list[tuple[str, str]] | None = None, **extra: Any
) -> web.Response:
    """The one shape of an error answer: ``{"error", "problems"?, ...}``, every text cleaned."""
    body: dict[str, Any] = {"error": clean(message)}
    if problems:
        body["problems"] = [{"field": clean(f, 200), "message": clean(m, 500)} for f, m in problems[:50]]
    for k, v in extra.items():
        body[k] = clean(v) if isinstance(v, str) else v
    return web.json_response(body, status=status)


def disk_full(err: BaseException, data_dir: str) -> str | None:
    """The sentence for a full disk anywhere in ``err``'s chain, or None."""
    seen: set[int] = set()
    e: BaseException | None = err
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            where = e.filename if isinstance(e.filename, str) else data_dir
            return _full_sentence(where)
        if "database or disk is full" in str(e) and type(e).__name__ in ("OperationalError", "DatabaseError"):
            return _full_sentence(f"the database in {data_dir}")
        e = e.__cause__ or e.__context__
    return None


def _full_sentence(where: str) -> str:
    return f"the disk holding {where} is full; free space and try again (nothing was stored)"


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every route's errors become a status and a sentence; only a bug is a 500 (with its
    traceback in daemon.log)."""
    from trainer_runtime.architecture.errors import GraphError
    from trainer_runtime.datasets.errors import DatasetError
    from trainer_runtime.jobs.spec import SpecError
    from trainer_runtime.jobs.state import IllegalTransition
    from trainer_runtime.store.store import JobNotFound
    from trainer_runtime.userfiles import UserFileError

    try:
        for key, value in request.match_info.items():
            if ONE_LINE.search(value) or len(value) > MAX_PATH:
                raise BadRequest(
                    f"the {key} in the URL holds control characters or is too long", [(key, "invalid")]
                )
        return await handler(request)
    except BadRequest as err:
        return error_response(err.status, err.message, err.problems)
    except SpecError as err:
        return error_response(400, f"invalid job spec: {err}", err.problems)
    except JobNotFound as err:
        return error_response(404, str(err))
    except IllegalTransition as err:
        return error_response(409, str(err))
    except DatasetError as err:
        full = disk_full(err, request.app[DATA_DIR])
        if full:
            return error_response(507, full)
        return error_response(404 if isinstance(err, KeyError) else 400, str(err))
    except UserFileError as err:
        return error_response(400, err.message)
    except GraphError as err:
        return error_response(400, err.message, node=err.node_id)
    except web.HTTPException as err:
        if err.status < 400:
            raise
        return error_response(err.status, _http_sentence(request, err))
    except Exception as err:  # the API must answer; the traceback goes to the daemon log
        full = disk_full(err, request.app[DATA_DIR])
        if full:
            log.warning("%s %s: %s", request.method, request.path, full)
            return error_response(507, full)
        log.exception("unhandled error in %s %s", request.method, request.path)
        described = _database_sentence(request, err)
        if described:
            return error_response(503, described)
        return error_response(500, "internal error in the daemon; see daemon.log in the data dir")


def _http_sentence(request: web.Request, err: web.HTTPException) -> str:
    if err.status == 404:
        return f"no such API route: {request.method} {request.path}"
    if err.status == 405:
        return f"{request.method} is not allowed on {request.path}"
    if err.status == 413:
        return "the request body is larger than this route takes"
    return err.reason


def _database_sentence(request: web.Request, err: BaseException) -> str | None:
    """A database error (a damaged, replaced or locked file) as the store's own sentence."""
    import sqlite3

    from sqlalchemy.exc import DatabaseError

    if not isinstance(err, DatabaseError | sqlite3.Error):
        return None
    describe = request.app.get(DESCRIBE_DB)
    return describe(err) if describe is not None else None
