"""The new-job form per recipe, from the recipe's own data (``GET /v1/recipes``): the recipes the
wizard lists, which fields each shows (with its label, default, bounds and help), which model
sources and built-in models it takes, what a dataset for it is (a file or a folder, which
suffixes) and how a dropped or chosen one is checked. No recipe is named here.

``spec_form`` says what a recipe sends; this module makes the Designer form follow it. A recipe
field the Designer form has no widget for is rendered from its data in "Recipe settings".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QWidget,
)

from sparktrainer_gui.forms.new_job_ui import Ui_NewJobForm
from sparktrainer_gui.panels.jobs import spec_form
from sparktrainer_gui.panels.jobs.dataset_picker import DatasetPicker
from trainer_runtime.api.schema.recipes import RecipeField, RecipeView
from trainer_runtime.jobs.checks import check_dataset_path
from trainer_runtime.jobs.spec import SpecError

UNSET_TEXT = "(default)"  # the empty choice of a choice field without a default


def dataset_problem(path: str, materialize: str) -> str | None:
    """The dataset check's message for ``path``, or None when a recipe whose datasets are of
    this kind (``RecipeView.dataset.materialize``) can read it (reads the file, or lists the
    image folder; blocking, run off the main thread)."""
    try:
        check_dataset_path(materialize, Path(path).expanduser())
    except SpecError as err:
        return "; ".join(msg for _, msg in err.problems)
    return None


def _suffixes(recipe: RecipeView) -> str:
    return " or ".join(recipe.dataset.suffixes)


def drop_refusal(path: Path, recipe: RecipeView | None) -> str | None:
    """Why a dropped ``path`` cannot be the recipe's dataset, or None when it can."""
    if recipe is None:
        return None  # a recipe this form does not know: validation says so
    ds = recipe.dataset
    if ds.pick == "folder":
        if path.is_dir():
            return None
        return f"{path.name} is a file; {recipe.title.lower()} reads {ds.hint}"
    if path.is_file() and (not ds.suffixes or path.suffix.lower() in ds.suffixes):
        return None
    what = f"{ds.hint} ({_suffixes(recipe)})" if ds.suffixes else ds.hint
    if path.is_dir():
        return f"{path.name} is a folder, not {what}"
    return f"{path.name} is not {what}"


def drop_hint(recipe: RecipeView | None) -> str:
    if recipe is None:
        return ""
    ds = recipe.dataset
    if ds.pick == "file" and ds.suffixes:
        return f"Or drop a {_suffixes(recipe)} file anywhere on this window."
    return f"Or drop {ds.hint} anywhere on this window."


def choose_dataset(parent: QWidget, recipe: RecipeView | None, start: str) -> str:
    """A file or a folder, as the recipe reads, from a file dialog; "" when cancelled."""
    if recipe is not None and recipe.dataset.pick == "folder":
        return QFileDialog.getExistingDirectory(parent, f"Choose {recipe.dataset.hint}", start)
    patterns = " ".join(f"*{s}" for s in recipe.dataset.suffixes) if recipe else ""
    filters = f"Datasets ({patterns});;All files (*)" if patterns else "All files (*)"
    path, _ = QFileDialog.getOpenFileName(parent, "Choose a dataset", start, filters)
    return path


def field_tip(field: RecipeField) -> str:
    """A field's help with its bounds, as its tooltip."""
    lo, hi = field.minimum, field.maximum

    def num(v: float) -> str:
        return spec_form._text(int(v) if field.kind == "int" and float(v).is_integer() else v)

    bounds = ""
    if lo is not None and hi is not None:
        start = "above" if field.exclusive_minimum else "from"
        end = "to below" if field.exclusive_maximum else "to"
        bounds = f"{start} {num(lo)} {end} {num(hi)}"
    elif lo is not None:
        bounds = f"{'above' if field.exclusive_minimum else 'at least'} {num(lo)}"
    elif hi is not None:
        bounds = f"{'below' if field.exclusive_maximum else 'at most'} {num(hi)}"
    return "; ".join(p for p in (field.help, bounds) if p)


class RecipeFields:
    """Makes the form's widgets follow the chosen recipe's data."""

    def __init__(
        self,
        form: Ui_NewJobForm,
        picker: DatasetPicker,
        catalog: spec_form.Catalog,
        on_edited: Callable[[str], None],
    ):
        self.form = form
        self.picker = picker
        self.catalog = catalog
        self.on_edited = on_edited  # a rendered field was edited (key)
        self.extra_group = QGroupBox("Recipe settings")
        self.extra_group.setObjectName("recipeExtraGroup")
        self.extra_layout = QFormLayout(self.extra_group)
        form.right_column.insertWidget(form.right_column.indexOf(form.train_group) + 1, self.extra_group)
        self.extra_inputs: dict[str, QLineEdit | QComboBox] = {}
        self._fill_recipes()

    # ---------------------------------------------------------------- catalog
    def set_catalog(self, catalog: spec_form.Catalog) -> None:
        """The daemon's answer replaces the list; the chosen recipe stays chosen."""
        self.catalog = catalog
        self._fill_recipes()
        self.apply()

    def _fill_recipes(self) -> None:
        combo = self.form.recipe_combo
        current = combo.currentData()
        combo.blockSignals(True)  # set_values() chooses the recipe
        combo.clear()
        for r in self.catalog.offered():
            combo.addItem(f"{r.title} ({r.name})", r.name)
            combo.setItemData(combo.count() - 1, r.description, 3)  # Qt.ToolTipRole
        if current and combo.findData(current) < 0:
            combo.addItem(current, current)  # from a file, or not (or no longer) registered
        combo.setCurrentIndex(max(0, combo.findData(current)) if current else 0)
        combo.blockSignals(False)

    def recipe(self) -> str:
        return str(self.form.recipe_combo.currentData() or "")

    def view(self) -> RecipeView | None:
        return self.catalog.get(self.recipe())

    # ----------------------------------------------------------------- values
    def fill_builtin_models(self, recipe: str) -> None:
        combo = self.form.model_builtin_combo
        view = self.catalog.get(recipe) or self.catalog.default()
        names = list(view.builtin_models)
        if [combo.itemData(i) for i in range(combo.count())] == names:
            return
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        for name in names:
            combo.addItem(name, name)
        combo.setCurrentIndex(max(0, combo.findData(current)))
        combo.blockSignals(False)

    def set_defaults(self, recipe: str, current: dict[str, str], inputs: dict[str, QWidget]) -> None:
        """The recipe's built-in model, field defaults and dataset, where the user has not chosen
        their own (a value that is no recipe's default)."""
        self.fill_builtin_models(recipe)
        view = self.catalog.get(recipe)
        if view is None:
            return
        everyone = [spec_form.recipe_defaults(r) for r in self.catalog.views]
        for key, text in spec_form.recipe_defaults(view).items():
            if current.get(key, "") not in {d.get(key) for d in everyone} | {""}:
                continue
            w = inputs.get(key) or self.extra_inputs.get(key)
            if isinstance(w, QComboBox):
                w.setCurrentIndex(max(0, w.findData(text)))
            elif isinstance(w, QLineEdit):
                w.setText(text)

    def extra_values(self) -> dict[str, str]:
        return {
            key: str(w.currentData() or "") if isinstance(w, QComboBox) else w.text()
            for key, w in self.extra_inputs.items()
        }

    def set_extra_values(self, values: dict[str, str]) -> None:
        for key, w in self.extra_inputs.items():
            if key in values:
                w.blockSignals(True)
                if isinstance(w, QComboBox):
                    if w.findData(values[key]) < 0:
                        w.addItem(values[key], values[key])  # from a file: shown, validation names it
                    w.setCurrentIndex(w.findData(values[key]))
                else:
                    w.setText(values[key])
                w.blockSignals(False)

    def set_unset_text(self, key: str, text: str) -> None:
        """What the empty choice of a rendered choice field says (``sft.template``: "the model's
        own", once the daemon's preview said the model has one)."""
        w = self.extra_inputs.get(key)
        if isinstance(w, QComboBox) and w.findData("") >= 0:
            w.setItemText(w.findData(""), text)

    # ------------------------------------------------------------------- view
    def _row(self, key: str) -> tuple[QWidget | None, QLabel | None, QLabel | None]:
        base = key.replace(".", "_")
        f = self.form
        widget = getattr(f, base + "_edit", None) or getattr(f, base + "_combo", None)
        return widget, getattr(f, base + "_label", None), getattr(f, base + "_error", None)

    def apply(self) -> None:
        """Show the fields the recipe has, labelled and explained by its data; offer the model
        sources and built-in models it takes and the dataset it reads."""
        f, view = self.form, self.view()
        fields = {x.key: x for x in view.fields} if view is not None else {}
        for key in spec_form.RECIPE_WIDGET_FIELDS:
            widget, label, error = self._row(key)
            field = fields.get(key)
            if field is not None and label is not None:
                label.setText(field.label)
            if widget is not None:
                widget.setToolTip(field_tip(field) if field is not None else "")
            if key.startswith("lora."):
                continue  # the LoRA group shows as a whole (show_lora)
            for w in (widget, error):
                parent = w.parentWidget() if w is not None else None
                layout = parent.layout() if parent is not None else None
                if w is not None and isinstance(layout, QFormLayout):
                    layout.setRowVisible(w, field is not None or view is None)
        self._render_extra(view)
        sources = view.model_sources if view is not None else spec_form.MODEL_SOURCES
        radios = {"builtin": f.model_builtin_radio, "path": f.model_path_radio, "hub_id": f.model_hub_radio}
        for source, radio in radios.items():
            radio.setEnabled(
                source in sources and (source != "builtin" or bool(view and view.builtin_models))
            )
            radio.setToolTip(
                "" if radio.isEnabled() else f"{view.title if view else 'This recipe'} does not take it."
            )
        checked = next((s for s, r in radios.items() if r.isChecked()), "builtin")
        if not radios[checked].isEnabled():
            usable = next((r for r in radios.values() if r.isEnabled()), None)
            if usable is not None:
                usable.setChecked(True)
        if view is not None:
            hint = view.dataset.hint[:1].upper() + view.dataset.hint[1:]
            f.dataset_path_edit.setPlaceholderText(
                f"{hint} ({_suffixes(view)})" if view.dataset.suffixes else hint
            )
            self.picker.set_modality(view.dataset.modality)
        if f.dataset_drop_label.property("role") != "error":
            f.dataset_drop_label.setText(drop_hint(view))
        self.show_lora()

    def _render_extra(self, view: RecipeView | None) -> None:
        """Widgets for the recipe's fields that the Designer form has no widget for: a combo box
        for a choice field (its choices are the daemon's; a field without a default starts
        unset, which the spec reads as "detect" or "the model's own"), a line edit otherwise."""
        keys = [x for x in (view.fields if view else []) if x.key not in spec_form.RECIPE_WIDGET_FIELDS]
        if [x.key for x in keys] != list(self.extra_inputs):
            while self.extra_layout.rowCount():
                self.extra_layout.removeRow(0)
            self.extra_inputs = {}
            start = spec_form.recipe_defaults(view) if view is not None else {}  # its sample's values too
            for field in keys:
                w: QComboBox | QLineEdit
                if field.kind == "choice" and field.choices:
                    w = QComboBox(self.extra_group)
                    if field.default is None:
                        w.addItem(UNSET_TEXT, "")
                    for choice in field.choices:
                        w.addItem(choice, choice)
                    w.setCurrentIndex(
                        max(0, w.findData(start.get(field.key, spec_form._text(field.default))))
                    )
                    w.activated.connect(lambda _i, k=field.key: self.on_edited(k))
                else:
                    w = QLineEdit(start.get(field.key, spec_form._text(field.default)), self.extra_group)
                    w.setPlaceholderText(field.help)
                    w.textEdited.connect(lambda _t, k=field.key: self.on_edited(k))
                w.setObjectName(f"recipeField_{field.key.replace('.', '_')}")
                w.setToolTip(field_tip(field))
                self.extra_layout.addRow(field.label, w)
                self.extra_inputs[field.key] = w
        self.extra_group.setVisible(bool(self.extra_inputs))

    def show_lora(self) -> None:
        f, view = self.form, self.view()
        has_lora = view is not None and any(x.key.startswith("lora.") for x in view.fields)
        f.lora_group.setVisible(has_lora and f.method_combo.currentData() == "lora")
