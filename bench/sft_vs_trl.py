"""SFT throughput and quality: the same tiny model, data, LoRA config, batch and steps through our
sft worker and through TRL's ``SFTTrainer``, measured in one run.

    .venv/bin/python bench/sft_vs_trl.py [--steps 200] [--rounds 5]

Both sides train a LoRA adapter (r 8, alpha 16, dropout 0.05 on ``c_attn``) on the same base:
a 2-layer GPT-2 (hidden 64) saved to a folder with a byte-level BPE trained on the bundled
instruction sample (``resources/samples/sft-sample.json``) and the chatml template, so neither
side trains a tokenizer. Both see the same training and held-out examples (our split), render
them with that template and train on the assistant tokens only, with AdamW, the same lr, linear
decay, no warm-up, gradient clipping at 1.0 and seed 0.

Two batchings are measured (``--mode both``, the default):

* ``packed``: examples packed into ``--seq-len`` rows by best-fit decreasing on both sides. Ours
  keeps the rows and stops cross-example attention with a block-diagonal mask; TRL's packing
  (strategy ``bfd``) is always padding-free: it flattens the batch into one sequence of
  batch x seq-len tokens, which transformers masks block-diagonally from the restarting position
  ids. Without FlashAttention (any CPU, and GPUs without the flash-attn package) that one long
  sequence costs attention over batch x seq-len positions instead of seq-len per row.
* ``padded``: no packing on either side, each example right-padded to the batch's longest: the
  same rows, so the ratio is the per-step cost of the two trainers alone.

Each round runs ours (A) and TRL (B) in fresh processes with the same thread count, in
alternating order (A B, B A, ...); the first round is a warm-up and is dropped. Throughput is
optimizer steps per second between step ``--skip`` and the last step (ours from the worker's
event timestamps, TRL's from a callback's clock), so process start-up is left out of both.
Prints the medians, the ratio ours / TRL (target >= 1.1) and both final eval losses (held-out
examples, assistant tokens only; target: ours <= TRL's).

TRL is not a runtime dependency: install it into the venv (``.venv/bin/pip install trl``);
without it the bench says so and stops.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "resources" / "samples" / "sft-sample.json"
THREADS = str(os.cpu_count() or 1)
LORA = {"r": 8, "alpha": 16, "dropout": 0.05, "target_modules": ["c_attn"]}


def build_base(folder: Path, seq_len: int) -> None:
    """The shared base: BPE on the rendered sample (chatml markers as single tokens) + a seeded GPT-2."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from trainer_runtime.sft.formats import read_examples
    from trainer_runtime.sft.templates import TEMPLATES
    from trainer_runtime.worker.models import TINY_GPT2
    from trainer_runtime.worker.sft import render_text, template_tokens
    from trainer_runtime.worker.tokenizer import train_bpe

    template = TEMPLATES["chatml"]
    _, examples = read_examples(SAMPLE)
    tok = train_bpe([render_text(template, e) for e in examples], special_tokens=template_tokens(template))
    tok.chat_template = template
    eos = tok.eos_token_id
    torch.manual_seed(0)
    cfg = GPT2Config(
        vocab_size=len(tok), n_positions=max(seq_len + 1, 128), bos_token_id=eos, eos_token_id=eos,
        pad_token_id=eos, **TINY_GPT2,
    )  # fmt: skip
    GPT2LMHeadModel(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)


def split(seq_len: int) -> tuple[list, list]:
    """Our train / held-out examples (``worker/sft_data.py``'s split), as chat message lists."""
    from trainer_runtime.sft.formats import read_examples
    from trainer_runtime.worker.data import split_indices

    _, examples = read_examples(SAMPLE)
    train_idx, eval_idx = split_indices(len(examples), 0.1)

    def chat(i: int) -> list[dict]:
        return [{"role": m.role, "content": m.content} for m in examples[i].messages]

    return [chat(i) for i in train_idx.tolist()], [chat(i) for i in eval_idx.tolist()]


def train_dict(args) -> dict:
    return {"max_steps": args.steps, "batch_size": args.batch_size, "seq_len": args.seq_len, "lr": args.lr,
            "seed": 0, "eval_every": 0, "checkpoint_every": 0, "log_every": 1, "eval_batches": 1000}  # fmt: skip


def ours(base: Path, args, packed: bool) -> dict:
    """Our sft worker, as the daemon starts it (``worker/testing.py``: the same command line)."""
    from trainer_runtime.worker.testing import log_text, read_events, run_worker, worker_env, write_job

    spec = {
        "name": "bench", "recipe": "sft", "model": {"path": str(base)}, "method": "lora", "lora": dict(LORA),
        "dataset": {"path": str(SAMPLE)}, "sft": {"loss_on": "completion", "packing": packed},
        "train": train_dict(args),
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="sft-bench-") as tmp:
        job = write_job(Path(tmp) / "job", spec)
        start = time.perf_counter()
        rc = run_worker(job, env=worker_env(OMP_NUM_THREADS=THREADS), timeout=3600)
        wall = time.perf_counter() - start
        if rc != 0:
            raise SystemExit(f"our sft worker failed:\n{log_text(job)[-3000:]}")
        events = read_events(job)
    times = {e["step"]: e["time"] for e in events if e["type"] == "metrics" and "loss" in e["values"]}
    evals = [
        e["values"]["eval_loss"] for e in events if e["type"] == "metrics" and "eval_loss" in e["values"]
    ]
    rate = (args.steps - args.skip) / (times[args.steps] - times[args.skip])
    return {"steps_per_s": rate, "eval_loss": evals[-1], "wall_s": wall}


def trl_side(base: Path, args, packed: bool) -> dict:
    """TRL's SFTTrainer on the same base, examples and settings (runs in its own process)."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    train, held = split(args.seq_len)
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    stamps: dict[int, float] = {}

    class Clock(TrainerCallback):
        def on_step_end(self, a, state, control, **kw):
            stamps[state.global_step] = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="trl-bench-") as out:
        cfg = SFTConfig(
            output_dir=out, max_steps=args.steps, per_device_train_batch_size=args.batch_size,
            per_device_eval_batch_size=args.batch_size, learning_rate=args.lr, lr_scheduler_type="linear",
            warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0, seed=0, data_seed=0, max_length=args.seq_len,
            packing=packed, assistant_only_loss=True, logging_steps=10**9, save_strategy="no", report_to=[],
            eval_strategy="no", use_cpu=True, dataloader_num_workers=0, disable_tqdm=True,
        )  # fmt: skip
        peft = LoraConfig(
            r=LORA["r"], lora_alpha=LORA["alpha"], lora_dropout=LORA["dropout"],
            target_modules=LORA["target_modules"], fan_in_fan_out=True, task_type="CAUSAL_LM",
        )  # fmt: skip
        trainer = SFTTrainer(
            model=model, args=cfg, processing_class=tok, peft_config=peft,
            train_dataset=Dataset.from_list([{"messages": m} for m in train]),
            eval_dataset=Dataset.from_list([{"messages": m} for m in held]), callbacks=[Clock()],
        )  # fmt: skip
        trainer.train()
        eval_loss = trainer.evaluate()["eval_loss"]
    rate = (args.steps - args.skip) / (stamps[args.steps] - stamps[args.skip])
    return {"steps_per_s": rate, "eval_loss": eval_loss}


def run_trl(base: Path, args, packed: bool) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": THREADS, "CUDA_VISIBLE_DEVICES": "", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, __file__, "--trl", str(base), "--steps", str(args.steps), "--skip", str(args.skip),
           "--batch-size", str(args.batch_size), "--seq-len", str(args.seq_len), "--lr", str(args.lr),
           "--mode", "packed" if packed else "padded"]  # fmt: skip
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"the TRL run failed:\n{out.stderr[-3000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["wall_s"] = time.perf_counter() - start
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--skip", type=int, default=20, help="warm-up steps left out of the throughput")
    ap.add_argument("--rounds", type=int, default=5, help="A/B rounds; the first is dropped")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--mode", choices=("packed", "padded", "both"), default="both")
    ap.add_argument("--trl", metavar="BASE", help=argparse.SUPPRESS)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    if importlib.util.find_spec("trl") is None:
        print(
            "TRL is not installed in this Python, so there is nothing to compare with: run "
            f"`{sys.executable} -m pip install trl` (or install the 'bench' extra) and start the bench again.",
            file=sys.stderr,
        )
        return 2
    if args.trl:
        print(json.dumps(trl_side(Path(args.trl), args, args.mode == "packed")))
        return 0
    import trl

    modes = ("packed", "padded") if args.mode == "both" else (args.mode,)
    results: dict[str, tuple[list, list]] = {m: ([], []) for m in modes}
    with tempfile.TemporaryDirectory(prefix="sft-base-") as tmp:
        base = Path(tmp) / "base"
        build_base(base, args.seq_len)
        for r in range(args.rounds):
            for mode in modes:
                packed = mode == "packed"
                if r % 2 == 0:
                    ra, rb = ours(base, args, packed), run_trl(base, args, packed)
                else:
                    rb = run_trl(base, args, packed)
                    ra = ours(base, args, packed)
                tag = "warm-up, dropped" if r == 0 else "kept"
                print(f"round {r} {mode}: ours {ra['steps_per_s']:.2f} steps/s eval {ra['eval_loss']:.4f} "
                      f"(wall {ra['wall_s']:.1f}s)   TRL {rb['steps_per_s']:.2f} steps/s eval {rb['eval_loss']:.4f} "
                      f"(wall {rb['wall_s']:.1f}s)   [{tag}]", flush=True)  # fmt: skip
                if r:
                    results[mode][0].append(ra)
                    results[mode][1].append(rb)
    print(f"\nmodel tiny GPT-2 (2 layers, 64 wide) LoRA r8 on c_attn, batch {args.batch_size} x seq {args.seq_len}, "
          f"{args.steps} steps, {THREADS} threads, TRL {trl.__version__}")  # fmt: skip
    for mode, (a, b) in results.items():
        ours_rate = statistics.median(x["steps_per_s"] for x in a)
        trl_rate = statistics.median(x["steps_per_s"] for x in b)
        ours_eval = statistics.median(x["eval_loss"] for x in a)
        trl_eval = statistics.median(x["eval_loss"] for x in b)
        print(f"{mode:7s} ours {ours_rate:8.2f} steps/s, eval loss {ours_eval:.4f} | TRL {trl_rate:8.2f} steps/s, "
              f"eval loss {trl_eval:.4f} | ratio ours/TRL {ours_rate / trl_rate:.3f} "
              f"(medians of {len(a)}; target >= 1.1 with an equal or lower eval loss)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
