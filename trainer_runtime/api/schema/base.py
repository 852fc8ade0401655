"""The base of every view the daemon sends.

A view is frozen (a client cannot mutate what the daemon said) and forbids unknown fields: the
daemon and its clients ship together, so a field one side has and the other lacks is a bug the
contract test catches, not something to ignore silently.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from trainer_runtime.plaintext import kernel_path, multiline

INT64_MAX = (1 << 63) - 1
MAX_PATH = 4096  # PATH_MAX on Linux


class View(BaseModel):
    """A response body or a part of one, as the daemon sends it.

    A view's computed fields (``JobView.is_terminal``...) are sent, and recomputed from the other
    fields when a client parses the view: what arrived for them is dropped, so the rule that
    derives them lives in one place (the runtime module the property calls)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_computed(cls, data: Any) -> Any:
        computed = cls.model_computed_fields
        if computed and isinstance(data, dict) and not computed.keys().isdisjoint(data):
            return {k: v for k, v in data.items() if k not in computed}
        return data


# ---------------------------------------------------------------- request types (api/edge.py checks)
Id = Annotated[int, Field(ge=0, le=INT64_MAX)]  # row ids and offsets: SQLite integers are 64-bit
Count = Annotated[int, Field(ge=1, le=INT64_MAX)]  # versions, attempts


def _path(v: str) -> str:
    from pathlib import Path

    kernel_path(v)
    p = Path(v).expanduser()
    if not p.is_absolute():
        raise ValueError("give an absolute path (the daemon does not share your working directory)")
    return str(p)


PlainStr = Annotated[str, AfterValidator(multiline)]
AbsPath = Annotated[str, Field(min_length=1, max_length=MAX_PATH), AfterValidator(_path)]


class Strict(BaseModel):
    """A request body: unknown fields refused, numbers finite, no conversions (``"5"`` and
    ``true`` are not numbers, ``1`` is not a boolean)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True, defer_build=True)


class Query(BaseModel):
    """A query string: its values are text, converted to the declared (bounded) types."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, defer_build=True)


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def adapter(tp: Any) -> TypeAdapter[Any]:
    """A cached TypeAdapter for ``tp`` (a model, ``list[Model]``, a union...): building one costs
    milliseconds, parsing with a kept one microseconds."""
    found = _ADAPTERS.get(tp)
    if found is None:
        found = _ADAPTERS[tp] = TypeAdapter(tp)
    return found


def parse(tp: Any, data: Any) -> Any:
    """``data`` (decoded JSON) as ``tp``; raises pydantic.ValidationError when it does not fit."""
    return adapter(tp).validate_python(data)


def dump(tp: Any, value: Any) -> bytes:
    """``value`` as JSON bytes, serialised as ``tp`` (enums as their values, no extra keys)."""
    return adapter(tp).dump_json(value)


__all__ = [
    "INT64_MAX",
    "MAX_PATH",
    "AbsPath",
    "Count",
    "Id",
    "PlainStr",
    "Query",
    "Strict",
    "View",
    "adapter",
    "dump",
    "parse",
]
