"""``sparktrainer datasets preview NAME|PATH --model ...``: what an SFT job would train on.

The daemon computes it (``POST /v1/sft/preview``); this prints a few examples rendered with the
template, the trained text highlighted (bold on a terminal, ``⟦…⟧`` otherwise) and the masked
text dimmed, the token-length histogram against ``--seq-len``, the truncated and dropped counts,
and the first batch as the model sees it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from trainer_runtime.api.schema.sft import PreviewDataset, PreviewModel, SftPreview, SftPreviewRequest
from trainer_runtime.cli.output import emit_json, error
from trainer_runtime.client.client import Client
from trainer_runtime.jobs import recipes

RECIPE = "sft"
BAR = 40
SHOWN_ROW_TOKENS = 48


def model_of(text: str) -> PreviewModel:
    """A folder that exists is a model folder; a built-in model's name (the sft recipe's) is
    that model; anything else is a hub id."""
    if Path(text).expanduser().is_dir():
        return PreviewModel(path=str(Path(text).expanduser().resolve()))
    if text in recipes.get(RECIPE).builtin_models:
        return PreviewModel(builtin=text)
    return PreviewModel(hub_id=text)


def columns_of(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    out = {}
    for part in text.split(","):
        ours, sep, theirs = part.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise ValueError(f"--columns: '{part}' is not OURS=THEIRS (e.g. instruction=question)")
        out[ours.strip()] = theirs.strip()
    return out


def request_of(args: argparse.Namespace) -> SftPreviewRequest:
    given = Path(args.dataset).expanduser()
    where: dict[str, object] = (
        {"path": str(given.resolve())} if given.is_file() else {"name": args.dataset, "version": args.version}
    )
    dataset = PreviewDataset.model_validate(
        {**where, "format": args.format, "columns": columns_of(args.columns)}, strict=False
    )
    return SftPreviewRequest.model_validate(
        {
            "dataset": dataset, "model": model_of(args.model), "template": args.template,
            "loss_on": args.loss_on, "seq_len": args.seq_len, "packing": not args.no_packing,
            "batch_size": args.batch_size, "examples": args.examples,
        },
        strict=False,
    )  # fmt: skip


def run(args: argparse.Namespace, client: Client) -> int:
    try:
        req = request_of(args)
    except ValidationError as err:
        error("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()))
        return 2
    except ValueError as err:
        error(str(err))
        return 2
    pv = client.sft_preview(req)
    if args.json:
        emit_json(pv)
        return 0
    print(render(pv, sys.stdout.isatty()))
    return 0


def _span(text: str, trained: bool, tty: bool) -> str:
    if tty:
        return f"\x1b[1;32m{text}\x1b[0m" if trained else f"\x1b[2m{text}\x1b[0m"
    return f"⟦{text}⟧" if trained else text


def render(pv: SftPreview, tty: bool = False) -> str:
    """The preview as text for a terminal (``tty``: ANSI bold/dim) or a file."""
    lines = [
        f"format {pv.format}, template {pv.template_label}, seq_len {pv.seq_len}: {pv.total:,} examples "
        f"({pv.truncated:,} truncated, {pv.dropped:,} dropped of {pv.measured:,} measured)",
        "trained text is " + ("bold green, the rest dimmed" if tty else "inside ⟦…⟧"),
        "",
    ]
    for ex in pv.examples:
        cut = ", truncated" if ex.truncated else ""
        lines.append(f"── {ex.where}: {ex.tokens} tokens, {ex.trained_tokens} trained{cut}")
        lines.append("".join(_span(s.text, s.trained, tty) for s in ex.spans))
        lines.append("")
    if pv.lengths_histogram:
        lines.append("example lengths (tokens):")
        top = max(b.count for b in pv.lengths_histogram) or 1
        for b in pv.lengths_histogram:
            mark = "  > seq_len" if b.start > pv.seq_len else ""
            bar = "#" * round(BAR * b.count / top)
            lines.append(f"  {b.start:>7}–{b.end - 1:<7} {b.count:>6} {bar}{mark}")
        lines.append("")
    for i, (ids, labels, toks) in enumerate(
        zip(pv.first_batch, pv.first_batch_labels, pv.first_batch_tokens, strict=False)
    ):
        trained = sum(1 for x in labels if x != -100)
        head = "".join(_span(t, lab != -100, tty) for t, lab in zip(toks, labels, strict=False))
        shown = (
            head
            if len(toks) <= SHOWN_ROW_TOKENS
            else "".join(
                _span(t, lab != -100, tty) for t, lab in zip(toks[:SHOWN_ROW_TOKENS], labels, strict=False)
            )
            + " …"
        )
        lines.append(f"first batch row {i}: {len(ids)} tokens, {trained} trained: {shown!s}")
    for p in pv.problems:
        lines.append(f"note: {p}")
    return "\n".join(lines).rstrip()


__all__ = ["columns_of", "model_of", "render", "request_of", "run"]
