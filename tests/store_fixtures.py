"""Many jobs in a store at once (for listing tests and ``bench/job_listing.py``).

Rows go in through SQLAlchemy Core with the store's own tables, so column defaults apply and
the code works with the store's models of this tree or of an older one (the bench fills a
database for the previous release's daemon with the previous release's code)."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

STATES = ["COMPLETED"] * 6 + ["FAILED", "CANCELLED", "PAUSED"]


def spec(i: int) -> dict:
    """A spec the size of a real one (~600 bytes as JSON)."""
    return {
        "name": f"job-{i}", "experiment": f"exp-{i % 7}", "recipe": "causal-lm",
        "model": {"builtin": "tiny-gpt2"}, "method": "lora",
        "lora": {"r": 8, "alpha": 16, "dropout": 0.05},
        "dataset": {"path": f"/data/corpus-{i % 13}.txt", "text_field": "text", "eval_fraction": 0.1},
        "train": {"max_steps": 200, "batch_size": 8, "seq_len": 64, "lr": 0.003, "seed": i,
                  "warmup_steps": 0, "weight_decay": 0.0, "max_grad_norm": 1.0, "eval_every": 50,
                  "eval_batches": 8, "checkpoint_every": 50, "log_every": 1},
        "resources": {"devices": 1}, "priority": 0, "tags": {"team": "nlp", "run": str(i)},
    }  # fmt: skip


def bulk_jobs(db_path: Path, n: int, seed: int = 0) -> list[str]:
    """Add ``n`` finished or paused jobs (each with its transitions and an eval_loss summary for
    most) to the SQLite store at ``db_path`` (migrated to head). Returns their ids."""
    from sqlalchemy import func, insert, select

    from trainer_runtime.store import models as m
    from trainer_runtime.store.store import Store

    rng = random.Random(seed)
    store = Store(f"sqlite:///{db_path}")
    t0 = datetime(2026, 1, 1)
    try:
        with store.engine.begin() as conn:
            first = conn.scalar(select(func.count()).select_from(m.Job)) or 0
            ids = [f"{i:012x}" for i in range(first + 1, first + n + 1)]
            project = conn.scalar(select(m.Project.id).where(m.Project.name == "default"))
            if project is None:
                project = conn.execute(insert(m.Project).values(name="default")).inserted_primary_key[0]
            exps = {}
            for k in range(7):
                name = f"exp-{k}"
                exps[k] = (
                    conn.scalar(
                        select(m.Experiment.id).where(
                            m.Experiment.project_id == project, m.Experiment.name == name
                        )
                    )
                    or conn.execute(
                        insert(m.Experiment).values(project_id=project, name=name)
                    ).inserted_primary_key[0]
                )
            jobs, transitions, summaries = [], [], []
            for i, job_id in enumerate(ids, start=first):
                state = rng.choice(STATES)
                at = t0 + timedelta(seconds=i)
                jobs.append({
                    "id": job_id, "experiment_id": exps[i % 7], "name": f"job-{i}",
                    "spec_json": json.dumps(spec(i), sort_keys=True), "state": state, "attempt": 1,
                    "priority": 0, "reason": f"{state.lower()} for the bench", "devices": '["cpu:0"]',
                    "created_at": at, "queued_at": at, "started_at": at, "step": 200, "total_steps": 200,
                    "finished_at": None if state == "PAUSED" else at + timedelta(seconds=60),
                })  # fmt: skip
                for a, b in (("PENDING", "QUEUED"), ("QUEUED", "RUNNING"), ("RUNNING", state)):
                    transitions.append(
                        {
                            "job_id": job_id,
                            "attempt": 1,
                            "from_state": a,
                            "to_state": b,
                            "reason": "bench",
                            "at": at,
                        }
                    )
                if i % 4:
                    summaries.append({
                        "job_id": job_id, "attempt": 1, "key": "eval_loss", "last": 2.0, "last_step": 200,
                        "min": 1.0 + rng.random(), "max": 5.0, "count": 4,
                    })  # fmt: skip
            conn.execute(insert(m.Job), jobs)
            conn.execute(insert(m.JobStatusTransition), transitions)
            if summaries:
                conn.execute(insert(m.MetricSummary), summaries)
    finally:
        store.close()
    return ids
