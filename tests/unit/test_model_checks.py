"""Submit-time checks of a local model folder for causal-LM / SFT training (jobs/model_checks.py),
on the real configs and tokenizers of tests/data/models/."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.models import DATA, FAMILIES
from trainer_runtime.jobs import model_checks
from trainer_runtime.jobs.checks import check_model_folder
from trainer_runtime.jobs.model_checks import check_causal_lm_folder, check_lora_targets
from trainer_runtime.jobs.spec import SpecError

ROOT = Path(__file__).resolve().parents[2]


def _folder(tmp_path: Path, family: str, *files: str) -> Path:
    """A copy of the family's data folder holding only config.json and ``files``."""
    out = tmp_path / family
    out.mkdir()
    for name in ("config.json", *files):
        shutil.copy(DATA / family / name, out / name)
    return out


def _message(err: pytest.ExceptionInfo[SpecError], field: str = "model.path") -> str:
    problems = dict(err.value.problems)
    assert list(problems) == [field], err.value.problems
    return problems[field]


@pytest.mark.parametrize("family", FAMILIES)
def test_every_decoder_family_with_its_tokenizer_is_accepted(family: str):
    check_causal_lm_folder(str(DATA / family))
    assert check_model_folder(DATA / family, causal_lm=True)["model_type"]


def test_a_bert_folder_is_refused_with_the_reason(tmp_path: Path):
    bert = _folder(tmp_path, "bert", "vocab.txt", "tokenizer_config.json")
    with pytest.raises(SpecError) as err:
        check_causal_lm_folder(bert)
    msg = _message(err)
    assert "BERT question-answering model" in msg  # the real config is BertForQuestionAnswering
    assert "bidirectional attention" in msg and "need a decoder model such as Llama" in msg
    config = json.loads((bert / "config.json").read_text())
    config["architectures"] = ["BertForMaskedLM"]
    (bert / "config.json").write_text(json.dumps(config))
    with pytest.raises(SpecError, match="holds a BERT masked-language model"):
        check_causal_lm_folder(bert)
    assert check_model_folder(bert)["model_type"] == "bert"  # other recipes still read encoder folders


def test_a_bert_decoder_and_remote_code_causal_models_are_not_refused(tmp_path: Path):
    folder = _folder(tmp_path, "bert", "vocab.txt")
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(
        json.dumps({**cfg, "is_decoder": True, "architectures": ["BertLMHeadModel"]})
    )
    check_causal_lm_folder(folder)
    other = _folder(tmp_path, "phi-3", "tokenizer.json")
    cfg = json.loads((other / "config.json").read_text())
    cfg.update(model_type="phi3small", architectures=["Phi3SmallForCausalLM"])
    (other / "config.json").write_text(json.dumps(cfg))
    check_causal_lm_folder(other)


def test_encoder_decoders_and_other_heads_are_refused(tmp_path: Path):
    folder = tmp_path / "t5"
    folder.mkdir()
    shutil.copy(DATA / "qwen2.5" / "vocab.json", folder / "vocab.json")
    shutil.copy(DATA / "qwen2.5" / "merges.txt", folder / "merges.txt")
    (folder / "config.json").write_text(
        json.dumps(
            {"model_type": "t5", "architectures": ["T5ForConditionalGeneration"], "is_encoder_decoder": True}
        )
    )
    with pytest.raises(SpecError, match="encoder-decoder .sequence-to-sequence. model"):
        check_causal_lm_folder(folder)
    (folder / "config.json").write_text(
        json.dumps({"model_type": "vit", "architectures": ["ViTForImageClassification"]})
    )
    with pytest.raises(SpecError, match="holds a ViTForImageClassification .model_type 'vit'., not a causal"):
        check_causal_lm_folder(folder)


def test_a_weights_only_folder_is_refused_naming_the_files_looked_for(tmp_path: Path):
    folder = _folder(tmp_path, "llama-3")
    (folder / "model.safetensors").write_bytes(b"\0" * 16)
    with pytest.raises(SpecError) as err:
        check_causal_lm_folder(folder)
    msg = _message(err)
    assert "has no tokenizer" in msg
    for name in ("tokenizer.json", "tokenizer.model", "vocab.json + merges.txt", "vocab.txt"):
        assert name in msg
    assert "config.json, model.safetensors" in msg and "copied beside config.json" in msg


def test_a_sentencepiece_model_alone_needs_sentencepiece(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = _folder(tmp_path, "mistral", "tokenizer_config.json")
    (folder / "tokenizer.model").write_bytes(b"\n\x0e\n\x05<unk>\x15\x00\x00\x00\x00\x18\x02")  # protobuf
    monkeypatch.setattr(model_checks, "_missing", lambda package: package == "sentencepiece")
    with pytest.raises(SpecError) as err:
        check_causal_lm_folder(folder)
    msg = _message(err)
    assert "only tokenizer.model (a sentencepiece model)" in msg and "pip install sentencepiece" in msg
    monkeypatch.setattr(model_checks, "_missing", lambda package: False)
    check_causal_lm_folder(folder)  # with the package installed it loads


def test_a_tiktoken_file_needs_tiktoken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = _folder(tmp_path, "llama-3", "tokenizer_config.json")
    (folder / "tokenizer.model").write_text("IQ== 0\nIg== 1\nIw== 2\n")  # Meta's Llama-3 format
    monkeypatch.setattr(model_checks, "_missing", lambda package: package == "tiktoken")
    with pytest.raises(SpecError, match=r"tokenizer.model \(a tiktoken BPE file\).*pip install tiktoken"):
        check_causal_lm_folder(folder)
    (folder / "tokenizer.model").unlink()
    (folder / "cl100k_base.tiktoken").write_text("IQ== 0\n")
    with pytest.raises(SpecError, match=r"only cl100k_base.tiktoken .*pip install tiktoken"):
        check_causal_lm_folder(folder)


def test_a_broken_tokenizer_json_is_refused(tmp_path: Path):
    folder = _folder(tmp_path, "phi-3")
    (folder / "tokenizer.json").write_text('{"version": "1.0", "model": ')
    with pytest.raises(SpecError, match="tokenizer.json is not valid JSON"):
        check_causal_lm_folder(folder)


def test_the_check_imports_no_torch_and_is_fast():
    code = (
        "import sys, time; t = time.perf_counter(); from trainer_runtime.jobs.model_checks import "
        f"check_causal_lm_folder as c; c({str(DATA / 'llama-3')!r}); c({str(DATA / 'gemma-2')!r}); "
        "print(time.perf_counter() - t, 'torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    seconds, torch, transformers = out.stdout.split()
    assert (torch, transformers) == ("False", "False") and float(seconds) < 1.0, out.stdout


def test_lora_target_names_are_checked_against_the_folders_model(tmp_path: Path):
    phi3 = _folder(tmp_path, "phi-3", "tokenizer.json")  # config only: the model is built on meta
    started = time.monotonic()
    with pytest.raises(SpecError) as err:
        check_lora_targets(phi3, ["q_proj", "v_proj"])
    msg = _message(err, "lora.target_modules")
    assert "'q_proj' matches no layer of this phi3 model" in msg
    listed = msg.split("blocks are: ", 1)[1].split(";", 1)[0].split(", ")
    assert sorted(listed) == ["down_proj", "gate_up_proj", "o_proj", "qkv_proj"]
    check_lora_targets(phi3, ["qkv_proj", "down_proj"])
    assert time.monotonic() - started < 60
