"""Wizard fields shared by several recipes (data, see ``registry.FormField``).

Defaults and bounds left out here are the spec's own (``api/schema/recipes.py`` reads them from
``JobSpec``'s models), so they are written once."""

from __future__ import annotations

from trainer_runtime.jobs.recipes.registry import FormField

METHOD = FormField(
    "method", "Method", "choice", choices=("lora", "full"),
    help="lora trains a small adapter beside the frozen model; full trains every weight",
)  # fmt: skip
MAX_STEPS = FormField("train.max_steps", "Max steps", "int", default=200, help="optimizer steps to train")
BATCH_SIZE = FormField("train.batch_size", "Batch size", "int", help="samples per step")
SEQ_LEN = FormField("train.seq_len", "Sequence length", "int", help="tokens per sample")
LR = FormField("train.lr", "Learning rate", "float", help="peak learning rate (AdamW)")
SEED = FormField("train.seed", "Seed", "int", help="seeds Python, numpy and torch")
WARMUP = FormField("train.warmup_steps", "Warm-up steps", "int", help="steps of linear warm-up")
EVAL_EVERY = FormField("train.eval_every", "Evaluate every", "int", help="steps; 0 = only at the end")
CHECKPOINT_EVERY = FormField(
    "train.checkpoint_every", "Checkpoint every", "int", help="steps; 0 = at pause and end"
)
LORA_R = FormField("lora.r", "Rank (r)", "int", help="the adapter's rank")
LORA_ALPHA = FormField("lora.alpha", "Alpha", "float", help="the adapter's scale")
LORA_DROPOUT = FormField("lora.dropout", "Dropout", "float", help="dropout on the adapter's input")
DEVICES = FormField("resources.devices", "Devices", "int", help="processes (CPU) or GPUs; >1 runs DDP")

TRAINING = (MAX_STEPS, BATCH_SIZE, LR, SEED, WARMUP, EVAL_EVERY, CHECKPOINT_EVERY)
