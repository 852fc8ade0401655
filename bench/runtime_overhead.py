"""Runtime overhead: the same model, data and steps as a bare PyTorch loop and as a
runtime job (daemon + worker + events + MLflow mirror), measured in one run.

    .venv/bin/python bench/runtime_overhead.py [--steps 600] [--rounds 5]

Each round runs the bare loop (A) and a runtime job (B) one after the other, in fresh
processes with the same thread count, in alternating order (A B, B A, A B, ...); the first
round is a warm-up and is dropped. Throughput is optimizer steps per second between step ``--skip`` and the last
step, from the job's own event timestamps and from the bare loop's clock, so process
start-up (imports, tokenizer training) is excluded from both; it is reported separately.
Prints the median of each and the ratio job / bare (target >= 0.97).

The worker raises glibc's malloc thresholds (``trainer_runtime/worker/allocator.py``), which a
hand-written loop does not do, so each round also runs the bare loop with the same settings
(A'): job / A' is the runtime's own cost with the allocator taken out of the comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "resources" / "samples" / "corpus.txt"
THREADS = str(os.cpu_count() or 1)


def spec_dict(steps: int) -> dict:
    return {
        "name": "bench",
        "model": {"builtin": "tiny-gpt2"},
        "method": "lora",
        "dataset": {"path": str(CORPUS)},
        "train": {"max_steps": steps, "batch_size": 16, "seq_len": 128, "lr": 3e-3, "seed": 0,
                  "eval_every": 0, "checkpoint_every": 0, "log_every": 1},
    }  # fmt: skip


def bare(steps: int, skip: int) -> dict:
    """The plain loop: what a user would write by hand for the same training."""
    import torch
    import torch.nn.functional as F

    from trainer_runtime.jobs.spec import parse_spec
    from trainer_runtime.worker.causal_lm import lr_factor
    from trainer_runtime.worker.data import BlockData, read_texts
    from trainer_runtime.worker.models import build_model
    from trainer_runtime.worker.tokenizer import train_bpe

    t0 = time.perf_counter()
    spec = parse_spec(spec_dict(steps))
    t = spec.train
    torch.manual_seed(t.seed)
    texts = read_texts(spec.dataset)
    tok = train_bpe(texts)
    data = BlockData.build(spec.dataset, tok, t.seq_len, t.seed, texts)
    with tempfile.TemporaryDirectory() as tmp:
        model = build_model(spec, tok, Path(tmp), fresh=True, save_base=False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=t.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: lr_factor(i, t.warmup_steps, t.max_steps))
    model.train()
    ready = time.perf_counter()
    t_skip = None
    for step in range(1, steps + 1):
        batch = data.train_batch(step - 1, t.batch_size)
        logits = model(input_ids=batch[:, :-1]).logits
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, t.max_grad_norm)
        opt.step()
        sched.step()
        if step % 100 == 0:
            print(f"step {step} loss {loss.item():.4f}", file=sys.stderr)
        if step == skip:
            t_skip = time.perf_counter()
    end = time.perf_counter()
    return {"steps_per_s": (steps - skip) / (end - t_skip), "startup_s": ready - t0, "total_s": end - t0}


def run_bare(steps: int, skip: int, tuned: bool = False) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": THREADS, "CUDA_VISIBLE_DEVICES": ""}
    start = time.perf_counter()
    args = ["--bare", "--steps", str(steps), "--skip", str(skip)] + (["--tuned"] if tuned else [])
    out = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=True
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["wall_s"] = time.perf_counter() - start
    return res


def run_job(client, steps: int, skip: int) -> dict:
    start = time.perf_counter()
    job = client.submit(spec_dict(steps))
    job = client.wait(job.id, timeout=1800, poll_s=1.0)  # a light observer, like the GUI
    wall = time.perf_counter() - start
    if job.state != "COMPLETED":
        raise SystemExit(f"bench job failed: {job.reason}")
    events = [json.loads(x) for x in (Path(job.job_dir) / "events.jsonl").read_text().splitlines()]
    times = {e["step"]: e["time"] for e in events if e["type"] == "metrics" and "loss" in e["values"]}
    return {"steps_per_s": (steps - skip) / (times[steps] - times[skip]), "wall_s": wall}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--skip", type=int, default=20, help="warm-up steps left out of the throughput")
    ap.add_argument("--rounds", type=int, default=5, help="A/B rounds; the first is dropped")
    ap.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tuned", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.bare:
        if args.tuned:
            sys.path.insert(0, str(ROOT))
            from trainer_runtime.worker import allocator

            allocator.tune()  # before torch is imported
        print(json.dumps(bare(args.steps, args.skip)))
        return 0

    sys.path.insert(0, str(ROOT))
    from trainer_runtime.client.client import Client, start_daemon
    from trainer_runtime.paths import DataDir

    with tempfile.TemporaryDirectory(prefix="st-bench-") as home:
        os.environ["SPARKTRAINER_HOME"] = home
        os.environ["SPARKTRAINER_CPU_SLOTS"] = "1"  # one job owns the machine, like the bare loop
        os.environ["OMP_NUM_THREADS"] = THREADS
        data = DataDir.default()
        start_daemon(data)
        client = Client(data)
        a, a2, b = [], [], []
        try:
            for r in range(args.rounds):
                # Counterbalanced order (A A' B, B A' A, ...): whichever runs last in a round
                # must not always be the same one.
                if r % 2 == 0:
                    ra = run_bare(args.steps, args.skip)
                    ra2 = run_bare(args.steps, args.skip, tuned=True)
                    rb = run_job(client, args.steps, args.skip)
                else:
                    rb = run_job(client, args.steps, args.skip)
                    ra2 = run_bare(args.steps, args.skip, tuned=True)
                    ra = run_bare(args.steps, args.skip)
                tag = "warm-up, dropped" if r == 0 else "kept"
                print(f"round {r}: bare {ra['steps_per_s']:.1f} steps/s (wall {ra['wall_s']:.1f}s)   "
                      f"bare+malloc {ra2['steps_per_s']:.1f}   "
                      f"job {rb['steps_per_s']:.1f} steps/s (wall {rb['wall_s']:.1f}s)   [{tag}]", flush=True)  # fmt: skip
                if r:
                    a.append(ra)
                    a2.append(ra2)
                    b.append(rb)
        finally:
            client.shutdown()
    bare_rate = statistics.median(x["steps_per_s"] for x in a)
    tuned_rate = statistics.median(x["steps_per_s"] for x in a2)
    job_rate = statistics.median(x["steps_per_s"] for x in b)
    print(f"\nmodel tiny-gpt2 LoRA, batch 16 x seq 128, {args.steps} steps, {THREADS} threads")
    print(f"bare loop          : {bare_rate:8.1f} steps/s (median of {len(a)})")
    print(f"bare loop + malloc : {tuned_rate:8.1f} steps/s (the worker's allocator settings)")
    print(f"runtime            : {job_rate:8.1f} steps/s (median of {len(b)})")
    print(f"ratio job/bare = {job_rate / bare_rate:.3f}  (target >= 0.97)")
    print(f"ratio job/(bare + malloc settings) = {job_rate / tuned_rate:.3f}  (the runtime's own cost)")
    print(f"end to end incl. process start: bare {statistics.median(x['wall_s'] for x in a):.1f}s, "
          f"job {statistics.median(x['wall_s'] for x in b):.1f}s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
