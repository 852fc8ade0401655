"""The new-job form per recipe: which fields it shows, which built-in models it offers, what a
dataset for it is (a text file or an image folder) and how a dropped or chosen one is checked.

``spec_form`` says what each recipe sends; this module makes the Designer form follow it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox, QFileDialog, QLineEdit, QWidget

from sparktrainer_gui.forms.new_job_ui import Ui_NewJobForm
from sparktrainer_gui.panels.jobs import spec_form
from sparktrainer_gui.panels.jobs.dataset_picker import DatasetPicker
from trainer_runtime.jobs.checks import check_dataset_file
from trainer_runtime.jobs.image_checks import check_image_folder
from trainer_runtime.jobs.spec import SpecError

DATASET_SUFFIXES = (".txt", ".jsonl")
DROP_HINT = "Or drop a .txt or .jsonl file anywhere on this window."
IMAGE_DROP_HINT = "Or drop an image folder (one sub-folder per class) anywhere on this window."
RECIPE_LABELS = {
    "causal-lm": "Causal language model (causal-lm)",
    "image-classification": "Image classification (image-classification)",
}


def dataset_problem(path: str, recipe: str = "causal-lm") -> str | None:
    """The dataset check's message for ``path``, or None when the recipe can train on it (reads
    the file, or lists the image folder)."""
    try:
        if spec_form.is_text_recipe(recipe):
            check_dataset_file(Path(path).expanduser())
        else:
            check_image_folder(Path(path).expanduser())
    except SpecError as err:
        return "; ".join(msg for _, msg in err.problems)
    return None


def drop_refusal(path: Path, recipe: str) -> str | None:
    """Why a dropped ``path`` cannot be the recipe's dataset, or None when it can."""
    if not spec_form.is_text_recipe(recipe):
        if path.is_dir():
            return None
        return f"{path.name} is a file; image classification trains on a folder with one sub-folder per class"
    if path.suffix.lower() in DATASET_SUFFIXES and path.is_file():
        return None
    if path.is_dir():
        return f"{path.name} is a folder, not a text dataset (.txt or .jsonl)"
    return f"{path.name} is not a text dataset (.txt or .jsonl)"


def drop_hint(recipe: str) -> str:
    return DROP_HINT if spec_form.is_text_recipe(recipe) else IMAGE_DROP_HINT


def choose_dataset(parent: QWidget, recipe: str, start: str) -> str:
    """A file (text recipes) or folder (image recipes) from a file dialog; "" when cancelled."""
    if spec_form.is_text_recipe(recipe):
        path, _ = QFileDialog.getOpenFileName(
            parent, "Choose a dataset", start, "Text datasets (*.txt *.jsonl);;All files (*)"
        )
        return path
    return QFileDialog.getExistingDirectory(
        parent, "Choose an image folder (one sub-folder per class)", start
    )


class RecipeFields:
    """Makes the form's widgets follow the chosen recipe."""

    def __init__(self, form: Ui_NewJobForm, picker: DatasetPicker):
        self.form = form
        self.picker = picker
        form.recipe_combo.blockSignals(True)  # set_values() chooses the recipe
        for recipe in spec_form.RECIPES:
            form.recipe_combo.addItem(RECIPE_LABELS[recipe], recipe)
        form.recipe_combo.blockSignals(False)

    def recipe(self) -> str:
        return str(self.form.recipe_combo.currentData() or "")

    def fill_builtin_models(self, recipe: str) -> None:
        combo = self.form.model_builtin_combo
        names = spec_form.RECIPE_MODELS.get(recipe, spec_form.RECIPE_MODELS["causal-lm"])
        if [combo.itemData(i) for i in range(combo.count())] == list(names):
            return
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        for name in names:
            combo.addItem(name, name)
        combo.setCurrentIndex(max(0, combo.findData(current)))
        combo.blockSignals(False)

    def set_defaults(self, recipe: str, current: dict[str, str], inputs: dict[str, QWidget]) -> None:
        """The recipe's built-in model, learning rate and dataset, where the user has not chosen
        their own (a value that is no recipe's default)."""
        self.fill_builtin_models(recipe)
        for key, text in spec_form.RECIPE_DEFAULTS.get(recipe, {}).items():
            if current.get(key) not in {d.get(key) for d in spec_form.RECIPE_DEFAULTS.values()}:
                continue
            w = inputs[key]
            if isinstance(w, QComboBox):
                w.setCurrentIndex(max(0, w.findData(text)))
            elif isinstance(w, QLineEdit):
                w.setText(text)

    def apply(self) -> None:
        """Show the fields the recipe uses: an image recipe has no method, LoRA, sequence length or
        hub model, and reads an image folder or an imported image dataset."""
        f, recipe = self.form, self.recipe()
        text = spec_form.is_text_recipe(recipe)
        for layout, widgets in ((f.what_layout, (f.method_combo, f.method_error)),
                                (f.train_layout, (f.train_seq_len_edit, f.train_seq_len_error))):  # fmt: skip
            for w in widgets:
                layout.setRowVisible(w, text)
        if not text and f.model_hub_radio.isChecked():
            f.model_builtin_radio.setChecked(True)
        f.model_hub_radio.setEnabled(text)
        f.model_hub_radio.setToolTip("" if text else "Image classification trains a local model folder.")
        f.dataset_path_edit.setPlaceholderText(
            "A .txt or .jsonl file" if text else "An image folder with one sub-folder per class"
        )
        if f.dataset_drop_label.property("role") != "error":
            f.dataset_drop_label.setText(drop_hint(recipe))
        self.picker.set_modality("text" if text else "image")
        self.show_lora()

    def show_lora(self) -> None:
        f = self.form
        f.lora_group.setVisible(
            spec_form.is_text_recipe(self.recipe()) and f.method_combo.currentData() == "lora"
        )
