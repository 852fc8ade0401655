"""Validation of node parameter values against the catalogue."""

from __future__ import annotations

import math
from typing import Any

from .catalogue import LayerDef, ParamDef
from .errors import ParamError


def check_value(pdef: ParamDef, value: Any, node_id: str | None = None, label: str = "") -> Any:
    """Return ``value`` normalised (tuples for shapes) or raise ParamError with a clear sentence."""
    where = f"{label}: " if label else ""
    name = pdef.name

    def fail(why: str) -> ParamError:
        return ParamError(f"{where}parameter '{name}' {why}", node_id, name)

    kind = pdef.kind
    if kind == "bool":
        if not isinstance(value, bool):
            raise fail(f"must be true or false, not {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(f"must be a whole number, not {value!r}")
        _check_range(pdef, value, fail)
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise fail(f"must be a finite number, not {value!r}")
        _check_range(pdef, float(value), fail)
        return float(value)
    if kind == "choice":
        assert pdef.choices is not None
        if value not in pdef.choices:
            raise fail(f"must be one of {', '.join(pdef.choices)}, not {value!r}")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise fail(f"must be text, not {value!r}")
        return value
    if kind == "shape":
        if not isinstance(value, (list, tuple)) or any(
            isinstance(v, bool) or not isinstance(v, int) for v in value
        ):
            raise fail(f"must be a list of whole numbers such as [3, 32, 32], not {value!r}")
        dims = tuple(value)
        allow_minus_one = pdef.min is not None and pdef.min < 0
        for v in dims:
            if v == -1 and allow_minus_one:
                continue
            if v < 1:
                raise fail(f"has size {v} in {list(dims)}; every size must be at least 1")
        if allow_minus_one and dims.count(-1) > 1:
            raise fail(f"may have at most one -1 entry, not {list(dims)}")
        return dims
    raise fail(f"has an unknown kind {kind!r}")


def _check_range(pdef: ParamDef, value: float, fail: Any) -> None:
    if pdef.min is not None and value < pdef.min:
        raise fail(f"must be at least {_num(pdef.min)}, not {_num(value)}")
    if pdef.max is not None and value > pdef.max:
        raise fail(f"must be at most {_num(pdef.max)}, not {_num(value)}")


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def check_params(layer: LayerDef, params: dict[str, Any], node_id: str | None, label: str) -> dict[str, Any]:
    """Fill defaults, reject unknown names and invalid values; return a new dict."""
    out = layer.defaults()
    for key, value in params.items():
        pdef = layer.param(key)
        if pdef is None:
            known = ", ".join(p.name for p in layer.params) or "none"
            raise ParamError(
                f"{label}: {layer.type} has no parameter '{key}' (its parameters: {known})", node_id, key
            )
        out[key] = check_value(pdef, value, node_id, label)
    return out
