"""Models of the causal-lm recipe: build (from seed, folder or hub), wrap for LoRA, save, reload.

Reproducible bases. ``builtin: tiny-gpt2`` is built from a ``GPT2Config`` right after
``torch.manual_seed(train.seed)``, so the same seed gives the same initial weights in every
process. A LoRA job on a built-in base also saves that base once, to ``JOB_DIR/base/``, on its
fresh start: a resume loads it from there, and ``final/base/`` gets a copy, so a finished
adapter can be reloaded without rebuilding anything (``load_trained``). LoRA on a ``path`` or
``hub_id`` model refers to that model instead of copying it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel

from trainer_runtime.jobs.spec import JobSpec, parse_spec
from trainer_runtime.worker.errors import WorkerError
from trainer_runtime.worker.lora_targets import candidate_names, resolve_targets
from trainer_runtime.worker.supervised import count_params as count_params  # re-exported

log = logging.getLogger(__name__)

TINY_GPT2: dict[str, Any] = {"n_layer": 2, "n_head": 2, "n_embd": 64}
MIN_POSITIONS = 128
BASE_DIR = "base"  # JOB_DIR/base and final/base: the built-in base of a LoRA job


def builtin_config(spec: JobSpec, tokenizer) -> GPT2Config:
    eos = tokenizer.eos_token_id
    return GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=max(spec.train.seq_len + 1, MIN_POSITIONS),  # +1: a whole block fits too
        bos_token_id=eos,
        eos_token_id=eos,
        pad_token_id=eos,
        **TINY_GPT2,
    )


def _hub_token() -> str | None:
    return os.environ.get("HF_TOKEN") or None


def load_base(spec: JobSpec, tokenizer, job_dir: Path | None = None):
    """The base model, before any LoRA wrapping, in float32 on the CPU, in train mode."""
    torch.manual_seed(spec.train.seed)
    saved = job_dir / BASE_DIR if job_dir is not None else None
    model: Any
    if spec.model.builtin:
        if saved is not None and (saved / "config.json").is_file():
            model = AutoModelForCausalLM.from_pretrained(saved, dtype=torch.float32)
        else:
            model = GPT2LMHeadModel(builtin_config(spec, tokenizer))
    else:
        source = spec.model.path or spec.model.hub_id or ""
        kwargs = {"token": _hub_token()} if spec.model.hub_id else {}
        try:
            model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32, **kwargs)
        except (OSError, ValueError) as err:
            field = "model.path" if spec.model.path else "model.hub_id"
            raise WorkerError(
                f"{field}: could not load a causal language model from {source}: {err}"
            ) from err
        _check_fits(model, spec, tokenizer)
    model.train()
    return model


def _check_fits(model, spec: JobSpec, tokenizer) -> None:
    cfg = model.config
    limit = getattr(cfg, "n_positions", None) or getattr(cfg, "max_position_embeddings", None)
    if limit and spec.train.seq_len > limit:
        raise WorkerError(
            f"train.seq_len {spec.train.seq_len} is longer than the model's {limit} positions: "
            f"lower train.seq_len to {limit} or less."
        )
    emb = model.get_input_embeddings()
    if emb is not None and len(tokenizer) > emb.num_embeddings:
        log.info(
            "the tokenizer has %d tokens and the model's embeddings %d rows: the embeddings are resized "
            "(the new rows are trained from scratch)", len(tokenizer), emb.num_embeddings,
        )  # fmt: skip
        model.resize_token_embeddings(len(tokenizer))


def lora_targets(spec: JobSpec, model) -> list[str]:
    """The modules LoRA wraps (``worker/lora_targets.py``): the spec's names, each checked against
    the model, else peft's table, else every linear layer of the attention and MLP blocks (logged)."""
    given = list(spec.lora.target_modules) if spec.lora and spec.lora.target_modules else None
    names, note = resolve_targets(model, given)
    if note:
        log.info("%s", note)
    return names


@contextlib.contextmanager
def _quiet_peft():
    """peft calls a transformers API that v5 deprecates; the warning means nothing to a user."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def wrap_lora(model, spec: JobSpec):
    from peft import LoraConfig, TaskType, get_peft_model

    assert spec.lora is not None
    alpha: Any = spec.lora.alpha
    config = LoraConfig(
        task_type=TaskType.CAUSAL_LM,
        r=spec.lora.r,
        lora_alpha=int(alpha) if float(alpha).is_integer() else alpha,
        lora_dropout=spec.lora.dropout,
        target_modules=lora_targets(spec, model),
        fan_in_fan_out=getattr(model.config, "model_type", "") == "gpt2",
    )
    try:
        with _quiet_peft():
            return get_peft_model(model, config)
    except ValueError as err:
        raise WorkerError(
            f"lora: could not attach LoRA to the layers {', '.join(config.target_modules or [])} of this "
            f"model ({err}). Set lora.target_modules to some of: {', '.join(candidate_names(model))}."
        ) from err


def build_model(spec: JobSpec, tokenizer, job_dir: Path, fresh: bool, save_base: bool = True):
    """Base (seeded) + the method's wrapping. A LoRA job on a built-in base saves the base once."""
    model = load_base(spec, tokenizer, None if fresh else job_dir)
    if spec.adapter:
        if spec.model.builtin and save_base and not (job_dir / BASE_DIR / "config.json").is_file():
            save_atomically(model.save_pretrained, job_dir / BASE_DIR)
        model = wrap_lora(model, spec)
    model.train()
    return model


def save_atomically(save_fn, target: Path) -> None:
    """Call ``save_fn(tmp_dir)`` then rename the folder into place."""
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        save_fn(tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def save_final(model, tokenizer, spec: JobSpec, job_dir: Path) -> dict:
    """Write ``final/`` (adapter or whole model, plus tokenizer); return the artifact description."""
    target = job_dir / "final"

    def write(tmp: Path) -> None:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        base = job_dir / BASE_DIR
        if spec.adapter and spec.model.builtin and base.is_dir():
            shutil.copytree(base, tmp / BASE_DIR)

    try:
        save_atomically(write, target)
    except OSError as err:
        raise WorkerError(
            f"could not write the final model to {target}: {err.strerror or err}. "
            "The last checkpoint is intact; free some space and resume the job."
        ) from err
    return {"kind": "adapter" if spec.adapter else "model", "path": "final"}


def load_trained(job_dir: str | Path, device: str | torch.device = "cpu"):
    """Reload a finished job's ``final/``: returns ``(model, tokenizer)`` in eval mode."""
    job_dir = Path(job_dir)
    spec = parse_spec(json.loads((job_dir / "spec.json").read_text(encoding="utf-8")))
    final = job_dir / "final"
    if not (final / "tokenizer_config.json").is_file():
        raise WorkerError(f"{job_dir} has no finished model: final/ is missing or incomplete")
    tokenizer = AutoTokenizer.from_pretrained(final)
    model: Any
    if spec.method == "full":
        model = AutoModelForCausalLM.from_pretrained(final, dtype=torch.float32)
    else:
        from peft import PeftModel

        if (final / BASE_DIR / "config.json").is_file():
            base = AutoModelForCausalLM.from_pretrained(final / BASE_DIR, dtype=torch.float32)
        else:  # the path/hub model, or a built-in base rebuilt from the seed
            base = load_base(spec, tokenizer)
        with _quiet_peft():
            model = PeftModel.from_pretrained(base, final)
    model.to(device)
    model.eval()
    return model, tokenizer
