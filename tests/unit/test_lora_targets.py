"""LoRA targets (worker/lora_targets.py) and the tiny real-config models they are tried on."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from tests.models import FAMILIES, tiny_model_folder
from trainer_runtime.jobs.spec import parse_spec
from trainer_runtime.worker.errors import WorkerError
from trainer_runtime.worker.lora_targets import candidate_names, resolve_targets

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def _load(family: str, tmp_path: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tiny_model_folder(family, tmp_path / family)
    return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32), AutoTokenizer.from_pretrained(
        folder
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_every_tiny_family_loads_offline_renders_its_template_and_runs(family: str, tmp_path: Path):
    model, tok = _load(family, tmp_path)
    assert model.config.num_hidden_layers == 2 and model.config.vocab_size == len(tok)
    chat = [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue."}]
    ids = tok.apply_chat_template(chat, tokenize=True, return_dict=True, return_tensors="pt")["input_ids"]
    assert tok.decode(ids[0]).count("Blue.") == 1
    out = model(input_ids=ids, labels=ids)
    assert out.logits.shape == (1, ids.shape[1], len(tok)) and torch.isfinite(out.loss)


def test_tiny_configs_keep_the_real_architecture(tmp_path: Path):
    from transformers import AutoConfig

    gemma = AutoConfig.from_pretrained(tiny_model_folder("gemma-2", tmp_path / "g"))
    assert (gemma.num_attention_heads, gemma.num_key_value_heads, gemma.head_dim) == (4, 2, 16)
    assert gemma.sliding_window == 4096 and gemma.attn_logit_softcapping == 50.0
    llama = AutoConfig.from_pretrained(tiny_model_folder("llama-3", tmp_path / "l"))
    assert llama.num_key_value_heads == 1 and llama.rope_parameters["rope_type"] == "llama3"
    phi3 = AutoConfig.from_pretrained(tiny_model_folder("phi-3", tmp_path / "p"))
    assert phi3.num_key_value_heads == phi3.num_attention_heads  # Phi-3-mini is not GQA


def test_phi3_has_no_peft_default_so_every_block_linear_layer_is_used(tmp_path: Path):
    from peft import LoraConfig, get_peft_model

    model, tok = _load("phi-3", tmp_path)
    names, note = resolve_targets(model, None)
    assert sorted(names) == ["down_proj", "gate_up_proj", "o_proj", "qkv_proj"]  # the fused projections
    assert note is not None and "peft has no default LoRA targets for model type 'phi3'" in note
    assert ", ".join(names) in note
    peft_model = get_peft_model(
        model, LoraConfig(r=4, lora_alpha=8, target_modules=names, task_type="CAUSAL_LM")
    )
    wrapped = {n.rsplit(".", 2)[0] for n, _ in peft_model.named_parameters() if "lora_A" in n}
    assert len(wrapped) == 2 * 4  # four layers in each of the two blocks
    ids = tok("The cat sat.", return_tensors="pt")["input_ids"]
    peft_model(input_ids=ids, labels=ids).loss.backward()
    grads = {n for n, p in peft_model.named_parameters() if p.grad is not None}
    assert grads and all("lora_" in n for n in grads)


def test_peft_table_is_used_where_it_knows_the_model(tmp_path: Path):
    model, _ = _load("llama-3", tmp_path)
    assert resolve_targets(model, None) == (["q_proj", "v_proj"], None)
    assert candidate_names(model) == [
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    ]
    assert "lm_head" not in candidate_names(model)


def test_a_name_matching_nothing_is_refused_with_the_candidates(tmp_path: Path):
    model, _ = _load("qwen2.5", tmp_path)
    assert resolve_targets(model, ["q_proj", "mlp.down_proj"]) == (["q_proj", "mlp.down_proj"], None)
    with pytest.raises(WorkerError) as err:
        resolve_targets(model, ["q_proj", "query_key_value"])
    msg = str(err.value)
    assert "'query_key_value' matches no layer of this qwen2 model" in msg
    assert "q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj" in msg
    with pytest.raises(WorkerError, match="'self_attn' is not a linear layer"):
        resolve_targets(model, ["self_attn"])


def test_wrap_lora_on_a_phi3_path_logs_the_fallback(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    from trainer_runtime.worker.models import wrap_lora

    folder = tiny_model_folder("phi-3", tmp_path / "phi3")
    spec = parse_spec(
        {
            "name": "x",
            "model": {"path": str(folder)},
            "method": "lora",
            "dataset": {"path": str(tmp_path / "d.txt")},
            "train": {"max_steps": 2},
        }  # fmt: skip
    )
    model, _ = _load("phi-3", tmp_path / "again")
    with caplog.at_level(logging.INFO, logger="trainer_runtime.worker.models"):
        wrapped = wrap_lora(model, spec)
    assert sum(p.numel() for p in wrapped.parameters() if p.requires_grad) > 0
    assert any("every linear layer of its attention and MLP blocks" in r.getMessage() for r in caplog.records)


def test_builtin_gpt2_keeps_c_attn():
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=2, n_embd=32, vocab_size=64))
    assert resolve_targets(model, None) == (["c_attn"], None)
    assert candidate_names(model) == ["c_attn", "c_proj", "c_fc"]
