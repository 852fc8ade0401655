"""The new-job wizard against a real daemon: fill, validate at the fields, open/save specs,
drop files, submit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QLabel, QLineEdit

from sparktrainer_gui.panels.jobs.spec_form import SAMPLE_CORPUS
from sparktrainer_gui.panels.jobs.wizard import NewJobWizard
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.jobs.spec import load_spec_file, parse_spec

WAIT_MS = 15_000


@pytest.fixture
def wizard(qtbot, conn: RuntimeConnection) -> NewJobWizard:
    w = NewJobWizard(conn)
    qtbot.addWidget(w)
    w.show()
    return w


def type_into(qtbot, edit: QLineEdit, text: str) -> None:
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(edit, text)


def error_at(w: NewJobWizard, key: str) -> QLabel:
    return w._errors[key]


def wait_ready(qtbot, w: NewJobWizard, ready: bool = True) -> None:
    qtbot.waitUntil(
        lambda: not w._timer.isActive() and w.form.submit_button.isEnabled() is ready, timeout=WAIT_MS
    )


def test_fill_and_submit_the_sample_lora_job(qtbot, wizard: NewJobWizard, daemon, corpus: Path) -> None:
    f = wizard.form
    type_into(qtbot, f.name_edit, "gui-lora")
    type_into(qtbot, f.experiment_edit, "gui-tests")
    f.method_combo.setCurrentIndex(f.method_combo.findData("lora"))
    assert f.lora_group.isVisibleTo(wizard)
    for edit, text in ((f.lora_r_edit, "4"), (f.lora_alpha_edit, "8"), (f.lora_dropout_edit, "0.1"),
                       (f.train_max_steps_edit, "30"), (f.train_batch_size_edit, "4"), (f.train_seq_len_edit, "32"),
                       (f.train_lr_edit, "3e-3"), (f.train_seed_edit, "7"), (f.train_warmup_steps_edit, "2"),
                       (f.train_eval_every_edit, "10"), (f.train_checkpoint_every_edit, "10")):  # fmt: skip
        type_into(qtbot, edit, text)
    type_into(qtbot, f.dataset_path_edit, str(corpus))
    type_into(qtbot, f.priority_edit, "5")
    wait_ready(qtbot, wizard)
    assert not any(label.isVisible() for label in wizard._errors.values())

    with qtbot.waitSignal(wizard.job_submitted, timeout=WAIT_MS) as sig:
        qtbot.mouseClick(f.submit_button, Qt.MouseButton.LeftButton)
    job_id = sig.args[0]
    assert job_id in [j.id for j in daemon.jobs()]
    spec = daemon.job(job_id).spec
    assert spec["name"] == "gui-lora" and spec["experiment"] == "gui-tests" and spec["priority"] == 5
    assert spec["method"] == "lora" and spec["lora"] == {"r": 4, "alpha": 8.0, "dropout": 0.1}
    assert spec["model"] == {"builtin": "tiny-gpt2"} and spec["dataset"]["path"] == str(corpus)
    assert {k: spec["train"][k] for k in ("max_steps", "batch_size", "seq_len", "lr", "seed", "warmup_steps",
            "eval_every", "checkpoint_every")} == {"max_steps": 30, "batch_size": 4, "seq_len": 32, "lr": 0.003,
            "seed": 7, "warmup_steps": 2, "eval_every": 10, "checkpoint_every": 10}  # fmt: skip
    assert wizard.result() == QDialog.DialogCode.Accepted
    daemon.action(job_id, "cancel")


def test_full_method_hides_lora(qtbot, wizard: NewJobWizard) -> None:
    f = wizard.form
    f.method_combo.setCurrentIndex(f.method_combo.findData("full"))
    assert not f.lora_group.isVisibleTo(wizard)
    assert "lora" not in wizard.spec_dict()


def test_invalid_fields_show_messages_and_block_submit(
    qtbot, wizard: NewJobWizard, corpus: Path, tmp_path: Path
) -> None:
    f = wizard.form
    type_into(qtbot, f.dataset_path_edit, str(corpus))
    wait_ready(qtbot, wizard)

    type_into(qtbot, f.train_max_steps_edit, "0")
    wait_ready(qtbot, wizard, ready=False)
    assert error_at(wizard, "train.max_steps").isVisible()
    assert error_at(wizard, "train.max_steps").text() == "Input should be greater than 0"
    type_into(qtbot, f.train_max_steps_edit, "10")
    wait_ready(qtbot, wizard)
    assert not error_at(wizard, "train.max_steps").isVisible()

    binary = tmp_path / "weights.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    type_into(qtbot, f.dataset_path_edit, str(binary))
    wait_ready(qtbot, wizard, ready=False)
    qtbot.waitUntil(lambda: "looks binary" in error_at(wizard, "dataset.path").text(), timeout=WAIT_MS)

    type_into(qtbot, f.dataset_path_edit, str(corpus))
    no_config = tmp_path / "not-a-model"
    no_config.mkdir()
    qtbot.mouseClick(f.model_path_radio, Qt.MouseButton.LeftButton)
    type_into(qtbot, f.model_path_edit, str(no_config))
    qtbot.waitUntil(lambda: "has no config.json" in error_at(wizard, "model.path").text(), timeout=WAIT_MS)
    assert error_at(wizard, "model.path").isVisible() and not f.submit_button.isEnabled()
    with qtbot.assertNotEmitted(wizard.job_submitted):
        wizard._on_submit_button_clicked()  # refused even when called directly
    assert f.submit_button.text() == "Submit"


def test_model_folder_shows_architecture_and_parameter_count(
    qtbot, wizard: NewJobWizard, tmp_path: Path, monkeypatch
) -> None:
    from safetensors.numpy import save_file

    model = tmp_path / "gpt2-mini"
    model.mkdir()
    (model / "config.json").write_text(
        json.dumps({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"})
    )
    save_file(
        {"a": np.zeros((1000, 64), np.float32), "b": np.zeros((64,), np.float32)},
        str(model / "model.safetensors"),
    )
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(model)))
    qtbot.mouseClick(
        wizard.form.model_browse_button, Qt.MouseButton.LeftButton
    )  # disabled: built-in is chosen
    assert wizard.form.model_path_edit.text() == ""
    qtbot.mouseClick(wizard.form.model_path_radio, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(wizard.form.model_browse_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "parameters" in wizard.form.model_info_label.text(), timeout=WAIT_MS)
    assert wizard.form.model_info_label.text() == "GPT2LMHeadModel (gpt2) · 64.1K parameters"
    assert wizard.spec_dict()["model"] == {"path": str(model)}


def test_daemon_side_problems_are_shown_at_the_fields(
    qtbot, wizard: NewJobWizard, daemon, corpus: Path, tmp_path: Path
) -> None:
    doomed = tmp_path / "doomed.txt"
    doomed.write_text(corpus.read_text())
    type_into(qtbot, wizard.form.dataset_path_edit, str(doomed))
    wait_ready(qtbot, wizard)
    doomed.unlink()  # gone between the wizard's check and the daemon's
    with qtbot.assertNotEmitted(wizard.job_submitted, wait=200):
        qtbot.mouseClick(wizard.form.submit_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(
            lambda: "dataset file not found" in error_at(wizard, "dataset.path").text(), timeout=WAIT_MS
        )
    assert not wizard.form.submit_button.isEnabled() and daemon.jobs() == []


def test_open_bad_spec_shows_each_problem_at_its_field(
    qtbot, wizard: NewJobWizard, spec_file, monkeypatch
) -> None:
    bad = spec_file(
        "bad.yaml", name="bad name!", priority=500, train={"max_steps": 0, "lr": "fast", "bogus": 1}
    )
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(bad), "")))
    qtbot.mouseClick(wizard.form.open_spec_button, Qt.MouseButton.LeftButton)
    assert wizard.form.name_edit.text() == "bad name!" and wizard.form.train_lr_edit.text() == "fast"
    qtbot.waitUntil(lambda: error_at(wizard, "train.max_steps").isVisible(), timeout=WAIT_MS)
    assert "starting with a letter or digit" in error_at(wizard, "name").text()
    assert error_at(wizard, "train.max_steps").text() == "Input should be greater than 0"
    assert "valid number" in error_at(wizard, "train.lr").text()
    assert "less than or equal to 100" in error_at(wizard, "priority").text()
    assert wizard.form.general_error.text() == "train.bogus: unknown field"
    assert not wizard.form.submit_button.isEnabled()


def test_save_as_spec_round_trips(
    qtbot, wizard: NewJobWizard, spec_file, tmp_path: Path, monkeypatch
) -> None:
    src = spec_file("src.yaml", tags={"team": "nlp"}, train={"weight_decay": 0.01})
    assert wizard.open_spec(src)
    type_into(qtbot, wizard.form.train_max_steps_edit, "77")
    type_into(qtbot, wizard.form.lora_r_edit, "16")
    wait_ready(qtbot, wizard)
    out = tmp_path / "saved.yaml"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    qtbot.mouseClick(wizard.form.save_spec_button, Qt.MouseButton.LeftButton)
    saved = load_spec_file(out)
    assert saved == parse_spec(wizard.spec_dict()) == wizard.spec
    assert saved.train.max_steps == 77 and saved.lora.r == 16
    assert saved.tags == {"team": "nlp"} and saved.train.weight_decay == 0.01  # fields without widgets kept


def _drop(widget, path: Path) -> tuple[bool, bool]:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(widget.rect().center(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)  # fmt: skip
    QApplication.sendEvent(widget, enter)
    drop = QDropEvent(QPointF(widget.rect().center()), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)  # fmt: skip
    QApplication.sendEvent(widget, drop)
    return enter.isAccepted(), drop.isAccepted()


def test_dropped_files(qtbot, wizard: NewJobWizard, corpus: Path, tmp_path: Path) -> None:
    png = tmp_path / "cat.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    assert _drop(wizard, png) == (True, False)
    assert (
        wizard.form.dataset_drop_label.text()
        == "Refused the dropped file: cat.png is not a text dataset (.txt or .jsonl)."
    )
    assert wizard.form.dataset_path_edit.text() == str(SAMPLE_CORPUS)  # the refused drop changed nothing

    assert _drop(wizard, corpus) == (True, True)
    assert wizard.form.dataset_path_edit.text() == str(corpus)
    assert "Refused" not in wizard.form.dataset_drop_label.text()
    wait_ready(qtbot, wizard)


def _choose_recipe(wizard: NewJobWizard, recipe: str) -> None:
    combo = wizard.form.recipe_combo
    index = combo.findData(recipe)
    combo.setCurrentIndex(index)
    combo.activated.emit(index)  # what a user's pick in the list sends


def test_image_classification_job_from_a_dropped_image_folder(
    qtbot, wizard: NewJobWizard, daemon, tmp_path: Path
) -> None:
    from tests.graph_helpers import make_image_folder

    f = wizard.form
    _choose_recipe(wizard, "image-classification")
    # Only what an image recipe uses is shown: no method, LoRA, sequence length or hub model.
    assert not f.method_combo.isVisibleTo(wizard) and not f.lora_group.isVisibleTo(wizard)
    assert not f.train_seq_len_edit.isVisibleTo(wizard) and not f.model_hub_radio.isEnabled()
    assert [f.model_builtin_combo.itemData(i) for i in range(f.model_builtin_combo.count())] == ["small-cnn"]
    assert f.train_lr_edit.text() == "0.001"
    assert f.dataset_drop_label.text().startswith("Or drop an image folder")

    png = make_image_folder(tmp_path / "src", per_class=1) / "checks" / "000.png"
    one_class = tmp_path / "one"
    (one_class / "cats").mkdir(parents=True)
    for i in range(3):
        (one_class / "cats" / f"{i}.png").write_bytes(png.read_bytes())
    assert _drop(wizard, png) == (True, False)
    assert "is a file; image classification reads an image folder" in f.dataset_drop_label.text()
    assert _drop(wizard, one_class) == (True, True)
    wait_ready(qtbot, wizard, ready=False)
    qtbot.waitUntil(
        lambda: "at least two classes" in error_at(wizard, "dataset.path").text(), timeout=WAIT_MS
    )

    folder = make_image_folder(tmp_path / "shapes", per_class=12)
    assert _drop(wizard, folder) == (True, True)
    type_into(qtbot, f.name_edit, "gui-cnn")
    type_into(qtbot, f.train_max_steps_edit, "20")
    type_into(qtbot, f.train_batch_size_edit, "12")
    type_into(qtbot, f.train_eval_every_edit, "10")
    wait_ready(qtbot, wizard)
    sent = wizard.spec_dict()
    assert "method" not in sent and "lora" not in sent and "seq_len" not in sent["train"]
    with qtbot.waitSignal(wizard.job_submitted, timeout=WAIT_MS) as sig:
        qtbot.mouseClick(f.submit_button, Qt.MouseButton.LeftButton)
    job = daemon.wait(sig.args[0], timeout=300)
    spec = job.spec
    assert (spec["recipe"], spec["model"], spec["method"]) == (
        "image-classification",
        {"builtin": "small-cnn"},
        "full",
    )
    assert "lora" not in spec and spec["dataset"]["path"] == str(folder)
    assert job.state == "COMPLETED", job.reason
    assert job.metrics["eval_accuracy"].count >= 2


def test_switching_recipes_keeps_typed_values_and_restores_the_language_model_fields(
    qtbot, wizard: NewJobWizard
) -> None:
    f = wizard.form
    type_into(qtbot, f.train_lr_edit, "0.02")
    _choose_recipe(wizard, "image-classification")
    assert f.train_lr_edit.text() == "0.02" and f.model_builtin_combo.currentData() == "small-cnn"
    assert f.dataset_path_edit.text() == ""  # the sample corpus is no image folder
    _choose_recipe(wizard, "causal-lm")
    assert f.dataset_path_edit.text() == str(SAMPLE_CORPUS)
    assert f.method_combo.isVisibleTo(wizard) and f.lora_group.isVisibleTo(wizard)
    assert f.train_seq_len_edit.isVisibleTo(wizard) and f.model_hub_radio.isEnabled()
    assert f.model_builtin_combo.currentData() == "tiny-gpt2" and f.train_lr_edit.text() == "0.02"
    assert f.dataset_drop_label.text() == "Or drop a .txt or .jsonl file anywhere on this window."
    wait_ready(qtbot, wizard)
    assert wizard.spec is not None and wizard.spec.recipe == "causal-lm" and wizard.spec.train.lr == 0.02


def test_a_recipe_field_without_a_widget_is_rendered_from_the_daemons_data(
    qtbot, wizard: NewJobWizard, daemon
) -> None:
    from trainer_runtime.api.schema.recipes import recipe_view
    from trainer_runtime.jobs.recipes import DatasetRule, FormField, Recipe

    wizard.reload_recipes()  # the daemon started after the wizard asked
    qtbot.waitUntil(lambda: wizard.recipes_listed, timeout=WAIT_MS)
    extra = recipe_view(Recipe(
        name="decaying", title="Decaying", description="only in this daemon", worker="m:f",
        dataset=DatasetRule(materialize="files", pick="folder", hint="a folder of anything"),
        fields=(FormField("train.max_steps", "Steps", "int", default=50),
                FormField("train.weight_decay", "Weight decay", "float", default=0.25, help="L2")),
    ))  # fmt: skip
    wizard._on_recipes_listed([*wizard.catalog.views, extra])  # as a daemon with one more recipe answers
    _choose_recipe(wizard, "decaying")
    f = wizard.form
    assert wizard.recipe_fields.extra_group.isVisibleTo(wizard)
    edit = wizard.recipe_fields.extra_inputs["train.weight_decay"]
    assert edit.text() == "0.25" and "from 0 to 10" in edit.toolTip()  # the spec's own bounds
    assert not f.train_lr_edit.isVisibleTo(wizard) and not f.method_combo.isVisibleTo(wizard)
    assert (
        not f.model_builtin_radio.isEnabled() and f.model_path_radio.isChecked()
    )  # it has no built-in model
    assert f.dataset_drop_label.text().startswith("Or drop a folder")
    type_into(qtbot, edit, "0.5")
    sent = wizard.spec_dict()
    assert sent["recipe"] == "decaying" and sent["train"] == {"max_steps": 50, "weight_decay": 0.5}
    assert "method" not in sent and "lora" not in sent
