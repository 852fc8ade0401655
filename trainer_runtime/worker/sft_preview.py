"""The SFT preview, computed in a child process: ``python -m trainer_runtime.worker.sft_preview``
reads one request as JSON on stdin and writes one answer line on stdout.

It needs a tokenizer (transformers) and the job's own batching (torch), which the daemon never
imports (import-linter keeps the training stack out of it), so ``api/sft.py`` runs this module as
a child from its input-check threads. What it shows is what the job will do, from the same code:
examples read by ``sft.formats.read_examples``, the template from ``sft.templates.resolve`` (a
built-in model's BPE trained as ``worker/sft.py`` trains it), spans from ``sft.render``, and the
first batch from ``worker/sft_data.SFTData`` — the rows and order the job's step 1 trains on.

The request is the ``SftPreviewRequest`` body with ``dataset.path`` resolved by the daemon; the
answer is ``{"preview": <SftPreview>}`` or ``{"error": sentence, "field": spec field}``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MEASURED = 5000  # examples encoded for the histogram and the counts (the first ones)
BINS = 8  # histogram bins up to seq_len (more above it, as far as the longest example)
MAX_BINS = 48
SHOWN_TOKENS = 2048  # tokens of each first-batch row sent


class PreviewError(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def histogram(lengths: Sequence[int], seq_len: int) -> list[dict[str, int]]:
    """Bins of equal width, ``[start, end)`` in tokens, one of them ending just past ``seq_len``
    (so every bar after it counts examples that will be cut), from 1 to past the longest length;
    at most ``MAX_BINS`` bins."""
    if not lengths:
        return []
    width = max(1, -(-seq_len // BINS))
    top = max(max(lengths), seq_len)
    while -(-top // width) > MAX_BINS:
        width *= 2
    n = -(-top // width)
    counts = [0] * n
    for length in lengths:
        counts[min(max(length - 1, 0) // width, n - 1)] += 1
    return [{"start": i * width + 1, "end": (i + 1) * width + 1, "count": c} for i, c in enumerate(counts)]


def _tokenizer(model: dict[str, Any], examples: list[Any], name: str | None) -> tuple[Any, str | None]:
    """The tokenizer the job will use, and the template name it asks for (a built-in model:
    the job's default template, its BPE trained on the rendered examples as the job trains it)."""
    from transformers import AutoTokenizer

    if model.get("builtin"):
        from trainer_runtime.jobs.sft_checks import BUILTIN_TEMPLATE
        from trainer_runtime.sft.templates import TEMPLATES
        from trainer_runtime.worker.errors import WorkerError
        from trainer_runtime.worker.sft import render_text, template_tokens
        from trainer_runtime.worker.tokenizer import train_bpe

        name = name or BUILTIN_TEMPLATE
        if name not in TEMPLATES:
            raise PreviewError(
                "sft.template", f"template '{name}' does not exist: use one of {', '.join(TEMPLATES)}"
            )
        try:
            texts = [render_text(TEMPLATES[name], ex) for ex in examples]
        except WorkerError as err:
            raise PreviewError("dataset.path", str(err).removeprefix("dataset.path: ")) from None
        return train_bpe(texts, special_tokens=template_tokens(TEMPLATES[name])), name
    where = model.get("path") or model.get("hub_id")
    field = "model.path" if model.get("path") else "model.hub_id"
    if not where:
        raise PreviewError("model.source", "choose a model (built-in, folder or hub id) to preview with")
    try:
        return AutoTokenizer.from_pretrained(where, token=os.environ.get("HF_TOKEN") or None), name
    except (OSError, ValueError) as err:
        raise PreviewError(field, f"could not load a tokenizer from {where}: {err}") from None


def preview(req: dict[str, Any]) -> dict[str, Any]:
    from trainer_runtime.sft.formats import FormatError, read_examples
    from trainer_runtime.sft.render import encode, render_preview
    from trainer_runtime.sft.templates import TEMPLATES, TemplateError, resolve
    from trainer_runtime.worker.errors import WorkerError
    from trainer_runtime.worker.sft_data import SFTData, trained_count

    ds = req["dataset"]
    path = Path(ds["path"])
    data_field = (
        "dataset.columns" if ds.get("columns") else "dataset.format" if ds.get("format") else "dataset.path"
    )
    try:
        fmt, examples = read_examples(path, ds.get("format"), ds.get("columns"))
    except FormatError as err:
        raise PreviewError(data_field, f"{path.name}: {err}") from None
    except OSError as err:
        raise PreviewError("dataset.path", f"could not read {path}: {err.strerror or err}") from None
    if not examples:
        raise PreviewError("dataset.path", f"{path.name} holds no examples")
    tok, name = _tokenizer(req["model"], examples, req.get("template"))
    try:
        template, label = resolve(tok, name)
    except TemplateError as err:
        raise PreviewError("sft.template", str(err)) from None
    seq_len, loss_on = int(req["seq_len"]), req["loss_on"]
    measured = examples[:MEASURED]
    encoded = []
    try:
        shown = []
        for ex in examples[: int(req["examples"])]:
            spans = render_preview(tok, template, ex, loss_on)
            enc = encode(tok, template, ex, loss_on=loss_on, seq_len=seq_len)
            shown.append({
                "where": ex.where, "spans": [{"text": t, "trained": bool(on)} for t, on in spans],
                "tokens": len(enc.input_ids), "trained_tokens": trained_count(enc.labels),
                "truncated": enc.truncated,
            })  # fmt: skip
        for ex in measured:
            encoded.append(encode(tok, template, ex, loss_on=loss_on, seq_len=seq_len))
    except FormatError as err:  # the template's own exception, as a sentence naming the example
        raise PreviewError("sft.template", str(err)) from None
    truncated = sum(1 for e in encoded if e.truncated)
    dropped = sum(1 for e in encoded if trained_count(e.labels) == 0)
    problems = []
    if len(examples) > len(measured):
        problems.append(
            f"Lengths and counts cover the first {len(measured):,} of {len(examples):,} examples; the job "
            "reads them all."
        )
    if truncated:
        problems.append(
            f"{truncated:,} of {len(encoded):,} examples are longer than seq_len {seq_len} tokens and will be "
            "cut to it (raise train.seq_len to keep them whole)."
        )
    if dropped:
        problems.append(
            f"{dropped:,} example(s) keep no trained token after the cut to {seq_len} tokens (their prompt "
            "fills the row) and will be left out; raise train.seq_len."
        )
    batch: dict[str, Any] = {}
    try:
        data, _ = SFTData.build(
            measured, tok, template, loss_on, seq_len, float(req.get("eval_fraction", 0.1)),
            bool(req["packing"]), int(req.get("seed", 0)),
        )  # fmt: skip
        batch = data.train_batch(1, min(int(req["batch_size"]), data.n_train))
    except WorkerError as err:
        problems.append(str(err).removeprefix("dataset.path: "))
    ids = batch["input_ids"].tolist() if batch else []
    labels = batch["labels"].tolist() if batch else []
    rows = [row[:SHOWN_TOKENS] for row in ids]
    return {
        "format": fmt,
        "template_label": label,
        "templates": list(TEMPLATES),
        "examples": shown,
        "lengths_histogram": histogram([e.length_before_truncation for e in encoded], seq_len),
        "seq_len": seq_len,
        "total": len(examples),
        "measured": len(encoded),
        "truncated": truncated,
        "dropped": dropped,
        "first_batch": rows,
        "first_batch_labels": [row[:SHOWN_TOKENS] for row in labels],
        "first_batch_tokens": [[tok.decode([i]) for i in row] for row in rows],
        "problems": problems,
    }


def main() -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    req = json.loads(sys.stdin.buffer.read())
    try:
        out: dict[str, Any] = {"preview": preview(req)}
    except PreviewError as err:
        out = {"error": err.message, "field": err.field}
    sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
