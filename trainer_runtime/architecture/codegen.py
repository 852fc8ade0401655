"""Export a graph as readable PyTorch source: an ``nn.Module`` with named layers and a forward in
topological order. Pure Python (torch is only needed to run the result)."""

from __future__ import annotations

import keyword
import re
from typing import Any

from .errors import GraphError
from .graph import Graph, Node
from .infer import Inference, infer

# attributes of nn.Module a layer name must not shadow
_RESERVED = {
    "forward", "training", "train", "eval", "to", "cuda", "cpu", "type", "float", "double", "half",
    "parameters", "buffers", "modules", "children", "state_dict", "apply", "register_buffer",
    "zero_grad", "self", "torch", "nn", "F", "requires_grad_", "extra_repr", "named_modules",
    "steps", "input_names", "output_names", "operator",
}  # fmt: skip
_OPAQUE_REF = re.compile(r"\{(\d+|m)\}")


def check_exportable(graph: Graph) -> tuple[list[str], Inference]:
    """Topological order and inference of a valid graph; the first error as GraphError otherwise."""
    res = infer(graph)
    errors = res.all_errors()
    if errors:
        first = errors[0]
        more = f" ({len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise type(first)(f"The graph cannot be exported: {first.message}{more}", first.node_id)
    return graph.topological_order(), res


def identifiers(graph: Graph, order: list[str]) -> dict[str, str]:
    """A unique Python identifier per node, from its name (attribute and variable name)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for nid in order:
        node = graph.nodes[nid]
        base = re.sub(r"\W+", "_", (node.name or node.id).strip()).strip("_").lower() or "layer"
        if base[0].isdigit():
            base = "l_" + base
        if keyword.iskeyword(base) or base in _RESERVED:
            base += "_"
        name, k = base, 2
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        out[nid] = name
    return out


def sample_dim(dim: int) -> int:
    """A dim counted over one sample, as a dim of the batched tensor."""
    return dim + 1 if dim >= 0 else dim


def _call(name: str, args: list[Any], kwargs: list[tuple[str, Any, Any]]) -> str:
    """``nn.<name>(args, key=value...)`` leaving out keywords equal to torch's default."""
    parts = [repr(a) for a in args]
    parts += [f"{k}={v!r}" for k, v, default in kwargs if v != default or default is _ALWAYS]
    return f"nn.{name}({', '.join(parts)})"


_ALWAYS = object()  # a keyword written even at its default (batch_first=True)


def constructor(node: Node, in_shape: tuple[int, ...]) -> str | None:
    """The ``nn`` constructor expression of a node, or None when it has no module."""
    p = node.params
    t = node.type
    keys: list[tuple[str, Any]]
    if t == "Linear":
        return _call(t, [in_shape[-1], p["out_features"]], [("bias", p["bias"], True)])
    if t in ("Conv1d", "Conv2d"):
        keys = [
            ("stride", 1),
            ("padding", 0),
            ("dilation", 1),
            ("groups", 1),
            ("bias", True),
        ]
        return _call(t, [in_shape[0], p["out_channels"], p["kernel_size"]], [(k, p[k], d) for k, d in keys])
    if t == "ConvTranspose2d":
        keys = [("stride", 1), ("padding", 0), ("output_padding", 0), ("bias", True)]
        return _call(t, [in_shape[0], p["out_channels"], p["kernel_size"]], [(k, p[k], d) for k, d in keys])
    if t in ("BatchNorm1d", "BatchNorm2d"):
        keys = [("eps", 1e-5), ("momentum", 0.1), ("affine", True)]
        return _call(t, [in_shape[0]], [(k, p[k], d) for k, d in keys])
    if t == "LayerNorm":
        keys = [("eps", 1e-5), ("elementwise_affine", True)]
        return _call(t, [in_shape[-1]], [(k, p[k], d) for k, d in keys])
    if t == "Dropout":
        return _call(t, [], [("p", p["p"], _ALWAYS)])
    if t in ("ReLU", "GELU", "SiLU", "Tanh", "Sigmoid", "Flatten"):
        return _call(t, [], [])
    if t == "Softmax":
        return _call(t, [], [("dim", sample_dim(p["dim"]), _ALWAYS)])
    if t in ("MaxPool2d", "AvgPool2d"):
        return _call(
            t, [p["kernel_size"]], [("stride", p["stride"], p["kernel_size"]), ("padding", p["padding"], 0)]
        )
    if t == "AdaptiveAvgPool2d":
        return _call(t, [p["output_size"]], [])
    if t == "Embedding":
        return _call(t, [p["num_embeddings"], p["embedding_dim"]], [])
    if t in ("LSTM", "GRU"):
        keys = [
            ("num_layers", 1),
            ("bias", True),
            ("batch_first", _ALWAYS),
            ("dropout", 0.0),
            ("bidirectional", False),
        ]
        vals = {**p, "batch_first": True}
        return _call(t, [in_shape[-1], p["hidden_size"]], [(k, vals[k], d) for k, d in keys])
    if t == "MultiheadAttention":
        keys = [("dropout", 0.0), ("bias", True), ("batch_first", _ALWAYS)]
        vals = {**p, "batch_first": True}
        return _call(t, [in_shape[-1], p["num_heads"]], [(k, vals[k], d) for k, d in keys])
    if t == "TransformerEncoderLayer":
        keys = [
            ("dim_feedforward", 2048),
            ("dropout", 0.1),
            ("activation", "relu"),
            ("batch_first", _ALWAYS),
        ]
        keys.append(("norm_first", False))
        vals = {**p, "batch_first": True}
        return _call(t, [in_shape[-1], p["nhead"]], [(k, vals[k], d) for k, d in keys])
    if t == "Opaque" and p["module"]:
        return str(p["module"])
    return None


def opaque_expr(code: str, args: list[str], module: str) -> str:
    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key == "m":
            return module
        i = int(key)
        if i >= len(args):
            raise GraphError(f"Imported expression {code!r} refers to input {{{i}}}, which is not connected.")
        return args[i]

    return _OPAQUE_REF.sub(sub, code)


def check_opaque(node: Node) -> None:
    if "{m}" in node.params["code"] and not node.params["module"]:
        raise GraphError(
            f"{node.label} ({node.params['label']}) cannot be exported: the imported module has no "
            "constructor that can be written as code. Replace it with catalogue layers.",
            node.id,
        )


def export_source(graph: Graph, class_name: str = "Net") -> str:
    if not class_name.isidentifier() or keyword.iskeyword(class_name):
        raise GraphError(f"'{class_name}' is not a valid Python class name.")
    order, res = check_exportable(graph)
    names = identifiers(graph, order)
    ins: dict[str, list[Any]] = {}
    for e in graph.edges:
        ins.setdefault(e.dst, []).append(e)
    init: list[str] = []
    body: list[str] = []
    inputs: list[str] = []
    outputs: list[str] = []
    uses_functional = uses_operator = False
    for nid in order:
        node, var = graph.nodes[nid], names[nid]
        srcs = [names[e.src] for e in ins.get(nid, [])]
        in_shapes = res.input_shapes.get(nid, {})
        first_in = next((s[0] for s in in_shapes.values() if s), ())
        ctor = constructor(node, first_in)
        if ctor is not None and node.type == "Opaque" and ctor.startswith("torch."):
            init.append(f'        self.register_buffer("{var}", {ctor})')
        elif ctor is not None:
            init.append(f"        self.{var} = {ctor}")
        t = node.type
        if t == "Opaque":
            check_opaque(node)
        if t == "Input":
            inputs.append(var)
            continue
        if t == "Output":
            outputs.append(srcs[0])
            continue
        if t in ("LSTM", "GRU"):
            line = f"{var}, _ = self.{var}({srcs[0]})"
        elif t == "MultiheadAttention":
            x = srcs[0]
            line = f"{var}, _ = self.{var}({x}, {x}, {x}, need_weights=False)"
        elif t == "Reshape":
            shape = ", ".join(str(s) for s in node.params["shape"])
            line = f"{var} = {srcs[0]}.reshape({srcs[0]}.shape[0], {shape})"
        elif t == "Add":
            a = next(names[e.src] for e in ins[nid] if e.dst_port == "a")
            b = next(names[e.src] for e in ins[nid] if e.dst_port == "b")
            line = f"{var} = {a} + {b}"
        elif t == "Concat":
            line = f"{var} = torch.cat([{', '.join(srcs)}], dim={sample_dim(node.params['dim'])})"
        elif t == "Opaque":
            uses_functional = uses_functional or "F." in node.params["code"]
            uses_operator = uses_operator or "operator." in node.params["code"]
            args = list(dict.fromkeys(srcs))
            line = f"{var} = {opaque_expr(node.params['code'], args, f'self.{var}')}"
        else:
            line = f"{var} = self.{var}({srcs[0]})"
        value = res.dtypes.get((nid, "out")) == "value"
        body.append(f"        {line}  # {'value' if value else _fmt(res.shapes.get((nid, 'out')))}")
    ret = outputs[0] if len(outputs) == 1 else "(" + ", ".join(outputs) + ",)"
    input_ids = [n for n in order if graph.nodes[n].type == "Input"]
    shapes = ", ".join(f"{names[n]} {_fmt(graph.nodes[n].params['shape'])}" for n in input_ids)
    lines = ['"""Generated by SparkTrainer from an architecture graph."""', ""]
    lines += ["import operator", ""] if uses_operator else []
    lines += ["import torch"] if any("torch." in line for line in init + body) else []
    lines += ["import torch.nn.functional as F"] if uses_functional else []
    lines += [
        "from torch import nn",
        "",
        "",
        f"class {class_name}(nn.Module):",
        f'    """Inputs per sample (batch first): {shapes}. Parameters: {res.total_params:,}."""',
        "",
        "    def __init__(self) -> None:",
        "        super().__init__()",
    ]
    lines += init or ["        pass"]
    lines += ["", f"    def forward(self, {', '.join(inputs)}):", *body, f"        return {ret}", ""]
    return "\n".join(lines)


def _fmt(shape: Any) -> str:
    if shape is None:
        return "value"
    return "(batch, " + ", ".join(str(s) for s in shape) + ")"
