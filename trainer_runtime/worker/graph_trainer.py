"""The graph recipe: train an architecture-builder graph on an image folder or a CSV.

It shares the worker's pieces with the causal-lm recipe (events writer, pause request, atomic
checkpoints, RNG capture, LR schedule); checkpoints hold the whole state_dict (BatchNorm's running
statistics too), so a paused run resumes exactly.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from trainer_runtime.architecture.build import build_module
from trainer_runtime.architecture.codegen import export_source
from trainer_runtime.architecture.dataset import GraphJobError, check_graph_job
from trainer_runtime.worker import checkpoint as ckpt
from trainer_runtime.worker.errors import WorkerError
from trainer_runtime.worker.graph_data import load_data
from trainer_runtime.worker.models import count_params

log = logging.getLogger(__name__)


def lr_factor(index: int, warmup: int, total: int) -> float:
    """The causal-lm schedule (repeated here so this recipe never imports transformers)."""
    if index < warmup:
        return (index + 1) / warmup
    return max(total - index, 1) / max(total - warmup, 1)


class GraphTrainer:
    def __init__(self, job, dist, events, credentials, pause):
        self.job, self.spec, self.t = job, job.spec, job.spec.train
        self.dist, self.events, self.pause = dist, events, pause
        self.credentials = list(credentials)
        self.device = dist.device()
        self.step = 0
        self.outcome: str | None = None
        self.last_eval_step = self.last_ckpt_step = -1

    def setup(self) -> None:
        spec, t = self.spec, self.t
        if self.dist.enabled:
            raise WorkerError("recipe 'graph' trains on one device: set resources.devices to 1.")
        try:
            self.task = check_graph_job(spec.model.graph, spec.dataset.path)
        except GraphJobError as err:
            raise WorkerError(f"{err.field}: {err.message}") from None
        resume = ckpt.resolve(self.job.job_dir, self.job.resume_from) if self.job.resume_from else None
        state = ckpt.load_checkpoint(resume) if resume else None
        self.resumed_from = self.job.resume_from if state else None
        random.seed(t.seed)
        np.random.seed(t.seed % (1 << 32))
        torch.manual_seed(t.seed)
        self.data = load_data(spec.dataset.path, self.task, spec.dataset.eval_fraction, t.seed)
        self.model = build_module(self.task.graph)
        if state is not None:
            try:
                self.model.load_state_dict(state["weights"])
            except RuntimeError as err:
                raise WorkerError(
                    f"the checkpoint does not match this graph ({str(err).splitlines()[0]}); "
                    "resume it with the graph it was made with."
                ) from None
        self.model.to(self.device)
        params = [p for p in self.model.parameters() if p.requires_grad]
        if not params:
            raise WorkerError("the graph has no trainable parameters; add a Linear or Conv layer.")
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

    def loss(self, out: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        if self.task.loss == "cross_entropy":
            return F.cross_entropy(out, y, reduction=reduction)
        if self.task.loss == "bce_with_logits":
            return F.binary_cross_entropy_with_logits(out, y.to(out.dtype), reduction=reduction)
        return F.mse_loss(out, y, reduction=reduction)

    def run(self) -> None:
        self.setup()
        t = self.t
        total, trainable = count_params(self.model)
        self.events.emit(
            "started",
            flush=True,
            step=self.step,
            total_steps=t.max_steps,
            resumed_from=self.resumed_from,
            world_size=1,
            device=str(self.device),
            params_total=total,
            params_trainable=trainable,
            credentials=self.credentials,
        )
        log.info(
            "training graph %s on %s: %d steps from step %d, %d train / %d eval samples, %d params",
            self.spec.model.graph,
            self.device,
            t.max_steps,
            self.step,
            self.data.n_train,
            len(self.data.x_eval),
            total,
        )
        if self.resumed_from is None:
            self.evaluate()
        self.model.train()
        last_time, last_step = time.perf_counter(), self.step
        while self.step < t.max_steps:
            self.step += 1
            step = self.step
            x, y = self.data.train_batch(step, t.batch_size)
            lr = self.optimizer.param_groups[0]["lr"]
            loss = self.loss(self.model(x.to(self.device)), y.to(self.device))
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
            out = self.model(x.to(self.device))
            y = y.to(self.device)
            loss_sum += float(self.loss(out, y, reduction="sum"))
            count += len(y)
            if self.task.loss == "cross_entropy":
                correct += int((out.argmax(dim=-1) == y).sum())
        self.model.train()
        per = max(count, 1) * (1 if self.task.loss == "cross_entropy" else math.prod(self.task.output_shape))
        values = {"eval_loss": loss_sum / per}
        if self.task.loss == "cross_entropy":
            values["eval_accuracy"] = correct / max(count, 1)
        self.last_eval_step = self.step
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
            "seed": t.seed,
            "batch_size": t.batch_size,
            "recipe": "graph",
            "job_id": self.job.job_id,
            "attempt": self.job.attempt,
            "time": time.time(),
        }
        rel = ckpt.save_checkpoint(
            self.job.job_dir,
            step,
            weights,
            self.optimizer.state_dict(),
            self.scheduler.state_dict(),
            [ckpt.capture_rng()],
            state,
        )
        self.last_ckpt_step = step
        self.events.emit("checkpoint", flush=True, step=step, path=rel)
        log.info("checkpoint at step %d: %s", step, rel)
        return rel

    def save_final(self) -> None:
        final = Path(self.job.job_dir) / "final"
        final.mkdir(exist_ok=True)
        (final / "model.py").write_text(export_source(self.task.graph), encoding="utf-8")
        self.task.graph.save(final / "graph.json")
        weights = {k: v.detach().to("cpu").contiguous() for k, v in self.model.state_dict().items()}
        save_file(weights, str(final / "model.safetensors"))
        if self.data.classes:
            (final / "classes.json").write_text(json.dumps(self.data.classes) + "\n", encoding="utf-8")
