"""``POST /v1/sft/preview`` and ``sparktrainer datasets preview`` against a real daemon: rendered
examples with the trained text, the length histogram, the truncated and dropped counts and the
first batch; a wrong template or mapping answered with a sentence at its field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import cli, start_import, wait_import
from tests.models import tiny_model_folder
from trainer_runtime.api.schema.sft import PreviewDataset, PreviewModel, SftPreviewRequest
from trainer_runtime.client.client import ApiError
from trainer_runtime.datasets.tasks import ImportState

DATA = Path(__file__).resolve().parents[1] / "data" / "sft"
ALPACA = DATA / "alpaca_identity.json"


def request(dataset: dict, model: dict | None = None, **over) -> SftPreviewRequest:
    return SftPreviewRequest(
        dataset=PreviewDataset(**dataset), model=PreviewModel(**(model or {"builtin": "tiny-gpt2"})), **over
    )


def test_a_builtin_model_previews_alpaca_with_the_answers_trained(daemon) -> None:
    rows = json.loads(ALPACA.read_text())
    pv = daemon.sft_preview(request({"path": str(ALPACA)}, seq_len=40, batch_size=2, examples=2))
    assert (pv.format, pv.template_label, pv.total, pv.measured) == ("alpaca", "chatml", len(rows), len(rows))
    first = pv.examples[0]
    trained = "".join(s.text for s in first.spans if s.trained)
    masked = "".join(s.text for s in first.spans if not s.trained)
    assert rows[0]["output"] in trained and rows[0]["instruction"] in masked
    assert rows[0]["instruction"] not in trained
    assert first.trained_tokens > 0 and first.tokens > first.trained_tokens
    assert sum(b.count for b in pv.lengths_histogram) == pv.measured
    over = sum(b.count for b in pv.lengths_histogram if b.start > pv.seq_len)
    assert over == pv.truncated > 0  # some identity answers are longer than 40 tokens
    assert any("cut to it" in p for p in pv.problems)
    assert len(pv.first_batch) == 2 and all(len(r) == 40 for r in pv.first_batch)
    for ids, labels in zip(pv.first_batch, pv.first_batch_labels, strict=True):
        assert -100 in labels and any(x != -100 for x in labels)
        assert all(lab in (-100, i) for i, lab in zip(ids, labels, strict=True))


def test_a_model_folder_uses_its_own_template_and_an_imported_dataset_its_name(daemon, tmp_path) -> None:
    model = tiny_model_folder("qwen2.5", tmp_path / "qwen")
    task = wait_import(daemon, start_import(daemon, DATA / "sharegpt_fastchat_dummy.json", "chats"))
    assert task.state is ImportState.COMPLETED
    pv = daemon.sft_preview(request({"name": "chats"}, {"path": str(model)}, seq_len=256, packing=False))
    assert (pv.format, pv.template_label) == ("sharegpt", "model")
    assert any("<|im_start|>assistant" in s.text for s in pv.examples[0].spans if not s.trained)
    assert pv.dropped == 0 and pv.first_batch


def test_a_template_that_does_not_exist_is_refused_at_sft_template(daemon) -> None:
    with pytest.raises(ApiError) as err:
        daemon.sft_preview(request({"path": str(ALPACA)}, template="vicuna"))
    assert err.value.status == 400
    (problem,) = err.value.problems
    assert problem["field"] == "sft.template" and "vicuna" in problem["message"]
    assert "chatml" in problem["message"] and "llama-3" in problem["message"]


def test_a_mapping_naming_missing_fields_names_the_fields_found(daemon) -> None:
    with pytest.raises(ApiError) as err:
        daemon.sft_preview(
            request({"path": str(ALPACA), "format": "alpaca", "columns": {"instruction": "question"}})
        )
    (problem,) = err.value.problems
    assert problem["field"] == "dataset.columns"
    assert "question" in problem["message"] and "instruction" in problem["message"]


def test_the_cli_prints_the_preview_with_the_trained_text_marked(daemon) -> None:
    out = cli("datasets", "preview", str(ALPACA), "--model", "tiny-gpt2", "--seq-len", "64", "--examples", "1",
              check=True)  # fmt: skip
    assert "format alpaca, template chatml, seq_len 64" in out.stdout
    rows = json.loads(ALPACA.read_text())
    assert f"⟦{rows[0]['output']}" in out.stdout
    assert "example lengths (tokens):" in out.stdout and "first batch row 0" in out.stdout
    bad = cli("datasets", "preview", str(ALPACA), "--model", "tiny-gpt2", "--template", "nope")
    assert bad.returncode != 0 and "sft.template" in bad.stderr and "nope" in bad.stderr
    js = cli("datasets", "preview", str(ALPACA), "--model", "tiny-gpt2", "--json", check=True)
    assert json.loads(js.stdout)["format"] == "alpaca"
