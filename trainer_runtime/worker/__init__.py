"""The training worker: ``python -m trainer_runtime.worker JOB_DIR`` (see "Worker contract" in
docs/architecture.md).

Modules: ``job`` (read the job dir, run in-process), ``causal_lm`` (the training loop), ``data``,
``tokenizer``, ``models`` (build, save ``final/``, ``load_trained``), ``checkpoint``, ``events``,
``distributed`` (torchrun/DDP), ``redaction`` (secrets out of the output), ``allocator`` (glibc
malloc thresholds, so a step does not page-fault its tensors in again), ``errors``, and
``testing`` (helpers for tests that run the worker). The one-process supervised recipes share
``supervised`` (loop, eval, checkpoints, pause): ``graph_trainer`` (+ ``graph_data``) and
``image_classifier`` (+ ``image_models``, ``image_data``, ``small_cnn``); ``prelabel`` runs a
trained classifier or a detection model over a dataset version's images.
"""
