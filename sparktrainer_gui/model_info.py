"""What a local Hugging Face model folder holds: architecture and parameter count.

No Qt and no torch: ``config.json`` names the architecture, and the parameter count is the
sum of the tensor shapes in the safetensors file headers (an 8-byte little-endian length,
then that many bytes of JSON: ``{name: {"dtype", "shape", "data_offsets"}}``), read for one
file or for every shard an ``*.safetensors.index.json`` names. Without safetensors files the
count is estimated from the config's sizes, and says so.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_HEADER = 100 << 20  # a header larger than this is no safetensors file
# Model types whose MLP has a gate, up and down projection (three matrices, not two).
GATED_MLP = frozenset({"llama", "mistral", "mixtral", "qwen2", "qwen3", "gemma", "gemma2", "phi3", "olmo"})
LEARNED_POSITIONS = frozenset({"gpt2", "gpt_neo", "gptj", "opt", "bert", "roberta", "distilbert"})


class ModelInfoError(ValueError):
    """The folder is not a readable Hugging Face model folder; the message says why."""


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    architecture: str
    model_type: str
    params: int
    exact: bool  # True: counted from safetensors headers; False: estimated from config.json
    files: int  # safetensors files read

    def summary(self) -> str:
        arch = (
            self.architecture
            if self.architecture == self.model_type
            else f"{self.architecture} ({self.model_type})"
        )
        if self.exact:
            return f"{arch} · {format_count(self.params)} parameters"
        return f"{arch} · about {format_count(self.params)} parameters (estimated from config.json)"


def format_count(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def read_model_info(path: str | Path) -> ModelInfo:
    p = Path(path).expanduser()
    if not p.is_dir():
        raise ModelInfoError(f"model folder not found: {p}")
    cfg_file = p / "config.json"
    if not cfg_file.is_file():
        raise ModelInfoError(f"{p} has no config.json, so it is not a Hugging Face model folder")
    try:
        config = json.loads(cfg_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelInfoError(f"config.json in {p} is not valid JSON: {err}") from None
    if not isinstance(config, dict):
        raise ModelInfoError(f"config.json in {p} is not a JSON object")
    archs = config.get("architectures")
    model_type = config.get("model_type")
    if not model_type and not archs:
        raise ModelInfoError(f"config.json in {p} names neither architectures nor model_type")
    arch = archs[0] if isinstance(archs, list) and archs and isinstance(archs[0], str) else str(model_type)
    model_type = str(model_type or arch)

    files = safetensors_files(p)
    if files:
        total = sum(safetensors_param_count(f) for f in files)
        return ModelInfo(p, arch, model_type, total, exact=True, files=len(files))
    estimate = estimate_params(config)
    if estimate is None:
        raise ModelInfoError(
            f"{p} has no *.safetensors weights and config.json lacks the sizes (hidden size, "
            "layers, vocabulary) to estimate the parameter count"
        )
    return ModelInfo(p, arch, model_type, estimate, exact=False, files=0)


def safetensors_files(folder: Path) -> list[Path]:
    """The weight files of a folder: the shards its index names, or every top-level *.safetensors."""
    indexes = sorted(folder.glob("*.safetensors.index.json"))
    if indexes:
        try:
            index = json.loads(indexes[0].read_text(encoding="utf-8"))
            shards = sorted(set(index["weight_map"].values()))
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
            raise ModelInfoError(f"{indexes[0].name} in {folder} is not a safetensors index: {err}") from None
        missing = [s for s in shards if not (folder / s).is_file()]
        if missing:
            raise ModelInfoError(f"{indexes[0].name} names shards that are missing: {', '.join(missing)}")
        return [folder / s for s in shards]
    return sorted(f for f in folder.glob("*.safetensors") if f.is_file())


def read_safetensors_header(file: Path) -> dict[str, Any]:
    size = file.stat().st_size
    with file.open("rb") as fh:
        raw_len = fh.read(8)
        if len(raw_len) < 8:
            raise ModelInfoError(f"{file.name} is too short to be a safetensors file")
        (n,) = struct.unpack("<Q", raw_len)
        if n > MAX_HEADER or 8 + n > size:
            raise ModelInfoError(f"{file.name} is not a safetensors file (header length {n} is impossible)")
        raw = fh.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelInfoError(f"the header of {file.name} is not valid JSON: {err}") from None
    if not isinstance(header, dict):
        raise ModelInfoError(f"the header of {file.name} is not a JSON object")
    return header


def safetensors_param_count(file: Path) -> int:
    total = 0
    for name, entry in read_safetensors_header(file).items():
        if name == "__metadata__":
            continue
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise ModelInfoError(f"tensor {name!r} in {file.name} has no valid shape")
        total += math.prod(shape)
    return total


def _first(config: dict[str, Any], *keys: str) -> int | None:
    for k in keys:
        v = config.get(k)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            return v
    return None


def estimate_params(config: dict[str, Any]) -> int | None:
    """A decoder-style estimate: embeddings + layers x (attention + MLP), norms and biases ignored."""
    if isinstance(config.get("text_config"), dict):  # multimodal wrappers keep the LM config inside
        config = {**config["text_config"], "model_type": config.get("model_type")}
    hidden = _first(config, "hidden_size", "n_embd", "d_model")
    layers = _first(config, "num_hidden_layers", "n_layer", "num_layers")
    vocab = _first(config, "vocab_size")
    if not (hidden and layers and vocab):
        return None
    heads = _first(config, "num_attention_heads", "n_head") or 1
    kv_heads = _first(config, "num_key_value_heads") or heads
    inner = _first(config, "intermediate_size", "n_inner", "ffn_dim") or 4 * hidden
    kv_dim = hidden * kv_heads // heads
    attention = 2 * hidden * hidden + 2 * hidden * kv_dim
    mlp = (3 if config.get("model_type") in GATED_MLP else 2) * hidden * inner
    total = vocab * hidden + layers * (attention + mlp)
    if not config.get("tie_word_embeddings", True):
        total += vocab * hidden
    if config.get("model_type") in LEARNED_POSITIONS:
        total += (_first(config, "n_positions", "max_position_embeddings") or 0) * hidden
    return total
