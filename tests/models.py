"""Tiny models built from the real configs and (shrunk) tokenizers in tests/data/models/.

``tiny_model_folder(family, dest)`` writes a Hugging Face model folder that loads offline with
``AutoModelForCausalLM`` / ``AutoTokenizer``: the family's real config.json with only the sizes
shrunk (2 layers, hidden 64, 4 heads) and every architectural choice kept (GQA ratio, rope
settings, sliding window, soft-capping, fused projections, tied embeddings), random weights from
``torch.manual_seed(0)``, and the family's tokenizer files with the real chat template.

Each (family, tokenizer) folder is built once per test process and copied to ``dest``, so a test
may change its copy and many tests stay fast.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "models"
FAMILIES = ("llama-3", "qwen2.5", "mistral", "gemma-2", "phi-3")
ENCODERS = ("bert",)
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "vocab.txt", "tokenizer.model",
)  # fmt: skip
HIDDEN, HEADS, LAYERS = 64, 4, 2

_built: dict[tuple[str, bool], Path] = {}
_cache_root: Path | None = None


def real_config(family: str) -> dict[str, Any]:
    """The family's config.json exactly as it is in tests/data/models/<family>/."""
    return json.loads((DATA / family / "config.json").read_text(encoding="utf-8"))


def tiny_config(family: str, vocab_size: int, special: dict[str, Any]) -> dict[str, Any]:
    """The real config with the sizes shrunk and the ratios kept valid."""
    cfg = real_config(family)
    heads_real = cfg.get("num_attention_heads", HEADS)
    kv_real = cfg.get("num_key_value_heads", heads_real)
    ratio = cfg.get("intermediate_size", 4 * cfg.get("hidden_size", HIDDEN)) / cfg.get("hidden_size", HIDDEN)
    cfg.update(
        num_hidden_layers=LAYERS,
        hidden_size=HIDDEN,
        num_attention_heads=HEADS,
        intermediate_size=max(16, round(HIDDEN * ratio / 16) * 16),
        vocab_size=vocab_size,
    )
    if family not in ENCODERS:
        cfg["num_key_value_heads"] = max(1, HEADS * kv_real // heads_real)  # GQA stays GQA, MHA stays MHA
    if "head_dim" in cfg:
        cfg["head_dim"] = HIDDEN // HEADS
    if "query_pre_attn_scalar" in cfg:  # Gemma-2 scales queries by 1/sqrt(head_dim)
        cfg["query_pre_attn_scalar"] = HIDDEN // HEADS
    if "max_window_layers" in cfg:
        cfg["max_window_layers"] = LAYERS
    cfg.update(special)  # the shrunk tokenizer's ids (a real id past its vocabulary would be invalid)
    cfg.pop("quantization_config", None)
    cfg["torch_dtype"] = "float32"
    return cfg


def _special_ids(family: str, tok) -> dict[str, Any]:
    real = real_config(family)
    eos = real.get("eos_token_id")
    eos_ids = [i for i in (eos if isinstance(eos, list) else [eos]) if isinstance(i, int) and i < len(tok)]
    if tok.eos_token_id is not None and tok.eos_token_id not in eos_ids:
        eos_ids.insert(0, tok.eos_token_id)
    return {
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": (eos_ids[0] if len(eos_ids) == 1 else eos_ids) if eos_ids else None,
        "pad_token_id": tok.pad_token_id,
    }


def _build(family: str, tokenizer: bool, out: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, BertForMaskedLM

    tok = AutoTokenizer.from_pretrained(DATA / family)
    cfg_dict = tiny_config(family, len(tok), _special_ids(family, tok))
    model_type = cfg_dict.pop("model_type")
    config = AutoConfig.for_model(model_type, **cfg_dict)
    torch.manual_seed(0)
    if family in ENCODERS:
        config.architectures = ["BertForMaskedLM"]
        model: Any = BertForMaskedLM(config)
    else:
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    out.mkdir(parents=True)
    model.save_pretrained(out, safe_serialization=True)
    if tokenizer:
        for name in TOKENIZER_FILES:
            if (DATA / family / name).is_file():
                shutil.copy(DATA / family / name, out / name)


def tiny_model_folder(family: str, dest: Path, *, tokenizer: bool = True) -> Path:
    """A tiny ``family`` model folder at ``dest`` (created; must not exist yet). ``tokenizer=False``
    gives a weights-only folder (config.json + model.safetensors, no tokenizer files)."""
    global _cache_root
    if family not in FAMILIES + ENCODERS:
        raise ValueError(f"unknown family {family!r}: one of {', '.join(FAMILIES + ENCODERS)}")
    key = (family, tokenizer)
    if key not in _built:
        if _cache_root is None:
            _cache_root = Path(tempfile.mkdtemp(prefix="tiny-models-"))
            atexit.register(shutil.rmtree, _cache_root, True)
        built = _cache_root / f"{family}-{'tok' if tokenizer else 'weights'}"
        _build(family, tokenizer, built)
        _built[key] = built
    shutil.copytree(_built[key], dest)
    return dest
