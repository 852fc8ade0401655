"""The sft recipe's worker: chat/instruction fine-tuning on the causal-lm loop.

The loop, checkpoints, pause, exact resume and DDP are ``CausalLMTrainer``'s; this class
supplies the data and the loss:

* examples (``sft/formats.read_examples``) are rendered with the job's template
  (``sft/templates.resolve``: ``sft.template``, else the model's own, chatml for a built-in
  model, whose BPE is trained on the rendered examples with the template's special tokens) and
  encoded with their loss mask (``sft/render.encode``);
* the template is recorded: in the ``started`` event and log.txt, and as the ``chat_template``
  of ``JOB_DIR/tokenizer`` and so of ``final/``, so inference formats prompts the same way;
* the loss is cross-entropy over the trained targets only (labels != -100), summed and divided
  by the count of trained targets in the whole global batch; each rank's share is scaled by
  the world size, so DDP's gradient average gives exactly the global mean;
* after each evaluation (same masking, held-out examples) the main rank answers
  ``sft.eval_prompts`` greedily and appends them to ``JOB_DIR/generations.jsonl``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from trainer_runtime.jobs.sft_checks import CHECK_EXAMPLES, template_name
from trainer_runtime.jobs.spec import SftSpec
from trainer_runtime.worker.causal_lm import CausalLMTrainer
from trainer_runtime.worker.errors import WorkerError
from trainer_runtime.worker.sft_data import IGNORE, SFTData
from trainer_runtime.worker.tokenizer import EOS, obtain_tokenizer

log = logging.getLogger(__name__)

GENERATIONS = "generations.jsonl"
# literal special tokens of the named templates: single tokens of a built-in model's BPE
SPECIAL_RE = re.compile(r"<\|[A-Za-z0-9_.-]{1,40}\|>|<(?:start|end)_of_turn>")
STOP_TOKENS = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>")


def check_seq_len(spec, tokenizer, template: str, examples: list[Any]) -> None:
    """``train.seq_len`` must leave room for at least one trained token after the shortest prompt."""
    from trainer_runtime.sft.formats import FormatError
    from trainer_runtime.sft.render import encode

    loss_on = spec.sft.loss_on if spec.sft else "completion"
    shortest: tuple[int, str] | None = None
    for ex in examples[:CHECK_EXAMPLES]:
        try:
            enc = encode(tokenizer, template, ex, loss_on=loss_on)
        except FormatError as err:
            raise WorkerError(f"dataset.path: {err}") from None
        first = next((i for i, label in enumerate(enc.labels) if label != -100), None)
        if first is not None and (shortest is None or first < shortest[0]):
            shortest = (first, ex.where)
    if shortest is not None and spec.train.seq_len <= shortest[0]:
        n, where = shortest
        raise WorkerError(
            f"train.seq_len: train.seq_len {spec.train.seq_len} is shorter than the shortest prompt "
            f"({n} tokens, {where}): no answer token would be trained. Raise train.seq_len above {n}."
        )


def template_tokens(template: str) -> list[str]:
    return list(dict.fromkeys(SPECIAL_RE.findall(template)))


def render_text(template: str, example: Any) -> str:
    """An example as the template writes it (text only: for training a built-in model's BPE)."""
    from transformers.utils.chat_template_utils import render_jinja_template

    from trainer_runtime.sft.templates import render_problem

    if example.text is not None:
        return example.text
    chat = [{"role": m.role, "content": m.content} for m in example.messages]
    try:
        rendered: Any = render_jinja_template([chat], chat_template=template, bos_token=EOS, eos_token=EOS)[0]
    except Exception as err:  # the template's own exception (jinja raises any type), named with the example
        raise WorkerError(f"dataset.path: {render_problem(example.where, err)}") from err
    return rendered[0]


class SFTTrainer(CausalLMTrainer):
    def build_data(self, resume_path) -> None:
        from trainer_runtime.sft.formats import FormatError, read_examples
        from trainer_runtime.sft.templates import TEMPLATES, TemplateError, resolve

        spec, t = self.spec, self.t
        self.sft = spec.sft or SftSpec()
        ds = spec.dataset
        try:
            self.format, examples = read_examples(ds.path or "", ds.format, ds.columns, ds.text_field)
        except FormatError as err:
            raise WorkerError(f"dataset.path: {Path(ds.path or '').name}: {err}") from None
        name = template_name(spec)
        named = TEMPLATES.get(name) if name else None

        def texts() -> list[str]:
            assert named is not None  # a built-in model always has a named template
            return [render_text(named, ex) for ex in examples]

        def record(tokenizer) -> str:
            try:
                return resolve(tokenizer, name)[0]
            except TemplateError as err:
                raise WorkerError(f"sft.template: {err}") from None

        self.tokenizer = obtain_tokenizer(
            spec,
            self.job.job_dir,
            texts,
            self.dist.is_main,
            self.dist.barrier,
            fallback_dirs=self.tokenizer_fallback(resume_path),
            special_tokens_fn=lambda: template_tokens(named or ""),
            chat_template_fn=record,
        )
        try:
            self.template, self.template_label = resolve(self.tokenizer, name)
        except TemplateError as err:
            raise WorkerError(f"sft.template: {err}") from None
        check_seq_len(spec, self.tokenizer, self.template, examples)
        self.data, self.report = SFTData.build(
            examples,
            self.tokenizer,
            self.template,
            self.sft.loss_on,
            t.seq_len,
            ds.eval_fraction,
            self.sft.packing,
            t.seed,
        )
        r = self.report
        log.info(
            "sft: %s data, %d examples (%d train, %d eval) in %d %s rows; template %s; loss on %s",
            self.format,
            r.examples,
            r.train_examples,
            r.eval_examples,
            r.rows,
            "packed" if self.sft.packing else "padded",
            self.template_label,
            self.sft.loss_on,
        )
        if r.truncated:
            log.warning(
                "%d of %d examples are longer than train.seq_len %d and were truncated (%s%s)",
                r.truncated,
                r.examples,
                t.seq_len,
                ", ".join(r.truncated_where),
                ", ..." if r.truncated > len(r.truncated_where) else "",
            )
        if r.dropped:
            log.warning("%d examples had no trained token left after truncation and were left out", r.dropped)
        self.stop_ids = self._stop_ids()

    def _stop_ids(self) -> list[int]:
        vocab = self.tokenizer.get_vocab()
        ids = [vocab[tok] for tok in STOP_TOKENS if tok in vocab and tok in self.template]
        if self.tokenizer.eos_token_id is not None:
            ids.append(self.tokenizer.eos_token_id)
        return list(dict.fromkeys(ids))

    def started_fields(self) -> dict[str, Any]:
        r = self.report
        return {
            "template": self.template_label,
            "chat_template": self.template,
            "format": self.format,
            "loss_on": self.sft.loss_on,
            "packing": self.sft.packing,
            "examples": r.examples,
            "train_examples": r.train_examples,
            "eval_examples": r.eval_examples,
            "truncated": r.truncated,
            "dropped": r.dropped,
            "rows": r.rows,
        }

    # ---- the step -----------------------------------------------------------------

    def step_tokens(self, step: int) -> int:
        return self.data.tokens(step, self.t.batch_size)

    def step_metrics(self, step: int) -> dict[str, float]:
        return {"trained_tokens": float(self.data.trained_through(step, self.t.batch_size))}

    def _forward(self, model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        with self.autocast():
            logits = model(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                position_ids=batch["position_ids"],
            ).logits
        return F.cross_entropy(
            logits[:, :-1].float().reshape(-1, logits.size(-1)),
            batch["labels"][:, 1:].reshape(-1),
            ignore_index=IGNORE,
            reduction="sum",
        )

    def loss(self, batch: dict[str, torch.Tensor], step: int) -> torch.Tensor:
        count = self.data.trained_tokens(step, self.t.batch_size)
        return self._forward(self.model, batch) * (self.dist.world_size / max(count, 1))

    def eval_sums(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        return self._forward(model, batch), int((batch["labels"][:, 1:] != IGNORE).sum())

    # ---- generations ----------------------------------------------------------------

    def after_evaluate(self, model) -> None:
        if not self.sft.eval_prompts or not self.dist.is_main:
            return
        path = self.job.job_dir / GENERATIONS
        lines = []
        for prompt in self.sft.eval_prompts:
            lines.append(
                json.dumps(
                    {
                        "step": self.step,
                        "prompt": prompt,
                        "output": self.generate(model, prompt),
                        "time": time.time(),
                    }
                )
            )
        with path.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        log.info("step %d: %d generations appended to %s", self.step, len(lines), GENERATIONS)

    @torch.no_grad()
    def generate(self, model, prompt: str) -> str:
        """The model's greedy answer to ``prompt``, rendered with the job's template."""
        from transformers import GenerationConfig

        text = self.tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}],
            chat_template=self.template,
            add_generation_prompt=True,
            tokenize=False,
        )
        ids = self.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"].to(self.device)
        cfg = model.config
        limit = getattr(cfg, "n_positions", None) or getattr(cfg, "max_position_embeddings", None) or 1 << 30
        room = min(self.sft.max_new_tokens, limit - ids.size(1))
        if room <= 0:
            log.warning(
                "eval prompt %r is longer than the model's %d positions: not answered", prompt[:40], limit
            )
            return ""
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.stop_ids[0] if self.stop_ids else 0
        gen = GenerationConfig(
            max_new_tokens=room, do_sample=False, eos_token_id=self.stop_ids, pad_token_id=pad
        )
        with self.autocast():
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=gen)
        return str(self.tokenizer.decode(out[0, ids.size(1) :], skip_special_tokens=True))
