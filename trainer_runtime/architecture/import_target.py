"""Import ``module:factory`` as a graph; ``python -m trainer_runtime.architecture.import_target``
runs one import in its own process (the daemon's way: user code and torch stay out of the daemon).

Protocol: one JSON object on stdin ``{"target", "input_shape", "input_dtype", "cwd"}``; one JSON
object on stdout: ``{"graph": ..., "notes": [...], "method": ...}`` or ``{"error": sentence}``.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

from .errors import GraphError, ModelImportError


def load_target(target: str, cwd: str | None = None) -> Any:
    """The nn.Module named by ``package.module:factory`` (a callable with no arguments, a class or an instance)."""
    import torch

    mod_name, sep, attr = target.partition(":")
    if not sep or not mod_name or not attr:
        raise ModelImportError(f"'{target}' is not MODULE:FACTORY (e.g. mypackage.models:make_model).")
    if cwd and cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as err:
        raise ModelImportError(
            f"cannot import module '{mod_name}': {err}. Is it on the Python path?"
        ) from None
    obj: Any = mod
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ModelImportError(f"module '{mod_name}' has no '{attr}'.")
        obj = getattr(obj, part)
    if not isinstance(obj, torch.nn.Module):
        if not callable(obj):
            raise ModelImportError(f"'{target}' is neither an nn.Module nor a function that makes one.")
        try:
            obj = obj()
        except Exception as err:  # the user's factory: report what it raised
            raise ModelImportError(f"calling '{target}()' failed: {type(err).__name__}: {err}") from err
    if not isinstance(obj, torch.nn.Module):
        raise ModelImportError(f"'{target}' gave a {type(obj).__name__}, not a torch nn.Module.")
    return obj


def run_import(
    target: str, input_shape: list[int], input_dtype: str = "float", cwd: str | None = None
) -> dict:
    from .fx_import import import_model

    module = load_target(target, cwd)
    result = import_model(module, tuple(input_shape), input_dtype)
    return {"graph": result.graph.to_dict(), "notes": result.notes, "method": result.method}


def main() -> int:
    try:
        req = json.loads(sys.stdin.read())
        out = run_import(req["target"], req["input_shape"], req.get("input_dtype", "float"), req.get("cwd"))
    except GraphError as err:
        out = {"error": err.message}
    except (KeyError, TypeError, ValueError) as err:
        out = {"error": f"bad import request: {err}"}
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
