"""Importing real PyTorch models: graph -> exported code -> the same outputs as the original."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from trainer_runtime.architecture.build import build_module
from trainer_runtime.architecture.codegen import export_source
from trainer_runtime.architecture.errors import GraphError, ModelImportError
from trainer_runtime.architecture.fx_import import example_input, import_model
from trainer_runtime.architecture.graph import Graph
from trainer_runtime.architecture.infer import infer


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, (3, 5), padding=(1, 2)),  # not square: stays an Opaque block
            nn.LeakyReLU(0.1),  # not in the catalogue
        )
        self.scale = nn.Parameter(torch.linspace(0.5, 1.5, 16))
        self.head = nn.Linear(16 * 8 * 8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.features(x)
        y = y * self.scale.view(1, -1, 1, 1)
        y = F.gelu(y) + y
        return self.head(torch.flatten(y, 1))


class Branchy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(4, 2), nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # depends on the data: neither fx nor export can follow it
            return self.a(x)
        return self.b(x)


def same_outputs(model: nn.Module, shape: tuple[int, ...], dtype: str = "float") -> Graph:
    model.eval()
    result = import_model(model, shape, dtype)
    res = infer(result.graph)
    assert res.ok, [e.message for e in res.all_errors()]
    namespace: dict[str, Any] = {}
    exec(compile(export_source(result.graph), "<exported>", "exec"), namespace)
    exported = namespace["Net"]().eval()
    exported.load_state_dict(result.state_dict, strict=True)
    built = build_module(result.graph).eval()
    built.load_state_dict(result.state_dict, strict=True)
    x = example_input(model, shape, dtype, batch=3)  # another batch size than the trace used
    with torch.no_grad():
        want = model(x)
        want = getattr(want, "logits", want)
        torch.testing.assert_close(exported(x), want, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(built(x), want, rtol=1e-5, atol=1e-6)
    return result.graph


def types(g: Graph) -> list[str]:
    return [n.type for n in g.nodes.values()]


def test_cnn_imports_with_catalogue_nodes_and_opaque_blocks_showing_shapes() -> None:
    torch.manual_seed(0)
    g = same_outputs(SmallCNN(), (3, 16, 16))
    t = types(g)
    for known in ("Input", "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Linear", "Output"):
        assert known in t
    opaque = {n.params["label"]: n for n in g.nodes.values() if n.type == "Opaque"}
    assert opaque["LeakyReLU"].params["shape"] == (16, 8, 8)
    assert opaque["Conv2d"].params["module"].startswith("nn.Conv2d(8, 16, kernel_size=(3, 5)")
    assert opaque["flatten"].params["shape"] == (1024,)
    res = infer(g)
    conv = next(n for n in g.nodes.values() if n.type == "Conv2d")
    assert res.shapes[(conv.id, "out")] == (8, 16, 16) and res.params[conv.id] == 3 * 8 * 9 + 8


def test_imported_graph_survives_a_file_round_trip(tmp_path) -> None:
    g = import_model(SmallCNN(), (3, 16, 16)).graph
    g.save(tmp_path / "cnn.json")
    back = Graph.load(tmp_path / "cnn.json")
    assert export_source(back) == export_source(g)


def test_transformers_bert_classifier_built_from_a_config() -> None:
    transformers = pytest.importorskip("transformers")
    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64, num_labels=3,
    )  # fmt: skip
    g = same_outputs(transformers.BertForSequenceClassification(config), (8,), "long")
    t = types(g)
    assert t.count("Linear") >= 2 * 6 + 1  # q, k, v, out, ffn in, ffn out per layer; classifier
    assert t.count("LayerNorm") == 5
    out = next(n for n in g.nodes.values() if n.type == "Output")
    assert out.params["loss"] == "cross_entropy"
    assert infer(g).input_shapes[out.id]["in"] == [(3,)]


def test_transformers_gpt2_classifier_built_from_a_config() -> None:
    transformers = pytest.importorskip("transformers")
    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=100, n_embd=32, n_layer=2, n_head=2, n_positions=64, num_labels=3, pad_token_id=0,
        use_cache=False,  # a cache object in the output cannot be traced
    )  # fmt: skip
    g = same_outputs(transformers.GPT2ForSequenceClassification(config), (8,), "long")
    assert "Opaque" in types(g) and "LayerNorm" in types(g)


def test_untraceable_model_gets_a_clear_message() -> None:
    with pytest.raises(
        ModelImportError, match=r"Branchy cannot be imported: torch.fx cannot trace it"
    ) as info:
        import_model(Branchy(), (4,))
    assert "torch.export cannot either" in info.value.message


def test_wrong_input_shape_and_bad_arguments_are_explained() -> None:
    with pytest.raises(ModelImportError, match="check the input shape"):
        import_model(SmallCNN(), (5, 16, 16))
    with pytest.raises(ModelImportError, match="at least 1"):
        import_model(SmallCNN(), (3, 0, 16))
    with pytest.raises(ModelImportError, match="float or long"):
        import_model(SmallCNN(), (3, 16, 16), "half")


def test_module_without_constructor_code_is_refused_at_export_not_exported_wrong() -> None:
    class Custom(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 2

    class Leafy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = Custom()
            self.fc = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.inner(x))

    g = same_outputs(Leafy(), (4,))  # fx traces into the custom module: exportable
    assert "Linear" in types(g)
    opaque = g.add_node("Opaque", {"label": "Mystery", "code": "{m}({0})", "shape": (4,)})
    linear = next(n for n in g.nodes.values() if n.type == "Linear")
    src = g.in_edges(linear.id)[0]
    g.disconnect(src)
    g.connect(src.src, src.src_port, opaque.id, "in")
    g.connect(opaque.id, "out", linear.id, "in")
    with pytest.raises(GraphError, match="Mystery.*cannot be exported") as info:
        export_source(g)
    assert info.value.node_id == opaque.id
