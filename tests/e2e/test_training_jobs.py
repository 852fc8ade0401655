"""Real jobs through the real CLI and daemon: tiny GPT-2, LoRA and full fine-tuning."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.helpers import cli

pytestmark = pytest.mark.e2e


def submit(spec: Path) -> str:
    return cli("jobs", "submit", str(spec), check=True).stdout.strip()


def wait_ok(job_id: str, timeout: float = 400) -> dict:
    out = cli("jobs", "wait", job_id, "--timeout", str(timeout), "--json", timeout=timeout + 30)
    job = json.loads(out.stdout) if out.stdout.strip().startswith("{") else {}
    assert out.returncode == 0, (
        f"job {job_id} did not complete: {out.stdout}{out.stderr}\n{cli('jobs', 'logs', job_id).stdout[-3000:]}"
    )
    return job


def metric(job_id: str, key: str) -> list[tuple[int, float]]:
    out = cli("jobs", "metrics", job_id, "--key", key, "--json", check=True)
    return [(p["step"], p["value"]) for p in json.loads(out.stdout)]


def reloaded_eval_loss(job_dir: Path) -> float:
    """Eval loss of the model reloaded from final/, on the same eval batches the worker used."""
    import torch

    from trainer_runtime.jobs.spec import parse_spec
    from trainer_runtime.worker.data import BlockData
    from trainer_runtime.worker.models import load_trained

    spec = parse_spec(json.loads((job_dir / "spec.json").read_text()))
    model, tokenizer = load_trained(job_dir)
    data = BlockData.build(spec.dataset, tokenizer, spec.train.seq_len, spec.train.seed)
    losses = []
    with torch.no_grad():
        for batch in data.eval_batches(spec.train.batch_size, spec.train.eval_batches):
            losses.append(model(input_ids=batch, labels=batch).loss.item())
    return sum(losses) / len(losses)


@pytest.mark.parametrize("method", ["lora", "full"])
def test_job_completes_learns_and_reloads(daemon, spec_file, method: str):
    job_id = submit(
        spec_file(name=f"tiny-{method}", method=method, train={"max_steps": 40, "eval_every": 20})
    )
    job = wait_ok(job_id)
    assert job["state"] == "COMPLETED" and job["reason"] == "completed 40 steps"
    losses = metric(job_id, "loss")
    assert [s for s, _ in losses] == list(range(1, 41))
    evals = metric(job_id, "eval_loss")
    assert [s for s, _ in evals] == [0, 20, 40]
    assert evals[-1][1] < evals[0][1], f"eval loss did not fall: {evals}"
    assert all(math.isfinite(v) for _, v in losses)
    for key in ("lr", "grad_norm", "tokens_per_s"):
        assert len(metric(job_id, key)) == 40
    show = json.loads(cli("jobs", "show", job_id, "--json", check=True).stdout)
    assert show["metrics"]["loss"]["count"] == 40 and show["best_eval_loss"] == min(v for _, v in evals)
    artifacts = {a.kind for a in daemon.artifacts(job_id)}
    assert ("adapter" if method == "lora" else "model") in artifacts
    job_dir = Path(show["job_dir"])
    if method == "lora":
        assert (job_dir / "final" / "adapter_config.json").is_file()
    else:
        assert (job_dir / "final" / "config.json").is_file()
    assert reloaded_eval_loss(job_dir) == pytest.approx(evals[-1][1], rel=1e-5, abs=1e-6)


def test_sample_spec_is_valid_and_runs_short(daemon, tmp_path: Path):
    """The bundled sample (shortened to 20 steps here) runs as shipped."""
    import yaml

    from tests.helpers import ROOT

    sample = yaml.safe_load((ROOT / "resources/samples/tiny-lora.yaml").read_text())
    sample["dataset"]["path"] = str(ROOT / "resources/samples/corpus.txt")
    sample["train"].update(max_steps=20, eval_every=10, checkpoint_every=10)
    spec = tmp_path / "sample.yaml"
    spec.write_text(yaml.safe_dump(sample))
    job_id = submit(spec)
    wait_ok(job_id)
    ckpts = [a for a in daemon.artifacts(job_id) if a.kind == "checkpoint"]
    assert [a.step for a in ckpts] == [10, 20]


def test_logs_follow_ends_with_the_job_and_list_filters_by_state(daemon, spec_file):
    job_id = submit(spec_file(train={"max_steps": 300, "eval_every": 100}))
    out = cli("jobs", "logs", job_id, "-f", timeout=300)  # returns once the job has ended
    assert out.returncode == 0
    assert "completed at step 300" in out.stdout and "worker finished: completed" in out.stdout
    done = json.loads(cli("jobs", "list", "--state", "COMPLETED", "--json", check=True).stdout)
    assert [j["id"] for j in done] == [job_id]
    assert json.loads(cli("jobs", "list", "--state", "RUNNING", "--json", check=True).stdout) == []
    table = cli("jobs", "list", check=True).stdout
    assert job_id in table and "COMPLETED" in table and "100%" in table
