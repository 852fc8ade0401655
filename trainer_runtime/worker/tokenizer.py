"""Tokenizers: a byte-level BPE trained on the dataset for built-in models, else the model's own.

The tokenizer is saved to ``JOB_DIR/tokenizer/`` the first time and read back from there on
resume, so a resumed job never retrains it (training is deterministic anyway, but a saved file
also survives a library upgrade).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

from trainer_runtime.jobs.spec import JobSpec
from trainer_runtime.worker.errors import WorkerError

log = logging.getLogger(__name__)

EOS = "<|endoftext|>"
BUILTIN_VOCAB_SIZE = 1024
MAX_TRAIN_CHARS = 64 << 20  # BPE training reads at most this much text


def train_bpe(
    texts: Iterable[str], vocab_size: int = BUILTIN_VOCAB_SIZE, special_tokens: Sequence[str] = ()
) -> PreTrainedTokenizerFast:
    """A deterministic byte-level BPE trained on ``texts``, wrapped for transformers.

    ``special_tokens`` (a chat template's ``<|im_start|>``, ...) become single tokens that are
    never split or merged, and are left out when generated text is decoded."""
    extra = [t for t in dict.fromkeys(special_tokens) if t != EOS]
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[EOS, *extra],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_capped(texts, MAX_TRAIN_CHARS), trainer=trainer)
    kwargs = {"additional_special_tokens": extra} if extra else {}
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=EOS, bos_token=EOS, unk_token=EOS, pad_token=EOS, **kwargs
    )


def _capped(texts: Iterable[str], limit: int):
    used = 0
    for t in texts:
        for line in t.splitlines(keepends=True):
            yield line
            used += len(line)
            if used >= limit:
                return


def load_model_tokenizer(spec: JobSpec) -> PreTrainedTokenizerBase:
    """The tokenizer that belongs to a ``path`` or ``hub_id`` model."""
    if spec.model.path:
        try:
            return AutoTokenizer.from_pretrained(spec.model.path)
        except (OSError, ValueError) as err:
            raise WorkerError(
                f"model.path: could not load a tokenizer from {spec.model.path}: {err}. "
                "The folder needs the tokenizer files saved with the model."
            ) from err
    return AutoTokenizer.from_pretrained(spec.model.hub_id, token=os.environ.get("HF_TOKEN") or None)


def obtain_tokenizer(
    spec: JobSpec,
    job_dir: Path,
    texts_fn,
    is_main: bool = True,
    barrier=lambda: None,
    fallback_dirs: Iterable[Path] = (),
    special_tokens_fn=lambda: (),
    chat_template_fn=None,
) -> PreTrainedTokenizerBase:
    """Load ``job_dir/tokenizer`` if it exists (resume), else make it and save it there.

    ``texts_fn()`` returns the dataset's texts; it is only called when a BPE must be trained,
    with ``special_tokens_fn()`` as its special tokens. ``chat_template_fn(tokenizer)``, when
    given, returns the chat template saved with the tokenizer (the sft recipe records the one it
    trains with, so inference formats prompts the same way). Under DDP only rank 0 makes and
    saves the tokenizer; the others wait and load it.
    """
    target = job_dir / "tokenizer"
    if not _is_saved(target):
        for d in fallback_dirs:  # e.g. the tokenizer of the job a checkpoint came from
            if _is_saved(d) and is_main:
                shutil.copytree(d, target, dirs_exist_ok=True)
                break
    if not _is_saved(target) and is_main:
        tok: PreTrainedTokenizerBase
        if spec.model.builtin:
            log.info("training a byte-level BPE tokenizer on the dataset")
            tok = train_bpe(texts_fn(), special_tokens=special_tokens_fn())
        else:
            tok = load_model_tokenizer(spec)
        if chat_template_fn is not None:
            tok.chat_template = chat_template_fn(tok)
        save_tokenizer(tok, target)
    barrier()
    try:
        return AutoTokenizer.from_pretrained(target)
    except (OSError, ValueError) as err:
        raise WorkerError(f"could not read the job's tokenizer in {target}: {err}") from err


def save_tokenizer(tok: PreTrainedTokenizerBase, target: Path) -> None:
    """Save into a temp folder and rename, so a half-written tokenizer is never reused."""
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tok.save_pretrained(tmp)
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)


def _is_saved(d: Path) -> bool:
    return (d / "tokenizer_config.json").is_file()
