"""Model folders a causal-LM job cannot train are refused at submit, through the real daemon and CLI;
a Phi-3 folder with no LoRA targets trains (every linear layer of its blocks, said in the log)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import cli
from tests.models import tiny_model_folder

pytestmark = pytest.mark.e2e


def test_bert_weights_only_and_wrong_targets_are_refused_at_submit(daemon, spec_file, tmp_path: Path):
    bert = tiny_model_folder("bert", tmp_path / "bert")
    out = cli("jobs", "submit", str(spec_file("b.yaml", model={"path": str(bert)})))
    assert out.returncode == 2, out.stdout + out.stderr
    assert "model.path:" in out.stderr and "holds a BERT masked-language model" in out.stderr
    assert "bidirectional attention" in out.stderr and "need a decoder model" in out.stderr

    bare = tiny_model_folder("llama-3", tmp_path / "weights-only", tokenizer=False)
    out = cli("jobs", "submit", str(spec_file("w.yaml", model={"path": str(bare)})))
    assert out.returncode == 2 and "has no tokenizer" in out.stderr and "tokenizer.json" in out.stderr

    phi3 = tiny_model_folder("phi-3", tmp_path / "phi3")
    spec = spec_file("t.yaml", model={"path": str(phi3)}, lora={"target_modules": ["q_proj", "v_proj"]})
    out = cli("jobs", "submit", str(spec))
    assert out.returncode == 2 and "lora.target_modules: 'q_proj' matches no layer" in out.stderr
    assert all(name in out.stderr for name in ("qkv_proj", "o_proj", "gate_up_proj", "down_proj"))
    assert daemon.jobs() == []  # nothing was queued


def test_phi3_lora_without_targets_trains(daemon, spec_file, tmp_path: Path):
    phi3 = tiny_model_folder("phi-3", tmp_path / "phi3")
    spec = spec_file(
        "p.yaml", name="phi3-lora", model={"path": str(phi3)}, train={"max_steps": 6, "eval_every": 3}
    )
    job_id = cli("jobs", "submit", str(spec), check=True).stdout.strip()
    out = cli("jobs", "wait", job_id, "--timeout", "300", "--json", timeout=330)
    log = cli("jobs", "logs", job_id).stdout
    assert out.returncode == 0, f"{out.stdout}{out.stderr}\n{log[-3000:]}"
    assert json.loads(out.stdout)["state"] == "COMPLETED"
    assert "peft has no default LoRA targets for model type 'phi3'" in log
    assert "every linear layer of its attention and MLP blocks" in log
