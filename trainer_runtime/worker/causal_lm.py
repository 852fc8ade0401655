"""The causal-lm recipe: next-token training of a full model or a LoRA adapter.

Exact resume: the batch of a step comes from the step alone (``data.py``), and a checkpoint
holds the trainable weights, optimizer, scheduler and every RNG state, so a run paused after
any step and resumed logs the same losses, float for float, as an uninterrupted run.

The loop, checkpoints, pause and DDP are shared with the sft recipe (``worker/sft.py``), which
overrides the hooks: ``build_data`` (tokenizer and data), ``loss`` (one step's loss),
``eval_sums`` (an eval batch's summed loss and token count), ``after_evaluate``,
``step_tokens``, ``started_fields`` and ``step_metrics``.

Per-step cost is kept to the step itself: metrics are read back (one device sync) only on
logged steps, events are buffered (``events.py``), and the pause check is a stat call (plus
one small all-reduce under DDP).
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from transformers.utils import logging as hf_logging

from trainer_runtime.worker import checkpoint as ckpt
from trainer_runtime.worker.data import BlockData, read_texts
from trainer_runtime.worker.errors import WorkerError
from trainer_runtime.worker.models import build_model, count_params, save_final
from trainer_runtime.worker.supervised import lr_factor
from trainer_runtime.worker.tokenizer import obtain_tokenizer

log = logging.getLogger(__name__)

PROGRESS_LOG_INTERVAL_S = 10.0


class CausalLMTrainer:
    def __init__(self, job, dist, events, credentials, pause):
        self.job = job
        self.spec = job.spec
        self.t = job.spec.train
        self.dist = dist
        self.events = events
        self.credentials = list(credentials)
        self.pause = pause
        self.device = dist.device()
        self.step = 0
        self.outcome: str | None = None
        self.last_eval_step = -1
        self.last_eval_loss: float | None = None
        self.last_ckpt_step = -1
        self._next_progress = 0.0

    # ---- setup --------------------------------------------------------------------------

    def setup(self) -> None:
        job_dir, spec, t = self.job.job_dir, self.spec, self.t
        hf_logging.disable_progress_bar()  # "Loading weights" bars would fill log.txt with \r lines
        if t.batch_size < self.dist.world_size:
            raise WorkerError(
                f"train.batch_size {t.batch_size} is smaller than resources.devices "
                f"{self.dist.world_size}: every device needs at least one sample per step."
            )
        resume_path = ckpt.resolve(job_dir, self.job.resume_from) if self.job.resume_from else None
        state = ckpt.load_checkpoint(resume_path) if resume_path else None
        self.resumed_from = self.job.resume_from if state else None
        random.seed(t.seed)
        np.random.seed(t.seed % (1 << 32))
        self.build_data(resume_path)

        model = build_model(spec, self.tokenizer, job_dir, fresh=state is None, save_base=self.dist.is_main)
        if state is not None:
            ckpt.load_trainable(model, state["weights"])
        model.to(self.device)
        self.raw_model = model
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = DDP(model, device_ids=ids)
        else:
            self.model = model

        self.params = [p for p in model.parameters() if p.requires_grad]
        groups = [
            {"params": [p for p in self.params if p.ndim >= 2], "weight_decay": t.weight_decay},
            {"params": [p for p in self.params if p.ndim < 2], "weight_decay": 0.0},
        ]
        self.optimizer = torch.optim.AdamW([g for g in groups if g["params"]], lr=t.lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda i: lr_factor(i, t.warmup_steps, t.max_steps)
        )
        self.autocast: Callable[[], AbstractContextManager[Any]]
        if self.device.type == "cuda" and torch.cuda.is_bf16_supported():
            self.autocast = lambda: torch.autocast("cuda", dtype=torch.bfloat16)
        else:
            self.autocast = nullcontext

        if state is None:
            if self.dist.enabled:  # different dropout masks per rank
                torch.manual_seed(t.seed + 7919 * self.dist.rank)
            return
        st = state["state"]
        if st["step"] > t.max_steps:
            raise WorkerError(
                f"cannot resume from step {st['step']}: the spec's train.max_steps is {t.max_steps}"
            )
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        rngs = state["rng"]
        ckpt.restore_rng(rngs[self.dist.rank] if self.dist.rank < len(rngs) else rngs[0])
        self.step = self.last_ckpt_step = st["step"]
        self.last_eval_step = st.get("last_eval_step", -1)
        self.last_eval_loss = st.get("eval_loss")

    def build_data(self, resume_path) -> None:
        """Set ``self.tokenizer`` and ``self.data`` (token blocks of the text file)."""
        spec, t = self.spec, self.t
        texts: list[str] = []

        def get_texts() -> list[str]:
            if not texts:
                texts.extend(read_texts(spec.dataset))
            return texts

        self.tokenizer = obtain_tokenizer(
            spec,
            self.job.job_dir,
            get_texts,
            self.dist.is_main,
            self.dist.barrier,
            fallback_dirs=self.tokenizer_fallback(resume_path),
        )
        self.data = BlockData.build(spec.dataset, self.tokenizer, t.seq_len, t.seed, get_texts())
        texts.clear()

    @staticmethod
    def tokenizer_fallback(resume_path) -> list:
        return [resume_path.parent.parent / "tokenizer"] if resume_path else []

    def started_fields(self) -> dict[str, Any]:
        """More fields of the ``started`` event (the recipe's own)."""
        return {}

    def device_name(self) -> str:
        if self.device.type == "cuda":
            return f"cuda:{self.device.index} ({torch.cuda.get_device_name(self.device)})"
        return "cpu"

    # ---- main loop ----------------------------------------------------------------------

    def run(self) -> None:
        self.setup()
        t = self.t
        total, trainable = count_params(self.raw_model)
        self.events.emit(
            "started",
            flush=True,
            step=self.step,
            total_steps=t.max_steps,
            resumed_from=self.resumed_from,
            world_size=self.dist.world_size,
            device=self.device_name(),
            params_total=total,
            params_trainable=trainable,
            credentials=self.credentials,
            cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"),
            **self.started_fields(),
        )
        log.info("CUDA_VISIBLE_DEVICES=%s", os.environ.get("CUDA_VISIBLE_DEVICES", "(not set)"))
        log.info(
            "training %s (%s) on %s x%d: %d steps from step %d, %d train / %d eval blocks, %d/%d params trainable",
            self.spec.name,
            self.spec.method,
            self.device_name(),
            self.dist.world_size,
            t.max_steps,
            self.step,
            self.data.n_train,
            self.data.n_eval,
            trainable,
            total,
        )
        if self.resumed_from is None:
            self.evaluate()
        self.model.train()
        shard = self.dist.shard(t.batch_size)
        last_log_time, tokens = time.perf_counter(), 0
        while self.step < t.max_steps:
            self.step += 1
            step = self.step
            batch = self.to_device(self.data.train_batch(step, t.batch_size, shard))
            lr = self.optimizer.param_groups[0]["lr"]
            loss, grad_norm = self.train_step(batch, step)
            tokens += self.step_tokens(step)
            if step % t.log_every == 0 or step == t.max_steps:
                now = time.perf_counter()
                tps = tokens / max(now - last_log_time, 1e-9)
                self.log_metrics(step, loss, grad_norm, lr, tps)
                last_log_time, tokens = now, 0
            if t.eval_every and step % t.eval_every == 0:
                self.evaluate()
            if t.checkpoint_every and step % t.checkpoint_every == 0 and step < t.max_steps:
                self.save_checkpoint()
            if step < t.max_steps and self.dist.any_true(self.pause(), self.device):
                self.do_pause()
                return
        if self.last_eval_step != self.step:
            self.evaluate()
        if self.last_ckpt_step != self.step:
            self.save_checkpoint()
        artifact = self.on_main(
            lambda: save_final(self.raw_model, self.tokenizer, self.spec, self.job.job_dir)
        )
        self.events.emit("completed", flush=True, step=self.step, artifact=artifact)
        log.info("completed at step %d; final model in %s", self.step, self.job.job_dir / "final")
        self.outcome = "completed"

    def to_device(self, batch: Any) -> Any:
        if isinstance(batch, dict):
            return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        return batch.to(self.device, non_blocking=True)

    def step_tokens(self, step: int) -> int:
        """Tokens in the global batch of ``step`` (for tokens_per_s)."""
        return self.t.batch_size * self.t.seq_len

    def step_metrics(self, step: int) -> dict[str, float]:
        """More metrics of a logged step (the recipe's own)."""
        return {}

    def loss(self, batch: Any, step: int) -> torch.Tensor:
        """This rank's loss of ``step``; under DDP the gradients of every rank's loss are averaged."""
        inputs, targets = batch[:, :-1], batch[:, 1:]
        with self.autocast():
            logits = self.model(input_ids=inputs).logits
        return F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1))

    def train_step(self, batch: Any, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        loss = self.loss(batch, step)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, self.t.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        return loss.detach(), grad_norm

    def log_metrics(self, step: int, loss: torch.Tensor, grad_norm: torch.Tensor, lr: float, tps: float):
        pair = torch.stack([loss.float(), grad_norm.float().to(loss.device)])
        if self.dist.enabled:
            pair = self.dist.sum_(pair) / self.dist.world_size
            pair[1] = grad_norm  # identical on every rank after the gradient all-reduce
        loss_v, gn_v = pair.tolist()
        if not math.isfinite(loss_v):
            raise WorkerError(
                f"training diverged: the loss became {loss_v} at step {step}. "
                "Lower train.lr or raise train.warmup_steps and start again."
            )
        points = {"loss": loss_v, "lr": lr, "grad_norm": gn_v, "tokens_per_s": tps, **self.step_metrics(step)}
        self.events.metrics(step, points)
        now = time.monotonic()
        if now >= self._next_progress:
            self._next_progress = now + PROGRESS_LOG_INTERVAL_S
            log.info(
                "step %d/%d loss %.4f lr %.3g grad_norm %.3g %.0f tokens/s",
                step,
                self.t.max_steps,
                loss_v,
                lr,
                gn_v,
                tps,
            )

    @torch.no_grad()
    def evaluate(self) -> float:
        model = self.raw_model
        model.eval()
        sums = torch.zeros(2, dtype=torch.float64, device=self.device)
        for batch in self.data.eval_batches(self.t.batch_size, self.t.eval_batches, self.dist.shard):
            if _empty(batch):
                continue
            loss_sum, count = self.eval_sums(model, self.to_device(batch))
            sums[0] += loss_sum.double()
            sums[1] += count
        self.dist.sum_(sums)
        value = (sums[0] / sums[1]).item()
        self.last_eval_step, self.last_eval_loss = self.step, value
        self.events.metrics(self.step, {"eval_loss": value})
        log.info("step %d eval_loss %.4f", self.step, value)
        self.after_evaluate(model)
        model.train()
        return value

    def eval_sums(self, model, batch: Any) -> tuple[torch.Tensor, int]:
        """(summed loss, number of targets) of one eval batch."""
        with self.autocast():
            logits = model(input_ids=batch[:, :-1]).logits
        targets = batch[:, 1:].reshape(-1)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), targets, reduction="sum")
        return loss, targets.numel()

    def after_evaluate(self, model) -> None:
        """Called after every evaluation, the model in eval mode (the sft recipe generates here)."""

    # ---- checkpoints, pause -------------------------------------------------------------

    def on_main(self, fn):
        """Run ``fn`` on rank 0 only; every rank learns if it failed, so none waits forever."""
        result, error, failure = None, None, None
        if self.dist.is_main:
            try:
                result = fn()
            except Exception as exc:  # noqa: BLE001 - re-raised below, after every rank has learnt of it
                failure, error = exc, str(exc)
        error = self.dist.broadcast_object(error)
        if failure is not None:
            raise failure
        if error is not None:
            raise WorkerError(error)
        return result

    def save_checkpoint(self) -> str:
        step, t = self.step, self.t
        rng = self.dist.gather_objects(ckpt.capture_rng())
        state = {
            "epoch": self.data.epoch(step, t.batch_size),
            "data_position": self.data.position(step, t.batch_size),
            "total_steps": t.max_steps,
            "last_eval_step": self.last_eval_step,
            "eval_loss": self.last_eval_loss,  # of the model at last_eval_step (retention keeps the best)
            "seed": t.seed,
            "batch_size": t.batch_size,
            "seq_len": t.seq_len,
            "world_size": self.dist.world_size,
            "method": self.spec.method,
            "job_id": self.job.job_id,
            "attempt": self.job.attempt,
            "time": time.time(),
        }

        def write() -> str:
            return ckpt.save_checkpoint(
                self.job.job_dir,
                step,
                ckpt.trainable_state(self.raw_model),
                self.optimizer.state_dict(),
                self.scheduler.state_dict(),
                rng,
                state,
            )

        rel = self.on_main(write)
        self.last_ckpt_step = step
        rel = rel or ckpt.relative_path(step)  # ranks other than 0 get None from on_main
        self.events.emit("checkpoint", flush=True, step=step, path=rel)
        log.info("checkpoint at step %d: %s", step, rel)
        if self.dist.is_main:
            ckpt.apply_retention(self.job.job_dir, t.keep_checkpoints, self.events)
        return rel

    def do_pause(self) -> None:
        rel = ckpt.relative_path(self.step) if self.last_ckpt_step == self.step else self.save_checkpoint()
        self.events.emit("paused", flush=True, step=self.step, checkpoint=rel)
        if self.dist.is_main:
            self.pause.consume()
        log.info("paused at step %d", self.step)
        self.outcome = "paused"


def _empty(batch: Any) -> bool:
    if isinstance(batch, dict):
        return batch["input_ids"].numel() == 0
    return batch.numel() == 0
