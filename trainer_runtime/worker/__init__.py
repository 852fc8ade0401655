"""The training worker: ``python -m trainer_runtime.worker JOB_DIR`` (see "Worker contract" in
docs/architecture.md).

Modules: ``job`` (read the job dir, run in-process), ``causal_lm`` (the training loop), ``data``,
``tokenizer``, ``models`` (build, save ``final/``, ``load_trained``), ``checkpoint``, ``events``,
``distributed`` (torchrun/DDP), ``redaction`` (secrets out of the output), ``errors``, and
``testing`` (helpers for tests that run the worker).
"""
