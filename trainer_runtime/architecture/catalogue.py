"""The layer catalogue: every node type, its ports and its parameters (pure data, no torch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PortDef:
    name: str
    required: bool = True
    multi: bool = False


@dataclass(frozen=True)
class ParamDef:
    """One parameter. ``kind``: "int", "float", "bool", "choice", "shape" (tuple of ints) or "str".

    ``min``/``max`` bound numbers (for "shape": every entry); ``choices`` lists a "choice".
    """

    name: str
    kind: str
    default: Any
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    doc: str = ""


@dataclass(frozen=True)
class LayerDef:
    type: str
    category: str
    inputs: tuple[PortDef, ...]
    outputs: tuple[PortDef, ...]
    params: tuple[ParamDef, ...]
    doc: str

    def param(self, name: str) -> ParamDef | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}


IN = (PortDef("in"),)
OUT = (PortDef("out"),)


def _i(name: str, default: int, lo: int | None = 1, hi: int | None = None, doc: str = "") -> ParamDef:
    return ParamDef(name, "int", default, min=lo, max=hi, doc=doc)


def _f(
    name: str, default: float, lo: float | None = None, hi: float | None = None, doc: str = ""
) -> ParamDef:
    return ParamDef(name, "float", default, min=lo, max=hi, doc=doc)


def _b(name: str, default: bool, doc: str = "") -> ParamDef:
    return ParamDef(name, "bool", default, doc=doc)


def _c(name: str, default: str, choices: tuple[str, ...], doc: str = "") -> ParamDef:
    return ParamDef(name, "choice", default, choices=choices, doc=doc)


_BIAS = _b("bias", True, "learn an additive bias")
_EPS = _f("eps", 1e-5, lo=0.0, doc="added to the variance for numerical stability")
_DROP = _f("dropout", 0.0, lo=0.0, hi=0.99, doc="dropout probability")


def _layer(type_: str, category: str, params: tuple[ParamDef, ...], doc: str, **kw: Any) -> LayerDef:
    return LayerDef(type_, category, kw.get("inputs", IN), kw.get("outputs", OUT), params, doc)


_DEFS = [
    _layer(
        "Input",
        "io",
        (
            ParamDef("shape", "shape", (3, 32, 32), min=1, doc="shape of one sample, without the batch dim"),
            _c("dtype", "float", ("float", "long"), "float features or integer token ids"),
        ),
        "A model input: one sample of the given shape (the batch dimension is implicit).",
        inputs=(),
    ),
    _layer(
        "Linear",
        "dense",
        (_i("out_features", 64), _BIAS),
        "Fully connected layer on the last dimension: y = x W^T + b.",
    ),
    _layer(
        "Conv1d",
        "convolution",
        (
            _i("out_channels", 16),
            _i("kernel_size", 3),
            _i("stride", 1),
            _i("padding", 0, lo=0),
            _i("dilation", 1),
            _i("groups", 1),
            _BIAS,
        ),
        "1-D convolution over (channels, length).",
    ),
    _layer(
        "Conv2d",
        "convolution",
        (
            _i("out_channels", 16),
            _i("kernel_size", 3),
            _i("stride", 1),
            _i("padding", 1, lo=0),
            _i("dilation", 1),
            _i("groups", 1),
            _BIAS,
        ),
        "2-D convolution over (channels, height, width) with a square kernel.",
    ),
    _layer(
        "ConvTranspose2d",
        "convolution",
        (
            _i("out_channels", 16),
            _i("kernel_size", 2),
            _i("stride", 2),
            _i("padding", 0, lo=0),
            _i("output_padding", 0, lo=0),
            _BIAS,
        ),
        "Transposed 2-D convolution (learned up-sampling).",
    ),
    _layer(
        "BatchNorm1d",
        "normalization",
        (_EPS, _f("momentum", 0.1, lo=0.0, hi=1.0), _b("affine", True)),
        "Batch normalization over (features) or (channels, length).",
    ),
    _layer(
        "BatchNorm2d",
        "normalization",
        (_EPS, _f("momentum", 0.1, lo=0.0, hi=1.0), _b("affine", True)),
        "Batch normalization over (channels, height, width).",
    ),
    _layer(
        "LayerNorm",
        "normalization",
        (_EPS, _b("elementwise_affine", True)),
        "Layer normalization over the last dimension.",
    ),
    _layer(
        "Dropout",
        "regularization",
        (_f("p", 0.5, lo=0.0, hi=0.99),),
        "Zeroes elements at random in training.",
    ),
    _layer("ReLU", "activation", (), "max(0, x)."),
    _layer("GELU", "activation", (), "Gaussian error linear unit."),
    _layer("SiLU", "activation", (), "x * sigmoid(x) (swish)."),
    _layer("Tanh", "activation", (), "Hyperbolic tangent."),
    _layer("Sigmoid", "activation", (), "Logistic sigmoid."),
    _layer(
        "Softmax",
        "activation",
        (_i("dim", -1, lo=None, doc="dimension of one sample (0 = first dim after the batch)"),),
        "Softmax along one dimension.",
    ),
    _layer(
        "MaxPool2d",
        "pooling",
        (_i("kernel_size", 2), _i("stride", 2), _i("padding", 0, lo=0)),
        "Max pooling over (channels, height, width).",
    ),
    _layer(
        "AvgPool2d",
        "pooling",
        (_i("kernel_size", 2), _i("stride", 2), _i("padding", 0, lo=0)),
        "Average pooling over (channels, height, width).",
    ),
    _layer(
        "AdaptiveAvgPool2d",
        "pooling",
        (_i("output_size", 1),),
        "Average pooling to a fixed (output_size x output_size) grid.",
    ),
    _layer("Flatten", "reshape", (), "Flattens one sample into a vector."),
    _layer(
        "Reshape",
        "reshape",
        (ParamDef("shape", "shape", (-1,), min=-1, doc="new shape of one sample; one entry may be -1"),),
        "Reshapes one sample (the number of elements must stay the same).",
    ),
    _layer(
        "Embedding",
        "embedding",
        (_i("num_embeddings", 1000), _i("embedding_dim", 64)),
        "Looks up a learned vector for each integer token id.",
    ),
    _layer(
        "LSTM",
        "recurrent",
        (_i("hidden_size", 64), _i("num_layers", 1), _b("bidirectional", False), _BIAS, _DROP),
        "LSTM over (sequence, features); outputs every step's hidden state.",
    ),
    _layer(
        "GRU",
        "recurrent",
        (_i("hidden_size", 64), _i("num_layers", 1), _b("bidirectional", False), _BIAS, _DROP),
        "GRU over (sequence, features); outputs every step's hidden state.",
    ),
    _layer(
        "MultiheadAttention",
        "attention",
        (_i("num_heads", 4), _DROP, _BIAS),
        "Self-attention over (sequence, embed_dim); embed_dim must divide by num_heads.",
    ),
    _layer(
        "TransformerEncoderLayer",
        "attention",
        (
            _i("nhead", 4),
            _i("dim_feedforward", 128),
            _f("dropout", 0.1, lo=0.0, hi=0.99),
            _c("activation", "relu", ("relu", "gelu")),
            _b("norm_first", False),
        ),
        "Self-attention + feed-forward block over (sequence, d_model).",
    ),
    _layer(
        "Add",
        "merge",
        (),
        "Element-wise sum of two tensors of the same shape (residual connection).",
        inputs=(PortDef("a"), PortDef("b")),
    ),
    _layer(
        "Concat",
        "merge",
        (_i("dim", 0, lo=None, doc="dimension of one sample (0 = channels / first dim)"),),
        "Concatenates its inputs (in connection order) along one dimension.",
        inputs=(PortDef("in", multi=True),),
    ),
    _layer(
        "Output",
        "io",
        (_c("loss", "cross_entropy", ("cross_entropy", "mse", "bce_with_logits")),),
        "A model output and the loss used to train it.",
        outputs=(),
    ),
    # An imported operation that is not in the catalogue (from fx_import). ``code`` is the Python
    # expression of its forward: "{0}", "{1}"... are its inputs in connection order and "{m}" is its
    # module attribute (built from ``module``, an nn constructor expression; "" for a function).
    _layer(
        "Opaque",
        "imported",
        (
            ParamDef("label", "str", "op", doc="what it is (module class or function name)"),
            ParamDef("code", "str", "{0}", doc="forward expression over {0}, {1}, ... and {m}"),
            ParamDef("module", "str", "", doc="nn constructor expression, or empty"),
            ParamDef("shape", "shape", (), min=1, doc="recorded output shape without the batch dim"),
            _c(
                "dtype",
                "float",
                ("float", "long", "value"),
                "float/long tensor, or a Python value (e.g. a size)",
            ),
            _i("param_count", 0, lo=0, doc="recorded number of parameters"),
        ),
        "An imported operation outside the catalogue, shown with the shape recorded at import.",
        inputs=(PortDef("in", required=False, multi=True),),
    ),
]

LAYERS: dict[str, LayerDef] = {d.type: d for d in _DEFS}
CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(d.category for d in _DEFS))
