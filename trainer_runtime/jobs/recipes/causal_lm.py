"""The causal-lm recipe: next-token training of a full model or a LoRA adapter on a text file
(``worker/causal_lm.py``). The default recipe."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainer_runtime.jobs.recipes import fields as f
from trainer_runtime.jobs.recipes.registry import DatasetRule, Recipe, register

if TYPE_CHECKING:
    from trainer_runtime.jobs.spec import JobSpec


def check_inputs(spec: JobSpec) -> None:
    from trainer_runtime.jobs.checks import check_dataset_file, check_model_folder
    from trainer_runtime.jobs.sft_checks import refuse_chat_data

    refuse_chat_data(spec)  # chat rows (in any suffix) belong to recipe sft: say so before the suffix rule
    check_dataset_file(spec.dataset.path or "", spec.dataset.text_field)
    if spec.model.path:
        check_model_folder(spec.model.path, causal_lm=True)  # a decoder, with a tokenizer that loads
        if spec.adapter and spec.lora and spec.lora.target_modules:
            from trainer_runtime.jobs.model_checks import check_lora_targets

            check_lora_targets(spec.model.path, spec.lora.target_modules)


RECIPE = register(
    Recipe(
        name="causal-lm",
        title="Causal language model",
        description="Next-token training of a language model, fully or as a LoRA adapter, on a text file.",
        worker="trainer_runtime.worker.causal_lm:CausalLMTrainer",
        dataset=DatasetRule(
            materialize="text",
            pick="file",
            modality="text",
            hint="a text dataset",
            suffixes=(".txt", ".jsonl"),
        ),  # fmt: skip
        model_sources=("builtin", "path", "hub_id"),
        builtin_models=("tiny-gpt2",),
        model_noun="a language model",
        methods=("lora", "qlora", "full"),
        scale=True,
        metrics=("loss", "lr", "grad_norm", "tokens_per_s", "eval_loss"),
        fields=(
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
        default=True,
        check_inputs=check_inputs,
    )
)
