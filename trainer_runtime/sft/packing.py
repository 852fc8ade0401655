"""Short examples packed into ``seq_len`` rows without attending across each other, or plain padding.

Packing several chat examples into one row wastes no compute on padding, but only if no token can
see another example: each example's position ids restart at 0 and the row carries a 4D additive
mask, causal inside each example and -inf across. transformers passes a 4D mask to the attention
as given (``masking_utils._preprocess_mask_arguments`` returns it unchanged) for the eager and
SDPA kernels alike; tests check a packed row's logits against each example run alone.

Bins are filled by best-fit decreasing: longest example first, each into the fullest row it still
fits in. That needs at most 11/9 of the fewest possible rows (plus one), and with ties broken by index it is the same every run,
so resumed jobs see the same batches.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import torch

from trainer_runtime.sft.render import IGNORE, Encoded


def best_fit_decreasing(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Bins of indices into ``lengths``, each summing to at most ``capacity``; deterministic."""
    if capacity <= 0:
        raise ValueError(f"capacity must be positive, got {capacity}.")
    too_long = [i for i, n in enumerate(lengths) if n > capacity]
    if too_long:
        raise ValueError(
            f"item {too_long[0]} is {lengths[too_long[0]]} tokens, longer than the {capacity} a row holds; "
            "truncate examples to seq_len before packing."
        )
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    bins: list[list[int]] = []
    free: list[tuple[int, int]] = []  # (space left, bin index), sorted: the fullest fitting bin comes first
    for i in order:
        n = lengths[i]
        at = bisect.bisect_left(free, (n, -1))
        if at < len(free):
            left, b = free.pop(at)
        else:
            left, b = capacity, len(bins)
            bins.append([])
        bins[b].append(i)
        bisect.insort(free, (left - n, b))
    return bins


def packed_batch(
    items: Sequence[Encoded], seq_len: int, pad_id: int, *, dtype: torch.dtype = torch.float32
) -> dict[str, torch.Tensor]:
    """One row of ``seq_len`` tokens holding ``items`` in order, each attending only to itself.

    ``dtype`` is the attention mask's: it must match the model's for SDPA (pass ``model.dtype``).
    Padding at the end forms its own causal block, so no row of the mask is all -inf (that would
    give NaN through the softmax)."""
    total = sum(len(it.input_ids) for it in items)
    if total > seq_len:
        raise ValueError(f"the items hold {total} tokens, more than seq_len {seq_len}; pack fewer per row.")
    ids = torch.full((seq_len,), pad_id, dtype=torch.long)
    labels = torch.full((seq_len,), IGNORE, dtype=torch.long)
    positions = torch.zeros(seq_len, dtype=torch.long)
    segment = torch.full((seq_len,), len(items), dtype=torch.long)
    at = 0
    for n, it in enumerate(items):
        k = len(it.input_ids)
        ids[at : at + k] = torch.tensor(it.input_ids, dtype=torch.long)
        labels[at : at + k] = torch.tensor(it.labels, dtype=torch.long)
        labels[at] = IGNORE  # no target across the boundary: the previous example does not predict this one
        positions[at : at + k] = torch.arange(k)
        segment[at : at + k] = n
        at += k
    positions[at:] = torch.arange(seq_len - at)
    same = segment[:, None] == segment[None, :]
    causal = torch.ones(seq_len, seq_len, dtype=torch.bool).tril()
    mask = torch.zeros(seq_len, seq_len, dtype=dtype).masked_fill(~(same & causal), float("-inf"))
    return {
        "input_ids": ids[None],
        "labels": labels[None],
        "position_ids": positions[None],
        "attention_mask": mask[None, None],
    }


def collate(rows: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Rows of ``packed_batch`` (or any dicts of (1, ...) tensors) stacked into one batch (B, ...)."""
    if not rows:
        raise ValueError("collate needs at least one row.")
    return {key: torch.cat([row[key] for row in rows], dim=0) for key in rows[0]}


def padded_batch(items: Sequence[Encoded], seq_len: int, pad_id: int) -> dict[str, torch.Tensor]:
    """One row per item, right-padded to the longest (at most ``seq_len``), with a 0/1 attention mask."""
    if not items:
        raise ValueError("padded_batch needs at least one item.")
    longest = max(len(it.input_ids) for it in items)
    if longest > seq_len:
        raise ValueError(f"an item holds {longest} tokens, more than seq_len {seq_len}; truncate it first.")
    ids = torch.full((len(items), longest), pad_id, dtype=torch.long)
    labels = torch.full((len(items), longest), IGNORE, dtype=torch.long)
    attention = torch.zeros((len(items), longest), dtype=torch.long)
    for row, it in enumerate(items):
        k = len(it.input_ids)
        ids[row, :k] = torch.tensor(it.input_ids, dtype=torch.long)
        labels[row, :k] = torch.tensor(it.labels, dtype=torch.long)
        attention[row, :k] = 1
    positions = torch.arange(longest, dtype=torch.long).expand(len(items), -1).clone()
    return {"input_ids": ids, "labels": labels, "attention_mask": attention, "position_ids": positions}
