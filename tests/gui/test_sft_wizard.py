"""The new-job wizard for recipe sft against a real daemon: it opens with the bundled sample's
values, offers the daemon's formats, templates and loss choices, and shows the daemon's preview
(trained text highlighted, lengths against seq_len, the first batch); a wrong mapping shows the
daemon's sentence; a model folder's own template is preselected."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
import yaml
from PySide6.QtWidgets import QComboBox

from sparktrainer_gui.panels.jobs.sft_preview import MASKED_STYLE, TRAINED_STYLE, examples_html
from sparktrainer_gui.panels.jobs.wizard import NewJobWizard
from sparktrainer_gui.runtime import RuntimeConnection
from tests.models import tiny_model_folder
from trainer_runtime.sft.formats import FORMATS
from trainer_runtime.sft.render import LOSS_ON
from trainer_runtime.sft.templates import TEMPLATES

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"
WAIT_MS = 90_000  # a preview starts a process that tokenizes the dataset


@pytest.fixture
def wizard(qtbot, conn: RuntimeConnection, daemon) -> NewJobWizard:
    w = NewJobWizard(conn)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.recipes_listed, timeout=WAIT_MS)
    return w


def choose_sft(qtbot, w: NewJobWizard) -> None:
    combo = w.form.recipe_combo
    combo.setCurrentIndex(combo.findData("sft"))
    combo.activated.emit(combo.currentIndex())
    qtbot.waitUntil(lambda: w.preview_panel.isVisible(), timeout=WAIT_MS)


def combo(w: NewJobWizard, key: str) -> QComboBox:
    got = w.recipe_fields.extra_inputs[key]
    assert isinstance(got, QComboBox)
    return got


def test_sft_opens_with_the_sample_and_previews_it(qtbot, wizard: NewJobWizard) -> None:
    choose_sft(qtbot, wizard)
    sample = yaml.safe_load((SAMPLES / "tiny-sft.yaml").read_text())
    spec = wizard.spec_dict()
    assert spec["dataset"]["path"] == str((SAMPLES / sample["dataset"]["path"]).resolve())
    assert spec["dataset"]["format"] == sample["dataset"]["format"]
    assert {k: spec["sft"][k] for k in ("template", "loss_on", "packing")} == {
        k: sample["sft"][k] for k in ("template", "loss_on", "packing")
    }
    assert {k: spec["train"][k] for k in sample["train"]} == sample["train"]
    # the choices are the daemon's (the SFT package's names), not a list of the GUI's
    assert [combo(wizard, "dataset.format").itemData(i) for i in range(1, len(FORMATS) + 1)] == list(FORMATS)
    assert {combo(wizard, "sft.template").itemData(i) for i in range(1, len(TEMPLATES) + 1)} == set(TEMPLATES)
    assert {
        combo(wizard, "sft.loss_on").itemData(i) for i in range(combo(wizard, "sft.loss_on").count())
    } == set(LOSS_ON)
    panel = wizard.preview_panel
    qtbot.waitUntil(lambda: panel.preview is not None, timeout=WAIT_MS)
    pv = panel.preview
    assert (pv.format, pv.template_label, pv.seq_len) == ("alpaca", "chatml", sample["train"]["seq_len"])
    trained = next(s for s in pv.examples[0].spans if s.trained)
    masked = next(s for s in pv.examples[0].spans if not s.trained)
    rows = json.loads((SAMPLES / sample["dataset"]["path"]).read_text())
    assert rows[0]["output"] in trained.text and rows[0]["instruction"] in masked.text
    shown = examples_html(pv)  # what the browser shows: trained highlighted, masked dimmed
    assert f'<span style="{TRAINED_STYLE}">{html.escape(trained.text)}</span>' in shown
    assert f'<span style="{MASKED_STYLE}">{html.escape(masked.text)}</span>' in shown
    assert rows[0]["output"] in panel.examples.toPlainText()
    assert "seq_len" in panel.counts.text() and sum(b.count for b in panel.histogram.bins) == pv.measured
    assert len(pv.first_batch) == min(sample["train"]["batch_size"], pv.total)
    assert "row 0" in panel.batch.toPlainText()
    assert not panel.message.isVisible() or "cut" in panel.message.text()


def test_a_mapping_naming_missing_fields_shows_the_daemons_sentence(
    qtbot, wizard: NewJobWizard, tmp_path
) -> None:
    sample = yaml.safe_load((SAMPLES / "tiny-sft.yaml").read_text())
    sample["dataset"] = {
        "path": str(SAMPLES / sample["dataset"]["path"]), "format": "alpaca", "columns": {"instruction": "question"},
    }  # fmt: skip
    path = tmp_path / "mapped.yaml"
    path.write_text(yaml.safe_dump(sample))
    assert wizard.open_spec(path)
    panel = wizard.preview_panel
    qtbot.waitUntil(
        lambda: panel.message.isVisible() and "dataset.columns" in panel.message.text(), timeout=WAIT_MS
    )
    assert "question" in panel.message.text() and panel.preview is None
    assert "d93025" in panel.message.styleSheet()  # shown as an error


def test_a_model_folder_with_its_own_template_has_it_preselected(
    qtbot, wizard: NewJobWizard, tmp_path
) -> None:
    model = tiny_model_folder("qwen2.5", tmp_path / "qwen")
    choose_sft(qtbot, wizard)
    template = combo(wizard, "sft.template")
    template.setCurrentIndex(template.findData(""))
    template.activated.emit(template.currentIndex())
    wizard.form.model_path_radio.setChecked(True)
    wizard.form.model_path_edit.setText(str(model))
    panel = wizard.preview_panel
    qtbot.waitUntil(
        lambda: panel.preview is not None and panel.preview.template_label == "model", timeout=WAIT_MS
    )
    assert template.currentText() == "the model's own" and template.currentData() == ""
    assert "the model's own template" in panel.summary.text()
    assert "sft" not in wizard.spec_dict() or "template" not in wizard.spec_dict()["sft"]
