"""Dataset → token blocks → batches, with the data position derived from the step.

The text is tokenized, documents are joined with the eos token, and the token stream is cut into
blocks of ``seq_len + 1`` tokens (input = block[:-1], target = block[1:]; neighbouring blocks
share one token). A fixed, evenly spread set of blocks is held out for evaluation.

Training reads an endless stream made of one permutation of the training blocks per epoch, each
drawn from a ``torch.Generator`` seeded with (seed, epoch). Step ``s`` (1-based) takes stream
positions ``[(s-1)*B, s*B)`` of the global batch size ``B``, so the batch of any step is known
from the step alone and a resumed run reads exactly what an uninterrupted one would. Under DDP
each rank takes its contiguous share of every global batch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from trainer_runtime.jobs.spec import DatasetSpec
from trainer_runtime.worker.errors import WorkerError

WHERE = "dataset.path"
TOKENIZE_BATCH = 1024  # texts per tokenizer call


def read_texts(ds: DatasetSpec) -> list[str]:
    """The dataset's documents: the whole file for .txt, one per line for .jsonl. A file of chat
    or instruction rows (whatever its suffix) is refused with the sentence that names recipe sft."""
    if ds.path is None:
        raise WorkerError(f"dataset.name: dataset '{ds.name}' was not resolved to a file by the daemon")
    p = Path(ds.path)
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise WorkerError(f"{WHERE}: could not read the dataset file {p}: {err.strerror or err}") from err
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise WorkerError(
            f"{WHERE}: dataset file is not UTF-8 text (bad byte at offset {err.start}): {p}"
        ) from None
    if "\x00" in text:
        raise WorkerError(
            f"{WHERE}: dataset file looks binary (contains NUL bytes), expected UTF-8 text: {p}"
        )
    from trainer_runtime.jobs.sft_checks import chat_data_problem

    problem = chat_data_problem(p, ds.text_field)  # chat rows would train as JSON, or one field alone
    if problem:
        raise WorkerError(f"{WHERE}: {problem}")
    if p.suffix.lower() != ".jsonl":
        texts = [text]
    else:
        texts = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise WorkerError(f"{WHERE}: line {lineno} of {p.name} is not JSON: {err.msg}") from None
            if not isinstance(row, dict) or not isinstance(row.get(ds.text_field), str):
                raise WorkerError(f"{WHERE}: line {lineno} of {p.name} has no string field '{ds.text_field}'")
            texts.append(row[ds.text_field])
    if not any(t.strip() for t in texts):
        raise WorkerError(f"{WHERE}: dataset file has no text: {p}")
    return texts


def tokenize(texts: list[str], tokenizer) -> torch.Tensor:
    """One 1-D int64 tensor: every document's tokens followed by eos (when the tokenizer has one).

    Lines (with their line ends, so the text stays intact) go to the tokenizer in large batches,
    which the fast tokenizers encode in parallel.
    """
    eos = tokenizer.eos_token_id
    parts: list[np.ndarray] = []
    lines: list[str] = []
    doc_ends: list[bool] = []  # the line is the last of its document

    def encode() -> None:
        ids = tokenizer(lines, add_special_tokens=False, verbose=False)["input_ids"]
        seq: list[int] = []
        for row, end in zip(ids, doc_ends, strict=True):
            seq.extend(row)
            if end and eos is not None:
                seq.append(eos)
        parts.append(np.asarray(seq, dtype=np.int64))
        lines.clear()
        doc_ends.clear()

    for text in texts:
        doc = text.splitlines(keepends=True) or [text]
        for i, line in enumerate(doc):
            lines.append(line)
            doc_ends.append(i == len(doc) - 1)
            if len(lines) >= TOKENIZE_BATCH:
                encode()
    if lines:
        encode()
    if not parts:
        return torch.empty(0, dtype=torch.long)
    return torch.from_numpy(np.concatenate(parts))


def make_blocks(tokens: torch.Tensor, seq_len: int) -> torch.Tensor:
    """``(n_blocks, seq_len + 1)`` view of the token stream."""
    n = (tokens.numel() - 1) // seq_len if tokens.numel() > 1 else 0
    if n == 0:
        return tokens.new_empty((0, seq_len + 1))
    return tokens[: n * seq_len + 1].unfold(0, seq_len + 1, seq_len)


def split_indices(n_blocks: int, eval_fraction: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, eval) block indices; eval blocks are spread evenly over the data."""
    n_eval = max(1, round(n_blocks * eval_fraction))
    n_eval = min(n_eval, n_blocks - 1)
    eval_idx = sorted({int((j + 0.5) * n_blocks / n_eval) for j in range(n_eval)})
    held = set(eval_idx)
    train_idx = [i for i in range(n_blocks) if i not in held]
    return torch.tensor(train_idx, dtype=torch.long), torch.tensor(eval_idx, dtype=torch.long)


class BlockData:
    def __init__(self, blocks: torch.Tensor, eval_fraction: float, seed: int):
        self.blocks = blocks
        self.seed = seed
        self.train_idx, self.eval_idx = split_indices(blocks.size(0), eval_fraction)
        self._perm_epoch = -1
        self._perm = self.train_idx

    @classmethod
    def build(cls, ds: DatasetSpec, tokenizer, seq_len: int, seed: int, texts: list[str] | None = None):
        tokens = tokenize(texts if texts is not None else read_texts(ds), tokenizer)
        blocks = make_blocks(tokens, seq_len)
        if blocks.size(0) < 2:
            need = 2 * seq_len + 1
            raise WorkerError(
                f"the dataset is too small for train.seq_len {seq_len}: it has {tokens.numel()} tokens, "
                f"which make {blocks.size(0)} block(s) of {seq_len + 1} tokens, but one training and one "
                f"evaluation block need at least {need} tokens. Add text or lower train.seq_len."
            )
        return cls(blocks, ds.eval_fraction, seed)

    @property
    def n_train(self) -> int:
        return self.train_idx.numel()

    @property
    def n_eval(self) -> int:
        return self.eval_idx.numel()

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._perm_epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = self.train_idx[torch.randperm(self.n_train, generator=g)]
            self._perm_epoch = epoch
        return self._perm

    def stream_indices(self, start: int, count: int) -> torch.Tensor:
        """Block indices at stream positions ``[start, start + count)``."""
        out = []
        pos, end = start, start + count
        while pos < end:
            epoch, offset = divmod(pos, self.n_train)
            take = min(end - pos, self.n_train - offset)
            out.append(self._permutation(epoch)[offset : offset + take])
            pos += take
        return torch.cat(out) if out else torch.empty(0, dtype=torch.long)

    def train_batch(self, step: int, batch_size: int, shard: slice = slice(None)) -> torch.Tensor:
        """This rank's part of the global batch of ``step`` (1-based)."""
        idx = self.stream_indices((step - 1) * batch_size, batch_size)[shard]
        return self.blocks[idx]

    def eval_batches(self, batch_size: int, max_batches: int, shard_fn=None):
        """Up to ``max_batches`` batches of held-out blocks, in order; ``shard_fn(n)`` gives a slice."""
        for start in range(0, min(self.n_eval, batch_size * max_batches), batch_size):
            idx = self.eval_idx[start : start + batch_size]
            if shard_fn is not None:
                idx = idx[shard_fn(idx.numel())]
            yield self.blocks[idx]

    @staticmethod
    def position(step: int, batch_size: int) -> int:
        """Training blocks consumed after ``step`` steps."""
        return step * batch_size

    def epoch(self, step: int, batch_size: int) -> int:
        return self.position(step, batch_size) // self.n_train
