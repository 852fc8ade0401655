"""Build a torch ``nn.Module`` straight from a graph (torch is imported only here, lazily).

Its state_dict keys are those of the exported source (``codegen.export_source``), so weights move
between the two; it does not go through the generated source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .codegen import check_exportable, check_opaque, identifiers, opaque_expr, sample_dim
from .graph import Graph, Node

if TYPE_CHECKING:
    import torch


def _make(node: Node, in_shape: tuple[int, ...]) -> Any:
    from torch import nn

    p, t = node.params, node.type
    if t == "Linear":
        return nn.Linear(in_shape[-1], p["out_features"], bias=p["bias"])
    if t in ("Conv1d", "Conv2d"):
        cls = nn.Conv1d if t == "Conv1d" else nn.Conv2d
        return cls(
            in_shape[0],
            p["out_channels"],
            p["kernel_size"],
            stride=p["stride"],
            padding=p["padding"],
            dilation=p["dilation"],
            groups=p["groups"],
            bias=p["bias"],
        )
    if t == "ConvTranspose2d":
        return nn.ConvTranspose2d(
            in_shape[0],
            p["out_channels"],
            p["kernel_size"],
            stride=p["stride"],
            padding=p["padding"],
            output_padding=p["output_padding"],
            bias=p["bias"],
        )
    if t in ("BatchNorm1d", "BatchNorm2d"):
        bn = nn.BatchNorm1d if t == "BatchNorm1d" else nn.BatchNorm2d
        return bn(in_shape[0], eps=p["eps"], momentum=p["momentum"], affine=p["affine"])
    if t == "LayerNorm":
        return nn.LayerNorm(in_shape[-1], eps=p["eps"], elementwise_affine=p["elementwise_affine"])
    if t == "Dropout":
        return nn.Dropout(p["p"])
    simple = {"ReLU": nn.ReLU, "GELU": nn.GELU, "SiLU": nn.SiLU, "Tanh": nn.Tanh, "Sigmoid": nn.Sigmoid}
    if t in simple:
        return simple[t]()
    if t == "Flatten":
        return nn.Flatten()
    if t == "Softmax":
        return nn.Softmax(dim=sample_dim(p["dim"]))
    if t == "MaxPool2d":
        return nn.MaxPool2d(p["kernel_size"], p["stride"], p["padding"])
    if t == "AvgPool2d":
        return nn.AvgPool2d(p["kernel_size"], p["stride"], p["padding"])
    if t == "AdaptiveAvgPool2d":
        return nn.AdaptiveAvgPool2d(p["output_size"])
    if t == "Embedding":
        return nn.Embedding(p["num_embeddings"], p["embedding_dim"])
    if t in ("LSTM", "GRU"):
        rnn = nn.LSTM if t == "LSTM" else nn.GRU
        return rnn(
            in_shape[-1],
            p["hidden_size"],
            num_layers=p["num_layers"],
            bias=p["bias"],
            batch_first=True,
            dropout=p["dropout"],
            bidirectional=p["bidirectional"],
        )
    if t == "MultiheadAttention":
        return nn.MultiheadAttention(
            in_shape[-1], p["num_heads"], dropout=p["dropout"], bias=p["bias"], batch_first=True
        )
    if t == "TransformerEncoderLayer":
        return nn.TransformerEncoderLayer(
            in_shape[-1],
            p["nhead"],
            dim_feedforward=p["dim_feedforward"],
            dropout=p["dropout"],
            activation=p["activation"],
            batch_first=True,
            norm_first=p["norm_first"],
        )
    if t == "Opaque" and p["module"]:
        import torch

        return eval(p["module"], {"nn": nn, "torch": torch})  # noqa: S307 - the imported module's repr
    return None


def build_module(graph: Graph) -> torch.nn.Module:
    """An ``nn.Module`` computing the graph; raises the graph's first error (GraphError) if invalid."""
    import operator

    import torch
    import torch.nn.functional as F
    from torch import nn

    order, res = check_exportable(graph)
    names = identifiers(graph, order)
    ins: dict[str, list[Any]] = {}
    for e in graph.edges:
        ins.setdefault(e.dst, []).append(e)

    class GraphModule(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.steps: list[tuple[str, str, Node, list[Any]]] = []
            self.input_names: list[str] = []
            self.output_names: list[str] = []
            for nid in order:
                node = graph.nodes[nid]
                first_in = next((s[0] for s in res.input_shapes.get(nid, {}).values() if s), ())
                if node.type == "Opaque":
                    check_opaque(node)
                mod = _make(node, first_in)
                if isinstance(mod, nn.Parameter):
                    self.register_parameter(names[nid], mod)
                elif isinstance(mod, torch.Tensor):
                    self.register_buffer(names[nid], mod)
                elif mod is not None:
                    self.add_module(names[nid], mod)
                if node.type == "Input":
                    self.input_names.append(names[nid])
                elif node.type == "Output":
                    self.output_names.append(names[ins[nid][0].src])
                else:
                    self.steps.append((names[nid], node.type, node, ins.get(nid, [])))

        def forward(self, *args: torch.Tensor) -> Any:
            if len(args) != len(self.input_names):
                raise TypeError(f"expected {len(self.input_names)} input(s): {', '.join(self.input_names)}")
            env: dict[str, Any] = dict(zip(self.input_names, args, strict=True))
            for var, t, node, edges in self.steps:
                srcs = [env[names[e.src]] for e in edges]
                if t in ("LSTM", "GRU"):
                    env[var] = getattr(self, var)(srcs[0])[0]
                elif t == "MultiheadAttention":
                    x = srcs[0]
                    env[var] = getattr(self, var)(x, x, x, need_weights=False)[0]
                elif t == "Reshape":
                    env[var] = srcs[0].reshape(srcs[0].shape[0], *node.params["shape"])
                elif t == "Add":
                    a = next(env[names[e.src]] for e in edges if e.dst_port == "a")
                    b = next(env[names[e.src]] for e in edges if e.dst_port == "b")
                    env[var] = a + b
                elif t == "Concat":
                    env[var] = torch.cat(srcs, dim=sample_dim(node.params["dim"]))
                elif t == "Opaque":
                    arg_names = list(dict.fromkeys(names[e.src] for e in edges))
                    expr = opaque_expr(node.params["code"], [f"_a{i}" for i in range(len(arg_names))], "_m")
                    scope = {f"_a{i}": env[n] for i, n in enumerate(arg_names)}
                    scope.update(torch=torch, F=F, nn=nn, operator=operator, _m=getattr(self, var, None))
                    env[var] = eval(expr, scope)  # noqa: S307 - an imported model's own expression
                else:
                    env[var] = getattr(self, var)(srcs[0])
            outs = [env[n] for n in self.output_names]
            return outs[0] if len(outs) == 1 else tuple(outs)

    return GraphModule()
