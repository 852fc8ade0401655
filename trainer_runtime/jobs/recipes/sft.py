"""The sft recipe: chat and instruction fine-tuning (``worker/sft.py``) of a full model or a LoRA
adapter on alpaca, ShareGPT, OpenAI-messages, prompt-completion or plain-text rows.

Examples are rendered with a chat template (the model's own, or one named in ``sft.template``),
the loss counts only the tokens ``sft.loss_on`` names, and short examples are packed into
``train.seq_len`` rows with attention kept inside each example. The disk checks are in
``jobs/sft_checks.py``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainer_runtime.jobs.recipes import fields as f
from trainer_runtime.jobs.recipes.registry import DatasetRule, FormField, Recipe, register

if TYPE_CHECKING:
    from trainer_runtime.jobs.spec import JobSpec

NAME = "sft"
CHAT_FORMATS = ("alpaca", "sharegpt", "messages", "prompt-completion")

FORMAT = FormField(
    "dataset.format", "Data format", "choice",
    choices=("alpaca", "sharegpt", "messages", "prompt-completion", "text"),
    help="the rows' shape; left empty, it is detected from the file",
)  # fmt: skip
TEMPLATE = FormField(
    "sft.template", "Chat template", "choice",
    choices=("chatml", "llama-3", "mistral", "gemma", "phi-3", "qwen", "alpaca"),
    help="how turns are written for the model; left empty, the model's own template",
)  # fmt: skip
LOSS_ON = FormField(
    "sft.loss_on", "Train on", "choice", default="completion", choices=("completion", "last_turn", "all"),
    help="completion: every assistant turn; last_turn: the final answer only; all: every token",
)  # fmt: skip
PACKING = FormField(
    "sft.packing", "Packing", "choice", default="true", choices=("true", "false"),
    help="pack short examples into one row (attention stays inside each); false pads each example",
)  # fmt: skip


def check_spec(spec: JobSpec) -> None:
    """A named template must exist (no disk access: the template table is plain data)."""
    from trainer_runtime.sft.templates import TEMPLATES

    name = spec.sft.template if spec.sft else None
    if name is not None and name not in TEMPLATES:
        raise ValueError(f"sft.template '{name}' does not exist: use one of {', '.join(TEMPLATES)}")


def claim(spec: JobSpec) -> str | None:
    """A spec of another recipe whose dataset is chat or instruction rows belongs here: next-token
    training on it would learn the JSON or the answers alone."""
    if spec.recipe == NAME:
        return None
    fmt = spec.dataset.format
    if fmt in CHAT_FORMATS:
        return f"dataset.format '{fmt}' is chat/instruction data: use recipe '{NAME}' to fine-tune on it"
    if spec.dataset.columns:
        return f"dataset.columns maps the fields of chat/instruction rows: use recipe '{NAME}'"
    return None


def check_inputs(spec: JobSpec) -> None:
    from trainer_runtime.jobs.sft_checks import check_sft_inputs

    check_sft_inputs(spec)


RECIPE = register(
    Recipe(
        name=NAME,
        title="Chat / instruction fine-tuning (SFT)",
        description=(
            "Fine-tune a language model, fully or as a LoRA adapter, on instruction or chat data "
            "(alpaca, ShareGPT, OpenAI messages, prompt-completion or text), rendered with its chat "
            "template and trained on the answers."
        ),
        worker="trainer_runtime.worker.sft:SFTTrainer",
        dataset=DatasetRule(
            materialize="files",
            pick="file",
            modality="chat",
            hint="a .json, .jsonl or .txt file of chat or instruction rows",
            suffixes=(".json", ".jsonl", ".txt"),
            formats=CHAT_FORMATS,
        ),  # fmt: skip
        model_sources=("builtin", "path", "hub_id"),
        builtin_models=("tiny-gpt2",),
        model_noun="a language model",
        methods=("lora", "qlora", "full"),
        scale=True,
        sections=("sft",),
        metrics=("loss", "lr", "grad_norm", "tokens_per_s", "eval_loss", "trained_tokens"),
        fields=(
            FORMAT,
            TEMPLATE,
            LOSS_ON,
            PACKING,
            f.METHOD,
            f.MAX_STEPS,
            f.BATCH_SIZE,
            f.SEQ_LEN,
            *f.TRAINING[2:],
            f.LORA_R,
            f.LORA_ALPHA,
            f.LORA_DROPOUT,
            f.DEVICES,
        ),  # fmt: skip
        check_spec=check_spec,
        claim=claim,
        check_inputs=check_inputs,
    )
)
