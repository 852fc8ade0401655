"""The training loop shared by the supervised recipes that fit in one process (``graph``,
``image-classification``): seed, resume, AdamW with the warmup/linear-decay schedule, logged
metrics, evaluation (``eval_loss``, ``eval_accuracy`` for classifiers), atomic checkpoints of the
whole ``state_dict`` (BatchNorm's running statistics too) and pause.

A recipe subclass builds its data and model in ``build()`` and writes ``final/`` in
``save_final()``. The data gives the batch of a step from the step alone (``batch_indices``), so
a paused run resumes exactly: the same losses, float for float, as an uninterrupted run.
"""

from __future__ import annotations

import logging
import math
import random
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from trainer_runtime.worker import checkpoint as ckpt
from trainer_runtime.worker.errors import WorkerError

log = logging.getLogger(__name__)


def lr_factor(index: int, warmup: int, total: int) -> float:
    """LR multiplier for the step after ``index`` scheduler steps: linear warmup, then linear decay.

    Step n (1-based) trains with ``lr_factor(n - 1)``: n/W during warmup, then down to 1/(N-W)
    on the last step (never 0, so every step learns). Shared by every recipe (this module
    imports no transformers).
    """
    if index < warmup:
        return (index + 1) / warmup
    return max(total - index, 1) / max(total - warmup, 1)


def count_params(model: torch.nn.Module) -> tuple[int, int]:
    total = trainable = 0
    for p in model.parameters():
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return total, trainable


class SupervisedTrainer:
    recipe = "supervised"
    loss_kind = "cross_entropy"  # cross_entropy | mse | bce_with_logits

    def __init__(self, job, dist, events, credentials, pause):
        self.job, self.spec, self.t = job, job.spec, job.spec.train
        self.dist, self.events, self.pause = dist, events, pause
        self.credentials = list(credentials)
        self.device = dist.device()
        self.step = 0
        self.outcome: str | None = None
        self.last_eval_step = self.last_ckpt_step = -1
        self.last_eval_loss: float | None = None
        self.model: torch.nn.Module
        self.data: Any  # train_batch(step, bs), eval_batches(bs, n), epoch(step, bs), n_train

    # ---- hooks --------------------------------------------------------------------------
    def build(self) -> None:
        """Set ``self.data`` and ``self.model`` (on the CPU, before any checkpoint is loaded)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def describe(self) -> str:
        return self.recipe

    def save_final(self) -> None:
        raise NotImplementedError

    def output_size(self) -> int:
        """Values per sample of the output, for a per-value eval loss (regression)."""
        return 1

    # ---- setup --------------------------------------------------------------------------
    def setup(self) -> None:
        t = self.t
        if self.dist.enabled:
            raise WorkerError(f"recipe '{self.recipe}' trains on one device: set resources.devices to 1.")
        resume = ckpt.resolve(self.job.job_dir, self.job.resume_from) if self.job.resume_from else None
        state = ckpt.load_checkpoint(resume) if resume else None
        self.resumed_from = self.job.resume_from if state else None
        random.seed(t.seed)
        np.random.seed(t.seed % (1 << 32))
        torch.manual_seed(t.seed)
        self.build()
        if state is not None:
            try:
                self.model.load_state_dict(state["weights"])
            except RuntimeError as err:
                raise WorkerError(
                    f"the checkpoint does not match this job's model ({str(err).splitlines()[0]}); "
                    "resume it with the spec it was made with."
                ) from None
        self.model.to(self.device)
        params = [p for p in self.model.parameters() if p.requires_grad]
        if not params:
            raise WorkerError("the model has no trainable parameters; add a Linear or Conv layer.")
        self.params = params
        self.optimizer = torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda i: lr_factor(i, t.warmup_steps, t.max_steps)
        )
        if state is None:
            return
        st = state["state"]
        if st["step"] > t.max_steps:
            raise WorkerError(
                f"cannot resume from step {st['step']}: the spec's train.max_steps is {t.max_steps}"
            )
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        ckpt.restore_rng(state["rng"][0])
        self.step = self.last_ckpt_step = st["step"]
        self.last_eval_step = st.get("last_eval_step", -1)
        self.last_eval_loss = st.get("eval_loss")

    def loss(self, out: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        if self.loss_kind == "cross_entropy":
            return F.cross_entropy(out, y, reduction=reduction)
        if self.loss_kind == "bce_with_logits":
            return F.binary_cross_entropy_with_logits(out, y.to(out.dtype), reduction=reduction)
        return F.mse_loss(out, y, reduction=reduction)

    # ---- the loop -----------------------------------------------------------------------
    def run(self) -> None:
        self.setup()
        t = self.t
        total, trainable = count_params(self.model)
        self.events.emit(
            "started", flush=True, step=self.step, total_steps=t.max_steps, resumed_from=self.resumed_from,
            world_size=1, device=str(self.device), params_total=total, params_trainable=trainable,
            credentials=self.credentials,
        )  # fmt: skip
        log.info(
            "training %s on %s: %d steps from step %d, %d train / %d eval samples, %d params",
            self.describe(), self.device, t.max_steps, self.step, self.data.n_train, self.data.n_eval, total,
        )  # fmt: skip
        if self.resumed_from is None:
            self.evaluate()
        self.model.train()
        last_time, last_step = time.perf_counter(), self.step
        while self.step < t.max_steps:
            self.step += 1
            step = self.step
            x, y = self.data.train_batch(step, t.batch_size)
            lr = self.optimizer.param_groups[0]["lr"]
            loss = self.loss(self.forward(x.to(self.device)), y.to(self.device))
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(self.params, t.max_grad_norm)
            self.optimizer.step()
            self.scheduler.step()
            if step % t.log_every == 0 or step == t.max_steps:
                now = time.perf_counter()
                rate = t.batch_size * (step - last_step) / max(now - last_time, 1e-9)
                last_time, last_step = now, step
                value = loss.item()
                if not math.isfinite(value):
                    raise WorkerError(
                        f"training diverged: the loss became {value} at step {step}. Lower train.lr and start again."
                    )
                metrics = {"loss": value, "lr": lr, "grad_norm": float(grad_norm), "samples_per_s": rate}
                self.events.metrics(step, metrics)
            if t.eval_every and step % t.eval_every == 0:
                self.evaluate()
            if t.checkpoint_every and step % t.checkpoint_every == 0 and step < t.max_steps:
                self.save_checkpoint()
            if step < t.max_steps and self.pause():
                rel = self.save_checkpoint() if self.last_ckpt_step != step else ckpt.relative_path(step)
                self.events.emit("paused", flush=True, step=step, checkpoint=rel)
                self.pause.consume()
                log.info("paused at step %d", step)
                self.outcome = "paused"
                return
        if self.last_eval_step != self.step:
            self.evaluate()
        if self.last_ckpt_step != self.step:
            self.save_checkpoint()
        self.save_final()
        self.events.emit("completed", flush=True, step=self.step, artifact={"kind": "model", "path": "final"})
        log.info("completed at step %d; final model in %s", self.step, self.job.job_dir / "final")
        self.outcome = "completed"

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        self.model.eval()
        loss_sum, correct, count = 0.0, 0, 0
        for x, y in self.data.eval_batches(self.t.batch_size, self.t.eval_batches):
            out = self.forward(x.to(self.device))
            y = y.to(self.device)
            loss_sum += float(self.loss(out, y, reduction="sum"))
            count += len(y)
            if self.loss_kind == "cross_entropy":
                correct += int((out.argmax(dim=-1) == y).sum())
        self.model.train()
        per = max(count, 1) * (1 if self.loss_kind == "cross_entropy" else self.output_size())
        values = {"eval_loss": loss_sum / per}
        if self.loss_kind == "cross_entropy":
            values["eval_accuracy"] = correct / max(count, 1)
        self.last_eval_step, self.last_eval_loss = self.step, values["eval_loss"]
        self.events.metrics(self.step, values)
        log.info("step %d %s", self.step, " ".join(f"{k} {v:.4f}" for k, v in values.items()))
        return values

    def save_checkpoint(self) -> str:
        step, t = self.step, self.t
        weights = {k: v.detach().to("cpu").contiguous() for k, v in self.model.state_dict().items()}
        state: dict[str, Any] = {
            "epoch": self.data.epoch(step, t.batch_size),
            "data_position": step * t.batch_size,
            "total_steps": t.max_steps,
            "last_eval_step": self.last_eval_step,
            "eval_loss": self.last_eval_loss,  # of the model at last_eval_step (retention keeps the best)
            "seed": t.seed,
            "batch_size": t.batch_size,
            "recipe": self.recipe,
            "job_id": self.job.job_id,
            "attempt": self.job.attempt,
            "time": time.time(),
        }
        rel = ckpt.save_checkpoint(
            self.job.job_dir, step, weights, self.optimizer.state_dict(), self.scheduler.state_dict(),
            [ckpt.capture_rng()], state,
        )  # fmt: skip
        self.last_ckpt_step = step
        self.events.emit("checkpoint", flush=True, step=step, path=rel)
        log.info("checkpoint at step %d: %s", step, rel)
        ckpt.apply_retention(self.job.job_dir, t.keep_checkpoints, self.events)
        return rel
