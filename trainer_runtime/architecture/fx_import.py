"""Turn a real PyTorch model into a graph with torch.fx.

``torch.fx.symbolic_trace`` is tried first: known ``torch.nn`` modules become catalogue nodes,
other modules, functions and methods become Opaque blocks with the shapes recorded by running
the model once on an example input. Models fx cannot trace (control flow in Python, as in
Hugging Face transformers) are exported with ``torch.export`` (whose program is an fx graph of
aten ops) and converted the same way (``export_import``). If both fail, ``ModelImportError``
says why.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn
from torch.fx.node import _get_qualified_name

from .codegen import constructor
from .errors import GraphError, ModelImportError
from .graph import Node
from .import_common import Builder, ImportResult, call_code, dtype_kind, fmt_value, sample_shape, value_meta
from .infer import infer


def import_module(
    module: nn.Module, input_shape: tuple[int, ...] | list[int], input_dtype: str = "float"
) -> Any:
    """The graph of ``module`` for one input of ``input_shape`` (per sample, no batch dim)."""
    return import_model(module, input_shape, input_dtype).graph


def example_input(
    module: nn.Module, input_shape: tuple[int, ...], input_dtype: str, batch: int = 2
) -> torch.Tensor:
    if input_dtype == "long":
        vocab = getattr(getattr(module, "config", None), "vocab_size", None) or 2
        return torch.randint(0, int(vocab), (batch, *input_shape), generator=torch.Generator().manual_seed(0))
    return torch.randn((batch, *input_shape), generator=torch.Generator().manual_seed(0))


def import_model(
    module: nn.Module, input_shape: tuple[int, ...] | list[int], input_dtype: str = "float"
) -> ImportResult:
    shape = tuple(int(s) for s in input_shape)
    if not shape or min(shape) < 1:
        raise ModelImportError(
            f"The input shape must be sizes of at least 1 (without the batch dim), not {list(shape)}."
        )
    if input_dtype not in ("float", "long"):
        raise ModelImportError(f"The input dtype must be float or long, not {input_dtype!r}.")
    name = type(module).__name__
    module = module.eval()
    x = example_input(module, shape, input_dtype)
    try:
        gm = torch.fx.symbolic_trace(module)
        torch.fx.passes.shape_prop.ShapeProp(gm).propagate(x)
    except Exception as fx_err:  # noqa: BLE001 - it runs the model's own code: any error = "cannot trace"
        from .export_import import import_exported

        try:
            return import_exported(module, x, input_dtype)
        except ModelImportError:
            raise
        except Exception as exp_err:  # torch.export failures come as many types
            raise ModelImportError(
                f"{name} cannot be imported: torch.fx cannot trace it ({_first_line(fx_err)}) and "
                f"torch.export cannot either ({_first_line(exp_err)}). Models whose forward branches "
                "on tensor values need a traceable wrapper; check the input shape too."
            ) from exp_err
    return _from_fx(gm, module, shape, input_dtype)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:200]}" if text else type(err).__name__


def _from_fx(
    gm: torch.fx.GraphModule, root: nn.Module, shape: tuple[int, ...], input_dtype: str
) -> ImportResult:
    b = Builder()
    notes: list[str] = []
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    for i, ph in enumerate(placeholders):
        if i == 0:
            b.add("Input", {"shape": shape, "dtype": input_dtype}, ph.name, [], stands_for=ph)
        elif ph.args:  # an optional argument left at its default
            b.opaque(ph, f"default of {ph.name}", partial(_const, ph.args[0]), params={"dtype": "value"})
        else:
            raise ModelImportError(
                f"{type(root).__name__}.forward needs more than one input ('{ph.name}'); import takes one."
            )
    for n in gm.graph.nodes:
        if n.op == "call_module":
            _module_node(b, n, gm.get_submodule(n.target), notes)
        elif n.op == "get_attr":
            _attr_node(b, n, _fetch(gm, n.target))
        elif n.op == "call_function":
            callee = _qualified(n.target)
            b.opaque(n, callee.rsplit(".", 1)[-1], partial(function_code, callee, n))
        elif n.op == "call_method":
            b.opaque(n, f".{n.target}", partial(method_code, n))
        elif n.op == "output":
            _output(b, n.args[0], notes)
    return b.result("torch.fx", notes)


INFIX = {
    "operator.add": "+",
    "operator.sub": "-",
    "operator.mul": "*",
    "operator.truediv": "/",
    "operator.matmul": "@",
}


def function_code(callee: str, n: torch.fx.Node, ref: Any) -> str:
    if callee in INFIX and len(n.args) == 2 and not n.kwargs:
        a, c = (fmt_value(x, ref) for x in n.args)
        return f"{a} {INFIX[callee]} {c}"
    if callee == "operator.getitem" and len(n.args) == 2 and isinstance(n.args[0], torch.fx.Node):
        return f"{ref(n.args[0])}[{fmt_value(n.args[1], ref)}]"
    return call_code(callee, n.args, n.kwargs, ref)


def _const(value: Any, ref: Any) -> str:
    return repr(value)


def method_code(n: torch.fx.Node, ref: Any) -> str:
    obj = fmt_value(n.args[0], ref)
    return f"{obj}." + call_code(str(n.target), n.args[1:], n.kwargs, ref)


def _qualified(target: Any) -> str:
    name = _get_qualified_name(target)
    for prefix, repl in (("_operator.", "operator."), ("builtins.", "")):
        if name.startswith(prefix):
            return repl + name[len(prefix) :]
    return name


def _fetch(gm: nn.Module, target: str) -> Any:
    obj: Any = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _attr_node(b: Builder, n: torch.fx.Node, value: Any) -> None:
    if isinstance(value, nn.Parameter):
        ctor = f"nn.Parameter(torch.empty({list(value.shape)}, dtype={value.dtype}))"
        b.opaque(
            n,
            str(n.target),
            lambda ref: "{m}",
            params={"module": ctor, "param_count": value.numel()},
            weights={"": value},
        )
    elif isinstance(value, torch.Tensor):
        ctor = f"torch.empty({list(value.shape)}, dtype={value.dtype})"
        b.opaque(n, str(n.target), lambda ref: "{m}", params={"module": ctor}, weights={"": value})
    else:
        b.opaque(n, str(n.target), partial(_const, value), params={"dtype": "value"})


def _output(b: Builder, out: Any, notes: list[str]) -> None:
    leaves = [out] if isinstance(out, torch.fx.Node) else []
    if not leaves and isinstance(out, (tuple, list)):
        leaves = [o for o in out if isinstance(o, torch.fx.Node)]
    if not leaves and isinstance(out, dict):
        leaves = [o for o in out.values() if isinstance(o, torch.fx.Node)]
    if not leaves:
        raise ModelImportError("the model returns no tensor, so there is nothing to put in an Output node.")
    if len(leaves) > 1 or not isinstance(out, torch.fx.Node):
        notes.append(f"the model returns several values; the Output node takes the first ({leaves[0].name}).")
    src = leaves[0]
    meta = value_meta(src)
    loss = "cross_entropy" if len(meta["shape"]) == 1 and meta["dtype"] == "float" else "mse"
    b.add("Output", {"loss": loss}, "output", [(src, "in")])


# -- call_module: catalogue node when the module is one of ours, Opaque otherwise ---------------


def _same(v: Any) -> int | None:
    """An int for an int or a tuple of equal ints (square kernels), else None."""
    if isinstance(v, int):
        return v
    if isinstance(v, tuple) and v and all(isinstance(x, int) and x == v[0] for x in v):
        return v[0]
    return None


def catalogue_params(m: nn.Module) -> tuple[str, dict[str, Any]] | None:
    """(type, params) of a catalogue node equal to ``m``, or None."""
    bias = getattr(m, "bias", None) is not None
    if type(m) is nn.Linear:
        return "Linear", {"out_features": m.out_features, "bias": bias}
    if type(m) in (nn.Conv1d, nn.Conv2d) and m.padding_mode == "zeros" and not isinstance(m.padding, str):
        vals = {k: _same(getattr(m, k)) for k in ("kernel_size", "stride", "padding", "dilation")}
        if None not in vals.values():
            return type(m).__name__, {
                "out_channels": m.out_channels,
                "groups": m.groups,
                "bias": bias,
                **vals,
            }
    if (
        type(m) is nn.ConvTranspose2d
        and m.groups == 1
        and _same(m.dilation) == 1
        and m.padding_mode == "zeros"
    ):
        vals = {k: _same(getattr(m, k)) for k in ("kernel_size", "stride", "padding", "output_padding")}
        if None not in vals.values():
            return "ConvTranspose2d", {"out_channels": m.out_channels, "bias": bias, **vals}
    if type(m) in (nn.BatchNorm1d, nn.BatchNorm2d) and m.track_running_stats and m.momentum is not None:
        return type(m).__name__, {"eps": m.eps, "momentum": m.momentum, "affine": m.affine}
    if (
        type(m) is nn.LayerNorm
        and len(m.normalized_shape) == 1
        and (m.bias is not None or not m.elementwise_affine)
    ):
        return "LayerNorm", {"eps": m.eps, "elementwise_affine": m.elementwise_affine}
    if type(m) is nn.Dropout and m.p < 1:
        return "Dropout", {"p": m.p}
    if type(m) in (nn.ReLU, nn.SiLU, nn.Tanh, nn.Sigmoid) or (type(m) is nn.GELU and m.approximate == "none"):
        return type(m).__name__, {}
    if type(m) is nn.Softmax and isinstance(m.dim, int) and m.dim != 0:
        return "Softmax", {"dim": m.dim - 1 if m.dim > 0 else m.dim}
    if type(m) in (nn.MaxPool2d, nn.AvgPool2d) and not m.ceil_mode:
        extra_ok = _same(getattr(m, "dilation", 1)) == 1 and not getattr(m, "return_indices", False)
        extra_ok = (
            extra_ok
            and getattr(m, "count_include_pad", True)
            and getattr(m, "divisor_override", None) is None
        )
        vals = {k: _same(getattr(m, k)) for k in ("kernel_size", "stride", "padding")}
        if extra_ok and None not in vals.values():
            return type(m).__name__, vals
    if type(m) is nn.AdaptiveAvgPool2d and _same(m.output_size):
        return "AdaptiveAvgPool2d", {"output_size": _same(m.output_size)}
    if type(m) is nn.Flatten and m.start_dim == 1 and m.end_dim == -1:
        return "Flatten", {}
    if type(m) is nn.Embedding and m.padding_idx is None and m.max_norm is None and not m.sparse:
        return "Embedding", {"num_embeddings": m.num_embeddings, "embedding_dim": m.embedding_dim}
    if type(m) is nn.TransformerEncoderLayer and m.self_attn.batch_first:
        act = {"relu": "relu", "gelu": "gelu"}.get(getattr(m.activation, "__name__", ""))
        if act and m.linear1.bias is not None and m.norm1.eps == 1e-5:
            return "TransformerEncoderLayer", {
                "nhead": m.self_attn.num_heads,
                "dim_feedforward": m.linear1.out_features,
                "dropout": m.dropout.p,
                "activation": act,
                "norm_first": m.norm_first,
            }
    return None


def _same_state(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(sa[k].shape == sb[k].shape for k in sa)


def _module_node(b: Builder, n: torch.fx.Node, m: nn.Module, notes: list[str]) -> None:
    weights = dict(m.state_dict())
    cat = catalogue_params(m)
    src = n.args[0] if len(n.args) == 1 and not n.kwargs and isinstance(n.args[0], torch.fx.Node) else None
    if cat is not None and src is not None and src in b.node_of:
        in_shape = value_meta(src)["shape"]
        try:
            probe = Node("probe", cat[0], cat[1])
            ctor = constructor(probe, in_shape)
            ok = ctor is None or _same_state(eval(ctor, {"nn": nn, "torch": torch}), m)  # noqa: S307 - our own source
        except (GraphError, RuntimeError, ValueError, TypeError, IndexError):
            ok = False
        if ok:
            nid = b.add(
                cat[0],
                cat[1],
                str(n.target),
                [(src, "in")],
                weights={"." + k: v for k, v in weights.items()},
                stands_for=n,
            )
            res = infer(b.graph)
            if res.shapes.get((nid, "out")) == value_meta(n)["shape"] and nid not in res.errors:
                return
            b.graph.remove_node(nid)
            b.weights.pop(nid, None)
            del b.node_of[n]
    ctor = ""
    if type(m).__module__.startswith("torch.nn") and not list(m.children()):
        candidate = "nn." + repr(m)
        try:
            if _same_state(eval(candidate, {"nn": nn, "torch": torch}), m):  # noqa: S307 - a torch module's repr
                ctor = candidate
        except Exception:  # noqa: BLE001 - a repr that is no constructor: stays inspect-only
            ctor = ""
    if not ctor:
        notes.append(
            f"{n.target} ({type(m).__name__}) has no constructor as code; its block cannot be exported."
        )
    b.opaque(
        n,
        type(m).__name__,
        lambda ref: call_code("{m}", n.args, n.kwargs, ref),
        params={"module": ctor, "param_count": sum(p.numel() for p in m.parameters())},
        weights={"." + k: v for k, v in weights.items()} if ctor else None,
    )


__all__ = ["ImportResult", "ModelImportError", "dtype_kind", "import_model", "import_module", "sample_shape"]
