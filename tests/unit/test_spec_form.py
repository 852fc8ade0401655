"""The wizard's form model: flat values <-> spec mapping, problems placed at fields. No Qt."""

from __future__ import annotations

from pathlib import Path

import yaml

from sparktrainer_gui.panels.jobs import spec_form
from trainer_runtime.jobs.spec import load_spec_file, parse_spec

ROOT = Path(__file__).resolve().parents[2]


def _values(**over: str) -> dict[str, str]:
    return {**spec_form.DEFAULTS, "name": "t1", "dataset.path": "/data/c.txt", **over}


def test_defaults_validate_and_use_the_spec_defaults() -> None:
    spec, problems = spec_form.validate(_values())
    assert problems == [] and spec is not None
    assert spec.train.max_steps == 200 and spec.train.batch_size == 8 and spec.train.lr == 3e-4
    assert spec.lora is not None and spec.lora.r == 8
    assert spec.model.builtin == "tiny-gpt2" and spec.resources.devices == 1


def test_numbers_are_parsed_and_bad_text_reaches_validation() -> None:
    spec, _ = spec_form.validate(_values(**{"train.lr": "3e-3", "train.max_steps": "12"}))
    assert spec is not None and spec.train.lr == 0.003 and spec.train.max_steps == 12
    _, problems = spec_form.validate(_values(**{"train.max_steps": "0", "train.batch_size": "many"}))
    at, general = spec_form.place_problems(problems)
    assert at["train.max_steps"] == ["Input should be greater than 0"]
    assert "valid integer" in at["train.batch_size"][0] and general == []
    _, problems = spec_form.validate(_values(**{"train.max_steps": ""}))
    assert spec_form.place_problems(problems)[0] == {"train.max_steps": ["Field required"]}


def test_full_method_drops_lora_fields() -> None:
    spec_dict = spec_form.form_to_spec(_values(method="full", **{"lora.r": "-3"}))
    assert "lora" not in spec_dict
    assert parse_spec(spec_dict).method == "full"


def test_model_sources() -> None:
    d = spec_form.form_to_spec(_values(**{"model.source": "path", "model.path": " /m "}))
    assert d["model"] == {"path": "/m"}
    _, problems = spec_form.validate(_values(**{"model.source": "hub_id", "model.hub_id": ""}))
    assert "model.source" in spec_form.place_problems(problems)[0]


def test_sample_spec_round_trips_through_the_form() -> None:
    spec = load_spec_file(ROOT / "resources" / "samples" / "tiny-lora.yaml")
    values, extras = spec_form.spec_to_form(spec.to_dict())
    again, problems = spec_form.validate(values, extras)
    assert problems == [] and again == spec


def test_fields_without_widgets_survive_as_extras() -> None:
    data = {"name": "x", "model": {"builtin": "tiny-gpt2"}, "dataset": {"path": "/c.jsonl", "text_field": "body"},
            "train": {"max_steps": 5, "weight_decay": 0.1}, "tags": {"team": "nlp"}, "method": "full"}  # fmt: skip
    values, extras = spec_form.spec_to_form(data)
    assert (
        values["method"] == "full"
        and values["train.max_steps"] == "5"
        and values["dataset.path"] == "/c.jsonl"
    )
    assert extras == {
        "dataset": {"text_field": "body"},
        "train": {"weight_decay": 0.1},
        "tags": {"team": "nlp"},
    }
    spec, problems = spec_form.validate(values, extras)
    assert problems == [] and spec == parse_spec(data)


def test_bad_spec_problems_land_at_fields_or_in_general() -> None:
    data = yaml.safe_load("name: 'bad name!'\nmodel: {builtin: tiny-gpt2, path: /x}\ndataset: {path: c.txt}\n"
                          "train: {max_steps: -1, lr: fast, bogus: 1}\npriority: 500\n")  # fmt: skip
    values, extras = spec_form.spec_to_form(data)
    assert values["train.lr"] == "fast" and values["train.max_steps"] == "-1"
    _, problems = spec_form.validate(values, extras)
    at, general = spec_form.place_problems(problems)
    assert set(at) >= {"name", "train.max_steps", "train.lr", "priority"}
    assert general == ["train.bogus: unknown field"]


def test_field_for_sections() -> None:
    assert spec_form.field_for("model") == "model.source"
    assert spec_form.field_for("lora") == "lora.r"
    assert spec_form.field_for("dataset.path") == "dataset.path"
    assert spec_form.field_for("") is None and spec_form.field_for("tags.x") is None


def test_generated_forms_are_up_to_date() -> None:
    from sparktrainer_gui.forms import stale_forms

    assert stale_forms() == [], "run: .venv/bin/python -m sparktrainer_gui.forms"


def test_image_classification_sends_no_language_model_fields() -> None:
    values = _values(
        recipe="image-classification", **{"model.builtin": "small-cnn", "dataset.path": "/data/pets"}
    )
    data = spec_form.form_to_spec(values)
    assert "method" not in data and "lora" not in data and "seq_len" not in data["train"]
    spec, problems = spec_form.validate(values)
    assert problems == [] and spec is not None
    assert (spec.recipe, spec.method, spec.lora, spec.model.builtin) == (
        "image-classification",
        "full",
        None,
        "small-cnn",
    )
    # Back into the form: the recipe and model come back, and saving again gives the same spec.
    again, extras = spec_form.spec_to_form(spec.to_dict())
    assert again["recipe"] == "image-classification" and again["model.builtin"] == "small-cnn"
    assert parse_spec(spec_form.form_to_spec(again, extras)) == spec
    # A language model is not an image model (only an opened spec can say so; the form offers
    # small-cnn alone): the spec's own sentence, in the general area.
    _, problems = spec_form.validate({**values, "model.builtin": "tiny-gpt2"})
    assert spec_form.place_problems(problems) == (
        {}, ["recipe 'image-classification' trains model.builtin 'small-cnn' or a local Hugging Face "
             "image model folder (model.path)"],
    )  # fmt: skip
