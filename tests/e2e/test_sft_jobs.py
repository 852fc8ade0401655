"""SFT jobs through the real daemon and workers: LoRA on tiny models of five real families (each
with its own chat template, no target modules given) on alpaca, ShareGPT and OpenAI-messages
files from public projects; pause/resume equal to an uninterrupted run value by value; a
``kill -9`` of the daemon mid-job losing no metric; the final adapter reloaded to answer a chat
prompt formatted with the template the job recorded; generations served on their route."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import psutil
import pytest
import yaml

from tests.helpers import cli, wait_job
from trainer_runtime.client.client import Client, start_daemon
from trainer_runtime.paths import DataDir

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "sft"
SAMPLE = ROOT / "resources" / "samples" / "sft-sample.json"
# each family once, each format at least once (gemma-2's template refuses a system turn, so it
# gets the alpaca rows; the messages rows carry one)
CASES = [
    ("llama-3", "messages_openai_toy_chat.jsonl", "messages"),
    ("qwen2.5", "sharegpt_fastchat_dummy.json", "sharegpt"),
    ("mistral", "alpaca_identity.json", "alpaca"),
    ("gemma-2", "sharegpt_fastchat_dummy.json", "sharegpt"),
    ("phi-3", "alpaca_identity.json", "alpaca"),
]
TINY_TRAIN = {"max_steps": 24, "batch_size": 4, "seq_len": 256, "lr": 1e-2, "seed": 0, "eval_every": 12}
PROMPT = "What is 6 times 7?"


def submit(tmp_path: Path, spec: dict) -> str:
    path = tmp_path / f"{spec['name']}.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return cli("jobs", "submit", str(path), check=True).stdout.strip()


def events_of(job_dir: str | Path) -> list[dict]:
    lines = (Path(job_dir) / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def series(client: Client, job_id: str, key: str) -> list[tuple[int, float]]:
    return [(p.step, p.value) for p in client.metrics(job_id, key=key).points]


def sample_spec(name: str, **train) -> dict:
    return {
        "name": name,
        "recipe": "sft",
        "model": {"builtin": "tiny-gpt2"},
        "method": "full",
        "dataset": {"path": str(SAMPLE)},
        "sft": {"eval_prompts": [PROMPT], "max_new_tokens": 8},
        "train": {
            "max_steps": 300,
            "batch_size": 8,
            "seq_len": 96,
            "lr": 2e-3,
            "seed": 0,
            "eval_every": 100,
            **train,
        },
    }


def test_lora_sft_on_five_families_with_their_own_templates_and_a_reloaded_adapter(daemon, tmp_path: Path):
    from tests.models import tiny_model_folder

    jobs = {}
    for family, data, fmt in CASES:
        folder = tiny_model_folder(family, tmp_path / "models" / family)
        spec = {
            "name": f"sft-{family}",
            "recipe": "sft",
            "model": {"path": str(folder)},
            "method": "lora",
            "lora": {"r": 8, "alpha": 16},
            "dataset": {"path": str(DATA / data)},
            "sft": {"eval_prompts": [PROMPT], "max_new_tokens": 4},
            "train": TINY_TRAIN,
        }
        jobs[family] = (submit(tmp_path, spec), folder, fmt)
    for family, (job_id, folder, fmt) in jobs.items():
        job = wait_job(daemon, job_id, lambda j: j.is_terminal, timeout=400)
        log = cli("jobs", "logs", job_id).stdout
        assert job.state == "COMPLETED", f"{family}: {job.reason}\n{log[-3000:]}"
        evals = series(daemon, job_id, "eval_loss")
        assert [s for s, _ in evals] == [0, 12, 24] and evals[-1][1] < evals[0][1], (family, evals)
        started = events_of(job.job_dir)[0]
        assert (started["format"], started["template"]) == (fmt, "model"), family
        own = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8")).get("chat_template")
        own = own or (folder / "chat_template.jinja").read_text(encoding="utf-8")
        assert started["chat_template"] == own, family  # its own template, not a stand-in
        assert [g.step for g in daemon.generations(job_id).generations] == [0, 12, 24], family

    from transformers import AutoTokenizer

    from trainer_runtime.worker.models import load_trained

    job_dir = Path(daemon.job(jobs["llama-3"][0]).job_dir)
    model, tok = load_trained(job_dir)
    assert tok.chat_template == AutoTokenizer.from_pretrained(jobs["llama-3"][1]).chat_template
    text = tok.apply_chat_template(
        [{"role": "user", "content": PROMPT}], add_generation_prompt=True, tokenize=False
    )
    assert text.rstrip().endswith("<|start_header_id|>assistant<|end_header_id|>")
    ids = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    out = model.generate(input_ids=ids, max_new_tokens=5, do_sample=False, pad_token_id=tok.eos_token_id)
    assert out.shape[1] > ids.shape[1]
    assert type(model).__name__.startswith("Peft")  # the adapter, on its base


def test_sft_pause_resume_equals_an_uninterrupted_run(daemon, tmp_path: Path):
    paused = submit(tmp_path, sample_spec("paused"))
    straight = submit(tmp_path, sample_spec("straight"))
    wait_job(daemon, paused, lambda j: j.step >= 20, until_end=True)
    cli("jobs", "pause", paused, check=True)
    job = wait_job(daemon, paused, lambda j: j.state == "PAUSED", until_end=True)
    assert job.step < 300, "the job finished before its pause"
    cli("jobs", "resume", paused, check=True)
    for job_id in (paused, straight):
        done = wait_job(daemon, job_id, lambda j: j.is_terminal, timeout=400)
        assert done.state == "COMPLETED", done.reason
    for key in ("loss", "eval_loss", "trained_tokens"):
        a, b = series(daemon, paused, key), series(daemon, straight, key)
        assert a == b, key  # value by value, float-equal
    assert [s for s, _ in series(daemon, paused, "loss")] == list(range(1, 301))
    gens = [(g.step, g.output) for g in daemon.generations(straight).generations]
    assert [s for s, _ in gens] == [0, 100, 200, 300]


def test_kill_9_of_the_daemon_during_an_sft_job_loses_no_metric(daemon, tmp_path: Path):
    job_id = submit(tmp_path, sample_spec("killed", max_steps=400))
    wait_job(daemon, job_id, lambda j: j.step >= 20, until_end=True)
    daemon_pid = daemon.status().pid
    running = daemon.job(job_id)
    worker_pid, events = running.pid, Path(running.job_dir) / "events.jsonl"
    os.kill(daemon_pid, signal.SIGKILL)
    if psutil.pid_exists(daemon_pid):
        psutil.Process(daemon_pid).wait(10)
    deadline = time.monotonic() + 30  # the worker trains on while no daemon watches
    size = events.stat().st_size
    while events.stat().st_size == size and time.monotonic() < deadline and psutil.pid_exists(worker_pid):
        time.sleep(0.05)
    assert events.stat().st_size > size, "the worker wrote nothing while no daemon ran"
    start_daemon(DataDir.default())
    job = wait_job(daemon, job_id, lambda j: j.is_terminal, timeout=400)
    assert job.state == "COMPLETED", job.reason
    for key in ("loss", "grad_norm", "lr", "tokens_per_s", "trained_tokens"):
        assert [s for s, _ in series(daemon, job_id, key)] == list(range(1, 401)), key
        assert daemon.job(job_id).metrics[key].count == 400
    assert [s for s, _ in series(daemon, job_id, "eval_loss")] == [0, 100, 200, 300, 400]
