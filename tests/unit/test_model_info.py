"""model_info reads a local Hugging Face folder without torch: architecture and exact parameter
count from safetensors headers (single file and sharded), an estimate from config otherwise."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from sparktrainer_gui.model_info import ModelInfoError, estimate_params, format_count, read_model_info

GPT2_CONFIG = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": 16, "n_layer": 2,
               "n_head": 2, "vocab_size": 50, "n_positions": 32}  # fmt: skip


def _folder(tmp_path: Path, config: dict | None = GPT2_CONFIG) -> Path:
    d = tmp_path / "model"
    d.mkdir()
    if config is not None:
        (d / "config.json").write_text(json.dumps(config))
    return d


def test_single_safetensors_file_gives_exact_count(tmp_path: Path) -> None:
    d = _folder(tmp_path)
    save_file(
        {"wte": np.zeros((50, 16), np.float32), "wpe": np.zeros((32, 16), np.float16),
         "h.0.attn.c_attn.weight": np.zeros((16, 48), np.float32), "ln_f.bias": np.zeros((16,), np.float32),
         "scalar": np.zeros((), np.float32)},
        str(d / "model.safetensors"), metadata={"format": "pt"},
    )  # fmt: skip
    info = read_model_info(d)
    assert info.architecture == "GPT2LMHeadModel" and info.model_type == "gpt2"
    assert info.params == 50 * 16 + 32 * 16 + 16 * 48 + 16 + 1
    assert info.exact and info.files == 1
    assert info.summary() == "GPT2LMHeadModel (gpt2) · 2.1K parameters"


def test_sharded_files_are_summed_through_the_index(tmp_path: Path) -> None:
    d = _folder(tmp_path)
    save_file({"a": np.zeros((3, 4), np.float32), "b": np.zeros((5,), np.float32)}, str(d / "model-00001-of-00002.safetensors"))  # fmt: skip
    save_file({"c": np.zeros((7, 2, 2), np.float32)}, str(d / "model-00002-of-00002.safetensors"))
    save_file({"stray": np.zeros((1000,), np.float32)}, str(d / "not-in-the-index.safetensors"))
    index = {"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors",
             "b": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}}  # fmt: skip
    (d / "model.safetensors.index.json").write_text(json.dumps(index))
    info = read_model_info(d)
    assert info.params == 12 + 5 + 28 and info.files == 2


def test_hand_written_header(tmp_path: Path) -> None:
    d = _folder(tmp_path, {"model_type": "llama"})
    header = json.dumps({"w": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 12]}}).encode()
    (d / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(12))
    info = read_model_info(d)
    assert (info.architecture, info.model_type, info.params) == ("llama", "llama", 6)


def test_without_weights_the_count_is_an_estimate(tmp_path: Path) -> None:
    info = read_model_info(_folder(tmp_path))
    h, layers, vocab, pos = 16, 2, 50, 32
    assert info.params == vocab * h + pos * h + layers * (4 * h * h + 2 * h * 4 * h)
    assert not info.exact and "estimated from config.json" in info.summary()


def test_estimate_of_a_real_config_is_close() -> None:
    # Llama-2-7B: 6.74B parameters.
    cfg = {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
           "num_attention_heads": 32, "vocab_size": 32000, "tie_word_embeddings": False}  # fmt: skip
    assert abs(estimate_params(cfg) - 6.74e9) / 6.74e9 < 0.01
    assert format_count(6_738_415_616) == "6.74B"


def test_folder_without_config_is_a_clear_error(tmp_path: Path) -> None:
    d = _folder(tmp_path, config=None)
    with pytest.raises(ModelInfoError, match=r"has no config\.json"):
        read_model_info(d)
    with pytest.raises(ModelInfoError, match="model folder not found"):
        read_model_info(tmp_path / "missing")


@pytest.mark.parametrize(
    "content, match",
    [(b"\x01", "too short"), (struct.pack("<Q", 1 << 40), "header length"),
     (struct.pack("<Q", 4) + b"nope", "not valid JSON")],
)  # fmt: skip
def test_broken_safetensors_files_are_named(tmp_path: Path, content: bytes, match: str) -> None:
    d = _folder(tmp_path)
    (d / "model.safetensors").write_bytes(content)
    with pytest.raises(ModelInfoError, match=match):
        read_model_info(d)


def test_config_without_model_type_or_architectures(tmp_path: Path) -> None:
    with pytest.raises(ModelInfoError, match="neither architectures nor model_type"):
        read_model_info(_folder(tmp_path, {"hidden_size": 8}))


def test_no_qt_and_no_torch_are_imported() -> None:
    code = "import sys, sparktrainer_gui.model_info as m; print(sorted(k for k in ('torch', 'PySide6') if k in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
