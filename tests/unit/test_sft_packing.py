"""Packing: best-fit decreasing is deterministic, and a packed row's logits for each example equal the
example run alone (no cross-example attention), with eager and SDPA attention (issue 13, "Packing")."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from trainer_runtime.sft.packing import best_fit_decreasing, collate, packed_batch, padded_batch
from trainer_runtime.sft.render import IGNORE, Encoded


def _item(ids: list[int]) -> Encoded:
    return Encoded(
        input_ids=ids,
        labels=[IGNORE] * 2 + ids[2:],
        where="t",
        truncated=False,
        length_before_truncation=len(ids),
    )


def test_best_fit_decreasing_fills_the_fullest_fitting_bin_and_is_deterministic():
    lengths = [5, 7, 3, 2, 8, 1, 4]
    bins = best_fit_decreasing(lengths, 10)
    assert bins == [[4, 3], [1, 2], [0, 6, 5]]
    assert bins == best_fit_decreasing(lengths, 10)
    assert sorted(i for b in bins for i in b) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in b) <= 10 for b in bins)
    with pytest.raises(ValueError, match="item 1 is 12 tokens, longer than the 10 a row holds"):
        best_fit_decreasing([3, 12], 10)


def test_packed_batch_layout():
    row = packed_batch([_item([5, 6, 7]), _item([8, 9])], seq_len=7, pad_id=0)
    assert row["input_ids"].tolist() == [[5, 6, 7, 8, 9, 0, 0]]
    assert row["position_ids"].tolist() == [[0, 1, 2, 0, 1, 0, 1]]
    assert row["labels"].tolist() == [[IGNORE, IGNORE, 7, IGNORE, IGNORE, IGNORE, IGNORE]]
    mask = row["attention_mask"][0, 0]
    assert (
        mask.shape == (7, 7)
        and mask[3, 2] == float("-inf")
        and mask[4, 3] == 0
        and mask[2, 3] == float("-inf")
    )
    assert not torch.isinf(mask).all(dim=-1).any()  # every row sees at least itself: no NaN softmax
    batch = collate([row, row])
    assert batch["attention_mask"].shape == (2, 1, 7, 7) and batch["input_ids"].shape == (2, 7)
    padded = padded_batch([_item([5, 6, 7]), _item([8, 9])], seq_len=7, pad_id=0)
    assert padded["input_ids"].tolist() == [[5, 6, 7], [8, 9, 0]]
    assert padded["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_packed_logits_equal_each_example_alone(attn: str):
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=64,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
    )
    cfg._attn_implementation = attn
    model = LlamaForCausalLM(cfg).eval()
    items = [_item(torch.randint(1, 64, (n,)).tolist()) for n in (9, 5, 12)]
    row = packed_batch(items, seq_len=32, pad_id=0)
    with torch.no_grad():
        packed = model(
            input_ids=row["input_ids"], attention_mask=row["attention_mask"], position_ids=row["position_ids"]
        ).logits[0]
        at = 0
        for it in items:
            alone = model(input_ids=torch.tensor([it.input_ids])).logits[0]
            k = len(it.input_ids)
            assert torch.allclose(packed[at : at + k], alone, atol=1e-5), f"example at {at}"
            at += k
        # and the check can fail: without the block mask or restarting positions, the later examples differ
        leaky = model(input_ids=row["input_ids"]).logits[0]
        assert not torch.allclose(
            leaky[9:14], model(input_ids=torch.tensor([items[1].input_ids])).logits[0], atol=1e-3
        )
