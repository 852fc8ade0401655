"""Shape, parameter and FLOP rules for every layer type (pure Python, per sample, no batch dim).

FLOPs count a multiply-add as 2; element-wise ops count 1 per element. They are estimates of one
forward pass of one sample.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .errors import ParamError, ShapeError

Shape = tuple[int, ...]
# (shape, dtype) of every tensor reaching each input port; dtype is "float", "long" or "value"
Inputs = dict[str, list[tuple[Shape, str]]]
# output shape, output dtype, parameter count, FLOPs
Result = tuple[Shape, str, int, int]
Rule = Callable[[dict[str, Any], Inputs, str], Result]


def fmt(shape: tuple[int | None, ...]) -> str:  # None: a dimension left free
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _one(inputs: Inputs, label: str, need_float: bool = True) -> Shape:
    shape, dtype = inputs["in"][0]
    if dtype == "value":
        raise ShapeError(f"{label} needs a tensor input but gets a Python value.")
    if need_float and dtype == "long":
        raise ShapeError(
            f"{label} needs float input but gets integer token ids of shape {fmt(shape)}; "
            "put an Embedding first."
        )
    return shape


def _rank(shape: Shape, ranks: tuple[int, ...], label: str, what: str) -> None:
    if len(shape) not in ranks:
        want = " or ".join(f"{r}-D" for r in ranks)
        raise ShapeError(f"{label} expects a {want} input {what} per sample but gets shape {fmt(shape)}.")


def _numel(shape: Shape) -> int:
    return math.prod(shape)


def _conv_len(n: int, k: int, s: int, p: int, d: int, label: str, shape: Shape) -> int:
    out = (n + 2 * p - d * (k - 1) - 1) // s + 1
    if out < 1:
        raise ShapeError(
            f"{label}: input {fmt(shape)} is too small for kernel {k} (padding {p}, dilation {d}); "
            "the output would be empty."
        )
    return out


def _groups(p: dict[str, Any], cin: int, label: str) -> int:
    g = int(p.get("groups", 1))
    if cin % g or p["out_channels"] % g:
        raise ParamError(
            f"{label}: groups={g} must divide both the input channels ({cin}) and out_channels "
            f"({p['out_channels']}).",
            param="groups",
        )
    return g


def conv(dims: int) -> Rule:
    def rule(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
        x = _one(inputs, label)
        _rank(x, (dims + 1,), label, "(channels, " + ("length" if dims == 1 else "height, width") + ")")
        cin, g = x[0], _groups(p, x[0], label)
        k = p["kernel_size"]
        sp = tuple(_conv_len(n, k, p["stride"], p["padding"], p["dilation"], label, x) for n in x[1:])
        out = (p["out_channels"], *sp)
        params = p["out_channels"] * (cin // g) * k**dims + (p["out_channels"] if p["bias"] else 0)
        return out, "float", params, 2 * (cin // g) * k**dims * _numel(out)

    return rule


def conv_transpose(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
    x = _one(inputs, label)
    _rank(x, (3,), label, "(channels, height, width)")
    k, s, pad, op = p["kernel_size"], p["stride"], p["padding"], p["output_padding"]
    if op >= s:
        raise ParamError(
            f"{label}: output_padding ({op}) must be smaller than stride ({s}).", param="output_padding"
        )
    sp = tuple((n - 1) * s - 2 * pad + (k - 1) + op + 1 for n in x[1:])
    if min(sp) < 1:
        raise ShapeError(
            f"{label}: padding {pad} is too large for input {fmt(x)}; the output would be empty."
        )
    cout = p["out_channels"]
    params = x[0] * cout * k * k + (cout if p["bias"] else 0)
    return (cout, *sp), "float", params, 2 * x[0] * cout * k * k * _numel(x[1:])


def linear(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
    x = _one(inputs, label)
    _rank(x, tuple(range(1, 9)), label, "(…, features)")
    fin, fout = x[-1], p["out_features"]
    rows = _numel(x[:-1])
    return (*x[:-1], fout), "float", fin * fout + (fout if p["bias"] else 0), 2 * fin * fout * rows


def batchnorm(ranks: tuple[int, ...], what: str) -> Rule:
    def rule(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
        x = _one(inputs, label)
        _rank(x, ranks, label, what)
        return x, "float", 2 * x[0] if p["affine"] else 0, 2 * _numel(x)

    return rule


def layernorm(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
    x = _one(inputs, label)
    _rank(x, tuple(range(1, 9)), label, "(…, features)")
    return x, "float", 2 * x[-1] if p["elementwise_affine"] else 0, 5 * _numel(x)


def elementwise(cost: int) -> Rule:
    def rule(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
        x = _one(inputs, label)
        return x, "float", 0, cost * _numel(x)

    return rule


def _dim(dim: int, rank: int, label: str, shape: Shape) -> int:
    if not -rank <= dim < rank:
        raise ParamError(
            f"{label}: dim {dim} does not exist for a sample of shape {fmt(shape)} "
            f"(use {-rank} to {rank - 1}).",
            param="dim",
        )
    return dim % rank


def softmax(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
    x = _one(inputs, label)
    _dim(p["dim"], len(x), label, x)
    return x, "float", 0, 3 * _numel(x)


def pool(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
    x = _one(inputs, label)
    _rank(x, (3,), label, "(channels, height, width)")
    k, s, pad = p["kernel_size"], p["stride"], p["padding"]
    if pad * 2 > k:
        raise ParamError(
            f"{label}: padding ({pad}) must be at most half the kernel_size ({k}).", param="padding"
        )
    out = (x[0], *(_conv_len(n, k, s, pad, 1, label, x) for n in x[1:]))
    return out, "float", 0, k * k * _numel(out)


def adaptive_pool(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
    x = _one(inputs, label)
    _rank(x, (3,), label, "(channels, height, width)")
    o = p["output_size"]
    return (x[0], o, o), "float", 0, _numel(x)


def flatten(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
    shape, dtype = inputs["in"][0]
    x = _one(inputs, label, need_float=False)
    return (_numel(x),), dtype, 0, 0


def reshape(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
    shape, dtype = inputs["in"][0]
    x = _one(inputs, label, need_float=False)
    target = tuple(p["shape"])
    n = _numel(x)
    known = _numel(tuple(t for t in target if t != -1))
    if -1 in target:
        if n % known:
            raise ShapeError(f"{label}: cannot reshape {fmt(x)} ({n} elements) to {fmt(target)}.")
        target = tuple(n // known if t == -1 else t for t in target)
    elif known != n:
        raise ShapeError(
            f"{label}: cannot reshape {fmt(x)} ({n} elements) to {fmt(target)} ({known} elements)."
        )
    return target, dtype, 0, 0


def embedding(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
    shape, dtype = inputs["in"][0]
    if dtype != "long":
        raise ShapeError(
            f"{label} needs integer token ids but gets float input of shape {fmt(shape)}; "
            "connect it to an Input whose dtype is long."
        )
    d = p["embedding_dim"]
    return (*shape, d), "float", p["num_embeddings"] * d, 0


def recurrent(gates: int) -> Rule:
    def rule(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
        x = _one(inputs, label)
        _rank(x, (2,), label, "(sequence, features)")
        seq, fin = x
        h, layers = p["hidden_size"], p["num_layers"]
        dirs = 2 if p["bidirectional"] else 1
        params = flops = 0
        for layer in range(layers):
            lin = fin if layer == 0 else h * dirs
            per_dir = gates * h * (lin + h) + (2 * gates * h if p["bias"] else 0)
            params += dirs * per_dir
            flops += dirs * seq * (2 * gates * h * (lin + h) + 4 * gates * h)
        return (seq, h * dirs), "float", params, flops

    return rule


def _attention(e: int, heads: int, seq: int, label: str, param: str, bias: bool = True) -> tuple[int, int]:
    if e % heads:
        raise ParamError(f"{label}: the embedding size {e} must divide by {param}={heads}.", param=param)
    params = 4 * e * e + (4 * e if bias else 0)
    flops = 2 * seq * 4 * e * e + 2 * 2 * seq * seq * e + 3 * heads * seq * seq
    return params, flops


def mha(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
    x = _one(inputs, label)
    _rank(x, (2,), label, "(sequence, embed_dim)")
    params, flops = _attention(x[1], p["num_heads"], x[0], label, "num_heads", p["bias"])
    return x, "float", params, flops


def encoder_layer(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
    x = _one(inputs, label)
    _rank(x, (2,), label, "(sequence, d_model)")
    seq, e = x
    f = p["dim_feedforward"]
    params, flops = _attention(e, p["nhead"], seq, label, "nhead")
    params += e * f + f + f * e + e + 4 * e
    flops += 2 * seq * 2 * e * f + seq * f + 12 * seq * e
    return x, "float", params, flops


def add(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
    (a, da), (b, db) = inputs["a"][0], inputs["b"][0]
    if "value" in (da, db):
        raise ShapeError(f"{label} needs two tensors.")
    if a != b:
        raise ShapeError(
            f"{label}: input a has shape {fmt(a)} but input b has shape {fmt(b)}; they must match."
        )
    return a, "long" if da == db == "long" else "float", 0, _numel(a)


def concat(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
    items = inputs["in"]
    first, dtype = items[0]
    dim = _dim(p["dim"], len(first), label, first)
    total = 0
    for shape, dt in items:
        if dt == "value":
            raise ShapeError(f"{label} needs tensor inputs.")
        same = len(shape) == len(first) and all(
            a == b for i, (a, b) in enumerate(zip(shape, first, strict=False)) if i != dim
        )
        if not same:
            raise ShapeError(
                f"{label}: inputs {fmt(first)} and {fmt(shape)} differ outside dim {p['dim']}; "
                "they cannot be concatenated."
            )
        total += shape[dim]
    out = tuple(total if i == dim else s for i, s in enumerate(first))
    return out, dtype, 0, 0


def input_rule(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
    shape = tuple(p["shape"])
    if not shape:
        raise ParamError(f"{label}: the input shape needs at least one dimension.", param="shape")
    return shape, p["dtype"], 0, 0


def output_rule(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
    x = _one(inputs, label)
    if p["loss"] == "cross_entropy" and len(x) != 1:
        raise ShapeError(
            f"{label}: cross_entropy needs one logit per class, shape (classes,), but gets {fmt(x)}; "
            "add Flatten and Linear before it."
        )
    return x, "float", 0, 0


def opaque(p: dict[str, Any], inputs: Inputs, label: str) -> Result:
    return tuple(p["shape"]), p["dtype"], p["param_count"], 0


RULES: dict[str, Rule] = {
    "Input": input_rule,
    "Linear": linear,
    "Conv1d": conv(1),
    "Conv2d": conv(2),
    "ConvTranspose2d": conv_transpose,
    "BatchNorm1d": batchnorm((1, 2), "(features) or (channels, length)"),
    "BatchNorm2d": batchnorm((3,), "(channels, height, width)"),
    "LayerNorm": layernorm,
    "Dropout": elementwise(0),
    "ReLU": elementwise(1),
    "GELU": elementwise(8),
    "SiLU": elementwise(5),
    "Tanh": elementwise(5),
    "Sigmoid": elementwise(4),
    "Softmax": softmax,
    "MaxPool2d": pool,
    "AvgPool2d": pool,
    "AdaptiveAvgPool2d": adaptive_pool,
    "Flatten": flatten,
    "Reshape": reshape,
    "Embedding": embedding,
    "LSTM": recurrent(4),
    "GRU": recurrent(3),
    "MultiheadAttention": mha,
    "TransformerEncoderLayer": encoder_layer,
    "Add": add,
    "Concat": concat,
    "Output": output_rule,
    "Opaque": opaque,
}
