"""The sft recipe's spec, its refusal of chat data for next-token training, its data (batches from
the step alone, the loss's divisor known on every rank) and a real worker run on a tiny GPT-2:
trained only on the answers, the template recorded in the saved tokenizer, generations logged."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import get_args

import pytest

from trainer_runtime.jobs.recipes.registry import get as get_recipe
from trainer_runtime.jobs.spec import DatasetFormat, LossOn, SpecError, parse_spec
from trainer_runtime.worker.testing import log_text, metric_series, read_events, run_worker, write_job

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "samples" / "sft-sample.json"
ALPACA = [
    {"instruction": "What is 2 plus 3?", "input": "", "output": "2 plus 3 is 5."},
    {"instruction": "Convert 2 hours to minutes.", "input": "", "output": "2 hours is 120 minutes."},
]


def sft_spec(path: Path, **extra) -> dict:
    spec = {
        "name": "sft",
        "recipe": "sft",
        "model": {"builtin": "tiny-gpt2"},
        "dataset": {"path": str(path)},
        "train": {"max_steps": 3},
    }
    spec.update(extra)
    return spec


def test_the_spec_names_match_the_sft_package():
    from trainer_runtime.jobs.recipes import sft as recipe
    from trainer_runtime.sft.formats import FORMATS
    from trainer_runtime.sft.render import LOSS_ON
    from trainer_runtime.sft.templates import TEMPLATES

    assert get_args(DatasetFormat) == FORMATS
    assert get_args(LossOn) == LOSS_ON
    assert set(recipe.TEMPLATE.choices) == set(TEMPLATES)
    assert set(recipe.FORMAT.choices) == set(FORMATS)


def test_an_sft_section_picks_the_recipe_and_belongs_to_it_alone(tmp_path: Path):
    data = tmp_path / "a.json"
    spec = sft_spec(data, sft={"loss_on": "all"})
    del spec["recipe"]
    assert parse_spec(spec).recipe == "sft"
    with pytest.raises(SpecError, match="'sft' settings belong to recipe 'sft'"):
        parse_spec({**spec, "recipe": "causal-lm"})
    with pytest.raises(SpecError, match="sft.template 'chatgpt' does not exist: use one of .*chatml"):
        parse_spec(sft_spec(data, sft={"template": "chatgpt"}))
    with pytest.raises(SpecError, match="eval_prompts"):
        parse_spec(sft_spec(data, sft={"eval_prompts": ["q"] * 9}))


def test_causal_lm_refuses_a_chat_format_named_in_its_spec(tmp_path: Path):
    spec = sft_spec(
        tmp_path / "a.jsonl",
        recipe="causal-lm",
        dataset={"path": str(tmp_path / "a.jsonl"), "format": "alpaca"},
    )
    with pytest.raises(SpecError, match="dataset.format 'alpaca' is chat/instruction data: use recipe 'sft'"):
        parse_spec(spec)
    del spec["recipe"]  # a spec naming no recipe but a chat format is an sft spec
    assert parse_spec(spec).recipe == "sft"
    spec["dataset"]["format"] = "text"
    assert parse_spec(spec).recipe == "causal-lm"


@pytest.mark.parametrize(
    ("name", "content", "text_field"),
    [
        ("alpaca.json", json.dumps(ALPACA), "text"),
        ("alpaca.jsonl", "\n".join(json.dumps(r) for r in ALPACA), "text"),
        ("alpaca.jsonl", "\n".join(json.dumps(r) for r in ALPACA), "output"),
        ("renamed.txt", json.dumps(ALPACA, indent=2), "text"),
    ],
)
def test_chat_rows_are_refused_for_next_token_training(
    tmp_path: Path, name: str, content: str, text_field: str
):
    from trainer_runtime.jobs.sft_checks import chat_data_problem, refuse_chat_data
    from trainer_runtime.worker.data import read_texts
    from trainer_runtime.worker.errors import WorkerError

    p = tmp_path / name
    p.write_text(content, encoding="utf-8")
    problem = chat_data_problem(p, text_field)
    assert problem is not None and f"{name} holds alpaca data" in problem and "use recipe 'sft'" in problem
    spec = parse_spec(sft_spec(p, recipe="causal-lm", dataset={"path": str(p), "text_field": text_field}))
    with pytest.raises(SpecError, match="holds alpaca data"):
        refuse_chat_data(spec)
    with pytest.raises(SpecError, match="holds alpaca data") as refused:  # at submit, before the suffix rule
        get_recipe("causal-lm").check_inputs(spec)
    assert "use a .txt or .jsonl file" not in str(refused.value)
    with pytest.raises(WorkerError, match="holds alpaca data"):
        read_texts(spec.dataset)


def test_text_stays_text_for_next_token_training(tmp_path: Path):
    from trainer_runtime.jobs.sft_checks import chat_data_problem

    txt = tmp_path / "corpus.txt"
    txt.write_text("A plain sentence.\n\nAnother one.\n", encoding="utf-8")
    jsonl = tmp_path / "texts.jsonl"
    jsonl.write_text('{"text": "one"}\n{"text": "two"}\n', encoding="utf-8")
    assert chat_data_problem(txt) is None and chat_data_problem(jsonl) is None


def _sample_data(packing: bool, seq_len: int = 96):
    from trainer_runtime.sft.formats import read_examples
    from trainer_runtime.sft.templates import TEMPLATES
    from trainer_runtime.worker.sft import render_text, template_tokens
    from trainer_runtime.worker.sft_data import SFTData
    from trainer_runtime.worker.tokenizer import train_bpe

    _, examples = read_examples(SAMPLE)
    template = TEMPLATES["chatml"]
    tok = train_bpe([render_text(template, e) for e in examples], special_tokens=template_tokens(template))
    tok.chat_template = template
    return SFTData.build(examples, tok, template, "completion", seq_len, 0.1, packing, seed=3)


@pytest.mark.parametrize("packing", [True, False])
def test_batches_come_from_the_step_alone_and_every_rank_knows_the_loss_divisor(packing: bool):
    data, report = _sample_data(packing)
    assert report.examples == 200 and report.train_examples + report.eval_examples == 200
    assert report.truncated == 0 and report.dropped == 0
    again, _ = _sample_data(packing)
    total = 0
    for step in (1, 2, 7, 40):
        batch = data.train_batch(step, 4)
        same = again.train_batch(step, 4)
        assert all(bool((batch[k] == same[k]).all()) for k in batch)
        counted = int((batch["labels"][:, 1:] != -100).sum())
        assert data.trained_tokens(step, 4) == counted
        halves = [data.train_batch(step, 4, s) for s in (slice(0, 2), slice(2, 4))]  # two ranks
        assert sum(int((h["labels"][:, 1:] != -100).sum()) for h in halves) == counted
        assert data.tokens(step, 4) <= batch["input_ids"].numel()
    for step in range(1, 41):
        total += data.trained_tokens(step, 4)
    assert data.trained_through(40, 4) == total
    if packing:
        assert report.rows < report.train_examples  # several short examples share a row


def test_an_sft_worker_trains_on_answers_records_its_template_and_generates(tmp_path: Path):
    spec = sft_spec(
        SAMPLE,
        method="full",
        sft={"eval_prompts": ["What is 6 times 7?", "Convert 4 kilometres to metres."], "max_new_tokens": 12},
        train={"max_steps": 40, "batch_size": 8, "seq_len": 96, "lr": 2e-3, "seed": 0, "eval_every": 20},
    )
    job = write_job(tmp_path / "job", spec)
    assert run_worker(job) == 0, log_text(job)
    events = read_events(job)
    started = events[0]
    assert (started["template"], started["format"], started["loss_on"]) == ("chatml", "alpaca", "completion")
    assert started["examples"] == 200 and started["truncated"] == 0
    evals = metric_series(events, "eval_loss")
    assert [s for s, _ in evals] == [0, 20, 40] and evals[-1][1] < evals[0][1] * 0.7, evals
    trained = metric_series(events, "trained_tokens")
    assert len(trained) == 40 and all(b[1] > a[1] for a, b in zip(trained, trained[1:], strict=False))
    lines = [json.loads(line) for line in (job / "generations.jsonl").read_text().splitlines()]
    assert [(g["step"], g["prompt"]) for g in lines][:2] == [
        (0, "What is 6 times 7?"),
        (0, "Convert 4 kilometres to metres."),
    ]
    assert [g["step"] for g in lines] == [0, 0, 20, 20, 40, 40]
    assert all(isinstance(g["output"], str) and g["time"] > 0 for g in lines)

    from transformers import AutoTokenizer

    from trainer_runtime.sft.templates import TEMPLATES

    for folder in (job / "tokenizer", job / "final"):
        tok = AutoTokenizer.from_pretrained(folder)
        assert tok.chat_template == TEMPLATES["chatml"]
        assert len(tok.tokenize("<|im_start|>")) == 1  # the template's markers are single tokens
    assert "template chatml" in log_text(job)


# ----------------------------------------------------------------------------- submit-time checks


def _checked(spec: dict) -> None:
    from trainer_runtime.jobs.checks import check_inputs

    check_inputs(parse_spec(spec))


def test_submit_names_the_bad_row_the_missing_template_and_a_too_short_seq_len(tmp_path: Path):
    from tests.models import tiny_model_folder

    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps(ALPACA[0]) + "\n" + json.dumps({"instruction": "Hi", "input": ""}) + "\n", encoding="utf-8"
    )
    with pytest.raises(SpecError, match="dataset.path: bad.jsonl: .*line 2"):
        _checked(sft_spec(bad))

    good = tmp_path / "good.json"
    good.write_text(json.dumps(ALPACA * 4), encoding="utf-8")
    folder = tiny_model_folder("llama-3", tmp_path / "llama")
    _checked(sft_spec(good, model={"path": str(folder)}))  # its own template, a seq_len that fits
    # at submit: the folder's tokenizer.json counts the prompts (tokenizers, no transformers)
    for loss_on in ("completion", "last_turn"):
        too_short = sft_spec(
            good, model={"path": str(folder)}, train={"max_steps": 3, "seq_len": 8}, sft={"loss_on": loss_on}
        )
        with pytest.raises(SpecError) as refused:
            _checked(too_short)
        assert re.search(
            r"train.seq_len: train.seq_len 8 is shorter than the shortest prompt \((\d+) tokens, example \d+ "
            r"of good.json\): no answer token would be trained. Raise train.seq_len above \1\.",
            str(refused.value),
        ), str(refused.value)
    _checked(
        sft_spec(
            good, model={"path": str(folder)}, train={"max_steps": 3, "seq_len": 8}, sft={"loss_on": "all"}
        )
    )
    # the worker refuses it at start too (a built-in model's tokenizer exists only there)
    from transformers import AutoTokenizer

    from trainer_runtime.sft.formats import read_examples
    from trainer_runtime.sft.templates import resolve
    from trainer_runtime.worker.errors import WorkerError
    from trainer_runtime.worker.sft import check_seq_len

    short = parse_spec(sft_spec(good, model={"path": str(folder)}, train={"max_steps": 3, "seq_len": 8}))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    with pytest.raises(
        WorkerError,
        match=r"train.seq_len: train.seq_len 8 is shorter than the shortest prompt \(\d+ tokens, example \d+ of good.json\)",
    ):
        check_seq_len(short, tokenizer, resolve(tokenizer, None)[0], read_examples(good)[1])

    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config.pop("chat_template", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    with pytest.raises(SpecError, match="sft.template: The model's tokenizer has no chat_template.*chatml"):
        _checked(sft_spec(good, model={"path": str(folder)}))
    _checked(sft_spec(good, model={"path": str(folder)}, sft={"template": "llama-3"}))  # named: fine


def test_submit_refuses_an_encoder_for_sft(tmp_path: Path):
    from tests.models import tiny_model_folder

    good = tmp_path / "good.json"
    good.write_text(json.dumps(ALPACA * 4), encoding="utf-8")
    bert = tiny_model_folder("bert", tmp_path / "bert")
    with pytest.raises(SpecError, match="model.path"):
        _checked(sft_spec(good, model={"path": str(bert)}))


def test_the_generations_route_reads_whole_lines_only(tmp_path: Path):
    from trainer_runtime.api.server import read_generations

    path = tmp_path / "generations.jsonl"
    assert read_generations(path) == []
    line = {"step": 10, "prompt": "Hi", "output": "Hello", "time": 1.5}
    path.write_text(json.dumps(line) + "\n" + '{"step": 20, "prompt": "Hi", "out', encoding="utf-8")
    assert [g.model_dump() for g in read_generations(path)] == [line]
