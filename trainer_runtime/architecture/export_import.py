"""Import through ``torch.export`` for models plain fx tracing cannot handle (e.g. transformers).

The exported program is an fx graph of aten ops with the weights as inputs. Linear, Embedding,
LayerNorm, activations, Dropout, Add and square Conv2d become catalogue nodes; every other op is
an Opaque block calling ``torch.ops.aten...`` with the recorded shapes; weights used elsewhere
become parameter/buffer blocks.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.export.graph_signature import InputKind

from .errors import ModelImportError
from .import_common import MAX_LITERAL, Builder, ImportResult, call_code, tensor_literal, value_meta

aten = torch.ops.aten
ACTIVATIONS = {
    aten.relu.default: "ReLU",
    aten.tanh.default: "Tanh",
    aten.sigmoid.default: "Sigmoid",
    aten.silu.default: "SiLU",
}


def import_exported(module: nn.Module, x: torch.Tensor, input_dtype: str) -> ImportResult:
    notes: list[str] = []
    try:
        batch = torch.export.Dim("batch", min=1, max=1 << 16)
        ep = torch.export.export(module, (x,), dynamic_shapes=({0: batch},), strict=False)
    except Exception as err:  # noqa: BLE001 - the batch size is fixed: export for this one
        ep = torch.export.export(module, (x,), strict=False)
        notes.append(
            f"the batch size could not stay free ({type(err).__name__}); the code runs with batch {x.shape[0]}."
        )
    sig = ep.graph_signature
    kinds: dict[str, tuple[Any, str | None]] = {s.arg.name: (s.kind, s.target) for s in sig.input_specs}
    values: dict[str, torch.Tensor] = {}
    for s in sig.input_specs:
        if s.target is None:
            continue
        values[s.arg.name] = ep.state_dict[s.target] if s.target in ep.state_dict else ep.constants[s.target]
    gm = ep.graph_module
    needed = _needed(gm)
    b = Builder()
    weights_of: dict[Any, tuple[str, torch.Tensor]] = {}  # fx node -> (state key, tensor) not yet placed
    user_inputs = 0
    for n in gm.graph.nodes:
        if n not in needed:
            continue
        if n.op == "placeholder":
            kind, target = kinds[n.name]
            if kind == InputKind.USER_INPUT:
                if user_inputs:
                    raise ModelImportError(
                        f"the model takes more than one tensor input ('{n.name}'); import takes one."
                    )
                user_inputs += 1
                b.add("Input", {"shape": tuple(x.shape[1:]), "dtype": input_dtype}, n.name, [], stands_for=n)
            else:
                weights_of[n] = (str(target), values[n.name])
        elif n.op == "call_function":
            _op(b, n, weights_of, notes)
        elif n.op == "output":
            from .fx_import import _output

            _output(
                b,
                n.args[0][0] if isinstance(n.args[0], (tuple, list)) and len(n.args[0]) == 1 else n.args[0],
                notes,
            )
    return b.result("torch.export", notes)


def _needed(gm: torch.fx.GraphModule) -> set[Any]:
    """Nodes the output depends on (asserts and other side effects are left out)."""
    out = next(n for n in gm.graph.nodes if n.op == "output")
    seen, stack = {out}, [out]
    while stack:
        for a in stack.pop().all_input_nodes:
            if a not in seen:
                seen.add(a)
                stack.append(a)
    return seen


def _only_user(n: Any, user: Any) -> bool:
    return len(n.users) == 1 and user in n.users


def _place_weight(b: Builder, n: Any, weights_of: dict[Any, tuple[str, torch.Tensor]]) -> None:
    """A weight used by an Opaque op: a parameter / buffer block, or a literal for small constants."""
    key, t = weights_of.pop(n)
    if isinstance(t, nn.Parameter) or t.requires_grad:
        ctor = f"nn.Parameter(torch.empty({list(t.shape)}, dtype={t.dtype}))"
        b.opaque(
            n, key, lambda ref: "{m}", key, params={"module": ctor, "param_count": t.numel()}, weights={"": t}
        )
    elif t.numel() <= MAX_LITERAL:
        b.opaque(n, key, lambda ref: tensor_literal(t), key)
    else:
        ctor = f"torch.empty({list(t.shape)}, dtype={t.dtype})"
        b.opaque(n, key, lambda ref: "{m}", key, params={"module": ctor}, weights={"": t})


def _weight(n: Any, user: Any, weights_of: dict[Any, tuple[str, torch.Tensor]]) -> torch.Tensor | None:
    if isinstance(n, torch.fx.Node) and n in weights_of and _only_user(n, user):
        return weights_of[n][1]
    return None


def _op(b: Builder, n: Any, weights_of: dict[Any, tuple[str, torch.Tensor]], notes: list[str]) -> None:
    if _catalogue(b, n, weights_of):
        return
    for a in n.all_input_nodes:
        if a in weights_of:
            _place_weight(b, a, weights_of)
    callee = _callee(n.target)
    b.opaque(
        n,
        callee.rsplit(".", 2)[-2] if callee.count(".") >= 2 else callee,
        lambda ref: call_code(callee, n.args, n.kwargs, ref),
    )


def _callee(target: Any) -> str:
    if isinstance(target, torch._ops.OpOverload):
        return f"torch.ops.{target.namespace}.{target._schema.name.split('::')[-1]}.{target._overloadname}"
    from .fx_import import _qualified

    return _qualified(target)


def _catalogue(b: Builder, n: Any, weights_of: dict[Any, tuple[str, torch.Tensor]]) -> bool:
    t, args = n.target, n.args
    src = args[0] if args and isinstance(args[0], torch.fx.Node) else None
    want = value_meta(n)
    spec: tuple[str, dict[str, Any], list[tuple[Any, str]], dict[str, torch.Tensor], str] | None = None
    if t == aten.linear.default and src is not None and not n.kwargs:
        w = _weight(args[1], n, weights_of)
        bias = _weight(args[2], n, weights_of) if len(args) > 2 and args[2] is not None else None
        if w is not None and (len(args) < 3 or args[2] is None or bias is not None):
            ws = {".weight": w, **({".bias": bias} if bias is not None else {})}
            spec = (
                "Linear",
                {"out_features": w.shape[0], "bias": bias is not None},
                [(src, "in")],
                ws,
                weights_of[args[1]][0],
            )
    elif t == aten.embedding.default and len(args) == 2 and isinstance(args[1], torch.fx.Node):
        w = _weight(args[0], n, weights_of)
        if w is not None and value_meta(args[1])["dtype"] == "long":
            ws = {".weight": w}
            spec = (
                "Embedding",
                {"num_embeddings": w.shape[0], "embedding_dim": w.shape[1]},
                [(args[1], "in")],
                ws,
                weights_of[args[0]][0],
            )
    elif t == aten.layer_norm.default and src is not None and len(args) >= 4 and len(args[1]) == 1:
        w, bias = _weight(args[2], n, weights_of), _weight(args[3], n, weights_of)
        if w is not None and bias is not None:
            eps = float(args[4]) if len(args) > 4 else 1e-5
            spec = (
                "LayerNorm",
                {"eps": eps},
                [(src, "in")],
                {".weight": w, ".bias": bias},
                weights_of[args[2]][0],
            )
    elif t in ACTIVATIONS and src is not None:
        spec = (ACTIVATIONS[t], {}, [(src, "in")], {}, n.name)
    elif (
        t == aten.gelu.default
        and src is not None
        and n.kwargs.get("approximate", "none") == "none"
        and len(args) == 1
    ):
        spec = ("GELU", {}, [(src, "in")], {}, n.name)
    elif t == aten.dropout.default and src is not None and float(args[1]) < 1:
        spec = ("Dropout", {"p": float(args[1])}, [(src, "in")], {}, n.name)
    elif t == aten.add.Tensor and _same_shape_add(b, n, want):
        spec = ("Add", {}, [(args[0], "a"), (args[1], "b")], {}, n.name)
    if spec is None:
        return False
    type_, params, inputs, ws, name = spec
    if any(src_node not in b.node_of for src_node, _ in inputs):
        return False
    for a in n.all_input_nodes:
        if a in weights_of and a not in inputs and _only_user(a, n):
            del weights_of[a]
    if name.endswith(".weight"):
        name = name[: -len(".weight")]
    b.add(type_, params, name, inputs, weights=ws, stands_for=n)
    return True


def _same_shape_add(b: Builder, n: Any, want: dict[str, Any]) -> bool:
    a = n.args
    if len(a) != 2 or n.kwargs or not all(isinstance(x, torch.fx.Node) and x in b.node_of for x in a):
        return False
    return bool(value_meta(a[0]) == value_meta(a[1]) == want and want["dtype"] == "float")
