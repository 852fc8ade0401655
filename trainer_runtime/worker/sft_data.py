"""SFT examples → encoded (masked) token rows → batches, with the data position derived from the step.

Every example is rendered with the job's chat template and encoded with its loss mask
(``sft/render.encode``), truncated to ``train.seq_len`` (counted, never silent). A fixed, evenly
spread set of examples is held out for evaluation.

The unit of training is a *row*: with packing, one bin of examples from best-fit decreasing over
their lengths (``sft/packing.best_fit_decreasing``, a deterministic function of the lengths),
attention kept inside each example; without, one example, right-padded. Rows are read as
``worker/data.py`` reads blocks: one permutation per epoch from a generator seeded with (seed,
epoch), step ``s`` takes stream positions ``[(s-1)*B, s*B)``, so the batch of any step is known
from the step alone (exact resume), and under DDP each rank takes its contiguous share.

The loss of a step is summed over the trained tokens of the whole global batch and divided by
their count, which every rank knows from the step (``trained_tokens``) without a collective.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from trainer_runtime.worker.data import split_indices
from trainer_runtime.worker.errors import WorkerError

log = logging.getLogger(__name__)

IGNORE = -100


def trained_count(labels: Sequence[int]) -> int:
    """Targets an encoded example adds to the loss: labels[i] is the target of position i - 1
    (HF's convention, the loss shifts), so labels[0] is never one."""
    return sum(1 for label in labels[1:] if label != IGNORE)


@dataclass(frozen=True)
class DataReport:
    """What encoding did to the examples (logged, and in the ``started`` event)."""

    examples: int
    train_examples: int
    eval_examples: int
    truncated: int  # longer than train.seq_len: cut
    dropped: int  # no trained token left after the cut
    truncated_where: tuple[str, ...]  # the first few, for the log
    rows: int  # training rows (packed bins, or examples)
    shortest_prompt: int


class SFTData:
    def __init__(
        self, train_items: list, eval_items: list, seq_len: int, pad_id: int, packing: bool, seed: int
    ):
        from trainer_runtime.sft.packing import best_fit_decreasing

        self.train_items = train_items
        self.eval_items = eval_items
        self.seq_len = seq_len
        self.pad_id = pad_id
        self.packing = packing
        self.seed = seed
        if packing:
            self.rows = best_fit_decreasing([len(e.input_ids) for e in train_items], seq_len)
        else:
            self.rows = [[i] for i in range(len(train_items))]
        counts = [trained_count(e.labels) for e in train_items]
        self.row_trained = torch.tensor([sum(counts[i] for i in row) for row in self.rows], dtype=torch.long)
        self.row_tokens = torch.tensor(
            [sum(len(train_items[i].input_ids) for i in row) for row in self.rows], dtype=torch.long
        )
        self.eval_rows = (
            [
                [eval_items[i] for i in row]
                for row in best_fit_decreasing([len(e.input_ids) for e in eval_items], seq_len)
            ]
            if packing
            else [[e] for e in eval_items]
        )
        self.train_idx = torch.arange(len(self.rows))
        self._perm_epoch = -1
        self._perm = self.train_idx

    @classmethod
    def build(
        cls,
        examples: list,
        tokenizer: Any,
        template: str,
        loss_on: str,
        seq_len: int,
        eval_fraction: float,
        packing: bool,
        seed: int,
    ) -> tuple[SFTData, DataReport]:
        from trainer_runtime.sft.formats import FormatError
        from trainer_runtime.sft.render import encode

        encoded, truncated, dropped = [], [], 0
        shortest = None
        for ex in examples:
            try:
                enc = encode(tokenizer, template, ex, loss_on=loss_on, seq_len=seq_len)
            except FormatError as err:
                raise WorkerError(f"dataset.path: {err}") from None
            first = next((i for i, label in enumerate(enc.labels) if label != IGNORE), None)
            if enc.truncated:
                truncated.append(enc.where)
            if first is not None and (shortest is None or first < shortest):
                shortest = first
            if trained_count(enc.labels) == 0:
                dropped += 1
                continue
            encoded.append(enc)
        if len(encoded) < 2:
            why = (
                f"every example's prompt is at least train.seq_len {seq_len} tokens long, so no answer "
                "token is left to train; raise train.seq_len"
                if examples and dropped == len(examples)
                else "add examples"
            )
            raise WorkerError(
                f"dataset.path: {len(encoded)} of {len(examples)} examples have a token to train, but one "
                f"training and one evaluation example are needed: {why}."
            )
        train_idx, eval_idx = split_indices(len(encoded), eval_fraction)
        train = [encoded[i] for i in train_idx.tolist()]
        held = [encoded[i] for i in eval_idx.tolist()]
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        data = cls(train, held, seq_len, int(pad or 0), packing, seed)
        report = DataReport(
            examples=len(examples),
            train_examples=len(train),
            eval_examples=len(held),
            truncated=len(truncated),
            dropped=dropped,
            truncated_where=tuple(truncated[:5]),
            rows=len(data.rows),
            shortest_prompt=shortest or 0,
        )
        return data, report

    # ---- rows -----------------------------------------------------------------------

    @property
    def n_train(self) -> int:
        return len(self.rows)

    @property
    def n_eval(self) -> int:
        return len(self.eval_items)

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._perm_epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = self.train_idx[torch.randperm(self.n_train, generator=g)]
            self._perm_epoch = epoch
        return self._perm

    def stream_indices(self, start: int, count: int) -> torch.Tensor:
        """Row indices at stream positions ``[start, start + count)``."""
        out = []
        pos, end = start, start + count
        while pos < end:
            epoch, offset = divmod(pos, self.n_train)
            take = min(end - pos, self.n_train - offset)
            out.append(self._permutation(epoch)[offset : offset + take])
            pos += take
        return torch.cat(out) if out else torch.empty(0, dtype=torch.long)

    def batch_of(self, items_per_row: list[list]) -> dict[str, torch.Tensor]:
        from trainer_runtime.sft.packing import collate, packed_batch, padded_batch

        if self.packing:
            return collate([packed_batch(items, self.seq_len, self.pad_id) for items in items_per_row])
        return padded_batch([items[0] for items in items_per_row], self.seq_len, self.pad_id)

    def train_batch(self, step: int, batch_size: int, shard: slice = slice(None)) -> dict[str, torch.Tensor]:
        """This rank's part of the global batch of ``step`` (1-based)."""
        rows = self.stream_indices((step - 1) * batch_size, batch_size)[shard].tolist()
        return self.batch_of([[self.train_items[i] for i in self.rows[r]] for r in rows])

    def trained_through(self, step: int, batch_size: int) -> int:
        """Trained targets of every global batch up to and including ``step``."""
        epochs, rest = divmod(self.position(step, batch_size), self.n_train)
        whole = int(self.row_trained.sum()) * epochs
        return whole + int(self.row_trained[self._permutation(epochs)[:rest]].sum())

    def trained_tokens(self, step: int, batch_size: int) -> int:
        """Trained targets in the whole global batch of ``step`` (the loss's divisor on every rank)."""
        return int(self.row_trained[self.stream_indices((step - 1) * batch_size, batch_size)].sum())

    def tokens(self, step: int, batch_size: int) -> int:
        """Real (not padding) tokens in the global batch of ``step``."""
        return int(self.row_tokens[self.stream_indices((step - 1) * batch_size, batch_size)].sum())

    def eval_batches(
        self, batch_size: int, max_batches: int, shard_fn=None
    ) -> Iterator[dict[str, torch.Tensor]]:
        """Up to ``max_batches`` batches of held-out examples, in order, packed or padded as in
        training; ``shard_fn(n)`` gives this rank's slice."""
        rows = self.eval_rows
        for start in range(0, min(len(rows), batch_size * max_batches), batch_size):
            part = rows[start : start + batch_size]
            if shard_fn is not None:
                part = part[shard_fn(len(part))]
            if part:
                yield self.batch_of(part)
            else:
                yield {"input_ids": torch.empty(0, dtype=torch.long)}

    @staticmethod
    def position(step: int, batch_size: int) -> int:
        """Training rows consumed after ``step`` steps."""
        return step * batch_size

    def epoch(self, step: int, batch_size: int) -> int:
        return self.position(step, batch_size) // self.n_train
