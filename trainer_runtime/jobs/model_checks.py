"""A local model folder for causal-LM or SFT training, checked at submit from its files alone.

The daemon runs these on its input-check thread and never imports torch or transformers, so the
judgement is made from ``config.json`` (json) and the names of the files beside it:

- a bidirectional encoder (BERT, RoBERTa, DeBERTa, ELECTRA, ...) or an encoder-decoder (T5, BART,
  ...) is refused with the reason: trained as a causal LM it would see the tokens it must predict;
- a folder without a tokenizer a job can load (tokenizer.json, a sentencepiece or tiktoken
  tokenizer.model, vocab.json + merges.txt, vocab.txt, *.tiktoken) is refused naming the files
  looked for; a tokenizer that needs a package this environment lacks (sentencepiece, tiktoken)
  is refused naming the package;
- ``lora.target_modules`` are checked against the model's layers in a child process
  (``worker/lora_targets.py``, the model built on the meta device from config.json: a few
  seconds, once per submit, only when the spec names targets).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trainer_runtime.jobs.spec import SpecError
from trainer_runtime.userfiles import UserFileError, display, read_bytes

log = logging.getLogger(__name__)
WHERE = "model.path"
DECODERS = "a decoder model such as Llama, Qwen, Mistral, Gemma, Phi or GPT-2"
TARGETS_TIMEOUT_S = 120.0
MAX_TOKENIZER_JSON = 64 << 20  # the largest real tokenizer.json files are ~35 MB (Gemma 3)

# Encoder families (bidirectional self-attention), by model_type, with the name users know them by.
ENCODERS = {
    "bert": "BERT", "roberta": "RoBERTa", "xlm-roberta": "XLM-RoBERTa", "xlm-roberta-xl": "XLM-RoBERTa-XL",
    "deberta": "DeBERTa", "deberta-v2": "DeBERTa-v2", "distilbert": "DistilBERT", "albert": "ALBERT",
    "electra": "ELECTRA", "camembert": "CamemBERT", "mpnet": "MPNet", "ernie": "ERNIE",
    "modernbert": "ModernBERT", "roformer": "RoFormer", "convbert": "ConvBERT", "funnel": "Funnel",
    "layoutlm": "LayoutLM", "megatron-bert": "Megatron-BERT", "mobilebert": "MobileBERT",
    "nezha": "NEZHA", "squeezebert": "SqueezeBERT", "xlm": "XLM", "flaubert": "FlauBERT",
    "canine": "CANINE", "longformer": "Longformer", "big_bird": "BigBird", "nomic_bert": "Nomic BERT",
    "jina_bert": "Jina BERT", "esm": "ESM", "data2vec-text": "Data2Vec-Text", "luke": "LUKE",
}  # fmt: skip
HEADS = {  # architecture suffix → what the head makes of an encoder
    "ForMaskedLM": "masked-language model", "ForPreTraining": "pre-training (masked-language) model",
    "ForSequenceClassification": "text classifier", "ForTokenClassification": "token classifier",
    "ForQuestionAnswering": "question-answering model", "ForMultipleChoice": "multiple-choice model",
    "Model": "encoder",
}  # fmt: skip
# Tokenizer files, in the order a job prefers them.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json + merges.txt", "vocab.txt", "*.tiktoken")
SPM_NAMES = ("tokenizer.model", "spiece.model", "sentencepiece.bpe.model", "sentencepiece.model")


def _what(arch: str, family: str) -> str:
    for suffix, noun in HEADS.items():
        if arch.endswith(suffix):
            return f"a {family} {noun}"
    return f"a {family} encoder"


def _refuse(sentence: str) -> SpecError:
    return SpecError([(WHERE, sentence)])


def check_decoder(path: Path, config: dict[str, Any]) -> None:
    """Refuse an encoder or encoder-decoder config, with the reason."""
    mt = str(config.get("model_type", ""))
    archs = [a for a in config.get("architectures") or [] if isinstance(a, str)]
    arch = archs[0] if archs else ""
    causal_arch = any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs)
    remote_causal = "AutoModelForCausalLM" in (config.get("auto_map") or {})
    if config.get("is_encoder_decoder") or mt in ("t5", "mt5", "umt5", "bart", "mbart", "marian", "pegasus"):
        raise _refuse(
            f"{display(path)} holds an encoder-decoder (sequence-to-sequence) model ({arch or mt}): its decoder "
            f"only works with its encoder's output. Causal-LM and SFT training need {DECODERS}."
        )
    if mt in ENCODERS and not (config.get("is_decoder") and causal_arch):
        raise _refuse(
            f"{display(path)} holds {_what(arch, ENCODERS[mt])} ({arch or mt}, bidirectional attention): every "
            "token sees the tokens after it, so it cannot learn to predict the next one. Causal-LM and SFT "
            f"training need {DECODERS}."
        )
    if (
        archs
        and not causal_arch
        and not remote_causal
        and not any("ForConditionalGeneration" in a for a in archs)
    ):
        raise _refuse(
            f"{display(path)} holds a {arch} (model_type '{mt}'), not a causal language model (an "
            f"architecture ending in ForCausalLM). Causal-LM and SFT training need {DECODERS}."
        )


def _is_tiktoken_text(path: Path) -> bool:
    """Meta's Llama-3 tokenizer.model is tiktoken text ("<base64> <rank>" lines), not sentencepiece."""
    try:
        with path.open("rb") as fh:
            head = fh.read(256)
    except OSError:
        return False
    first = head.split(b"\n", 1)[0].split(b" ")
    return len(first) == 2 and first[1].strip().isdigit()


def _missing(package: str) -> bool:
    return importlib.util.find_spec(package) is None


def _package_sentence(path: Path, file: str, kind: str, package: str) -> str:
    return (
        f"{display(path)} has no tokenizer.json, only {file} ({kind}), and reading it needs the {package} "
        f"package, which is not installed: pip install {package} (or put the model's tokenizer.json beside it)."
    )


def check_tokenizer_files(path: Path) -> None:
    """A tokenizer a job can load is in the folder, and the packages its files need are installed."""
    names = {p.name for p in path.iterdir()} if path.is_dir() else set()
    if "tokenizer.json" in names:
        _check_tokenizer_json(path / "tokenizer.json")
        return
    if "vocab.json" in names and "merges.txt" in names:
        return
    tiktoken_files = sorted(n for n in names if n.endswith(".tiktoken"))
    for name in SPM_NAMES:
        if name in names:
            if _is_tiktoken_text(path / name):
                if _missing("tiktoken"):
                    raise _refuse(_package_sentence(path, name, "a tiktoken BPE file", "tiktoken"))
            elif _missing("sentencepiece"):
                raise _refuse(_package_sentence(path, name, "a sentencepiece model", "sentencepiece"))
            return
    if tiktoken_files:
        if _missing("tiktoken"):
            raise _refuse(_package_sentence(path, tiktoken_files[0], "a tiktoken BPE file", "tiktoken"))
        return
    if "vocab.txt" in names:
        return
    raise _refuse(
        f"{display(path)} has no tokenizer: none of {', '.join(TOKENIZER_FILES)} is there (found "
        f"{', '.join(sorted(names)) or 'no files'}). A weights-only folder needs the tokenizer files of the "
        "model it came from copied beside config.json."
    )


def _check_tokenizer_json(file: Path) -> None:
    try:
        raw = read_bytes(file, "tokenizer.json", MAX_TOKENIZER_JSON)
        data = json.loads(raw.decode("utf-8"))
    except UserFileError as err:
        raise _refuse(err.message) from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        why = "nested too deeply" if isinstance(err, RecursionError) else err
        raise _refuse(f"{display(file)} is not valid JSON ({why}), so the tokenizer cannot load") from None
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise _refuse(f"{display(file)} has no tokenizer model section, so it is not a tokenizers file")


def check_causal_lm_folder(path: str | Path, *, config: dict[str, Any] | None = None) -> None:
    """A local folder a causal-LM or SFT job can train: a decoder config and a loadable tokenizer.
    ``config`` is config.json's content when the caller has read it already."""
    p = Path(path)
    if config is None:
        from trainer_runtime.jobs.checks import check_model_folder

        config = check_model_folder(p)
    check_decoder(p, config)
    check_tokenizer_files(p)


def check_lora_targets(path: str | Path, names: Sequence[str], timeout: float = TARGETS_TIMEOUT_S) -> None:
    """Each name in ``lora.target_modules`` matches a linear layer of the folder's model; else the
    refusal lists the candidates. Judged by ``worker/lora_targets.py`` in a child process."""
    if os.environ.get("SPARKTRAINER_JOB_ID"):  # a worker at start: it resolves them when it attaches LoRA
        return
    cmd = [sys.executable, "-m", "trainer_runtime.worker.lora_targets", str(path), *names]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        log.warning(
            "the LoRA target check of %s took over %.0f s; the worker checks them at start", path, timeout
        )
        return
    lines = proc.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        problem = json.loads(lines[-1])["problem"]
    except (IndexError, KeyError, json.JSONDecodeError, TypeError):
        log.warning(
            "the LoRA target check of %s gave no answer (exit %s); the worker checks them at start: %s",
            path, proc.returncode, proc.stderr.decode("utf-8", "replace")[-2000:],
        )  # fmt: skip
        return
    if problem:
        raise SpecError([("lora.target_modules", str(problem))])
