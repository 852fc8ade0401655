"""The new-job wizard: one dialog that fills a JobSpec and submits it to the daemon.

The form is ``ui/new_job.ui`` (``Ui_NewJobForm``). Every edit re-validates the whole form with
``parse_spec`` (the runtime's own validation) and shows each problem under its field; the
dataset file and the model folder are checked off the main thread. Specs open from and save to
the same YAML files the CLI uses. The recipes and their fields are the daemon's registry
(``GET /v1/recipes``); what each recipe shows and reads is ``recipe_fields``. Daemon calls and
the checks that read the disk run through ``ops.op``, bound to this dialog. A recipe with SFT
fields shows the daemon's preview of its data beside the form (``sft_preview.WizardPreview``).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import yaml
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QPalette
from PySide6.QtWidgets import QComboBox, QDialog, QFileDialog, QLabel, QLayout, QLineEdit, QWidget

from sparktrainer_gui.forms.new_job_ui import Ui_NewJobForm
from sparktrainer_gui.model_info import ModelInfo, ModelInfoError, read_model_info
from sparktrainer_gui.ops import op
from sparktrainer_gui.panels.jobs import spec_form
from sparktrainer_gui.panels.jobs.dataset_picker import DatasetPicker
from sparktrainer_gui.panels.jobs.recipe_fields import (
    RecipeFields,
    choose_dataset,
    dataset_problem,
    drop_hint,
    drop_refusal,
)
from sparktrainer_gui.panels.jobs.sft_preview import WizardPreview
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.jobs import JobView
from trainer_runtime.api.schema.recipes import RecipeView
from trainer_runtime.client.client import ApiError, DaemonUnavailable
from trainer_runtime.jobs.spec import dump_spec_yaml, resolve_paths

log = logging.getLogger(__name__)

STYLE = """
QLabel[role="error"] { color: #d93025; }
QLabel[role="title"] { font-size: 15pt; font-weight: 600; }
"""


def _set_role(label: QLabel, role: str) -> None:
    label.setProperty("role", role)
    label.style().unpolish(label)
    label.style().polish(label)


class NewJobWizard(QDialog):
    job_submitted = Signal(str)  # the new job's id

    def __init__(self, conn: RuntimeConnection, parent: QWidget | None = None):
        super().__init__(parent)
        self.conn = conn
        self.form = Ui_NewJobForm()
        self.form.setupUi(self)
        self.setStyleSheet(STYLE)
        self.setAcceptDrops(True)
        self.form.main_layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)  # grows with messages
        self._extras: dict[str, Any] = {}
        self._touched: set[str] = set()
        self._show_all = False
        self._submitting = False
        self._server_problems: list[tuple[str, str]] = []
        self._dataset_state: tuple[str, str, str | None] | None = None  # (kind, path, problem) once checked
        self._model_state: tuple[str, ModelInfo | str] | None = None  # (path, info or problem)
        self.spec = None  # the last valid JobSpec of the form
        self.catalog = spec_form.local_catalog()  # until the daemon's list arrives
        self.recipes_listed = False  # the daemon's list has arrived

        f = self.form
        for label in (f.subtitle_label, f.model_info_label, f.dataset_drop_label):
            label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        f.method_combo.addItem("LoRA adapter (lora)", "lora")
        f.method_combo.addItem("Full fine-tune (full)", "full")
        self._inputs: dict[str, QWidget] = {}
        self._errors: dict[str, QLabel] = {}
        for key in spec_form.FIELDS:
            base = key.replace(".", "_")
            for suffix in ("_edit", "_combo"):
                if hasattr(f, base + suffix):
                    self._inputs[key] = getattr(f, base + suffix)
            if hasattr(f, base + "_error"):
                self._errors[key] = getattr(f, base + "_error")
                self._errors[key].setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        for key, w in self._inputs.items():
            if isinstance(w, QLineEdit):
                w.setAcceptDrops(False)  # a dropped file goes to the wizard, not into the text
                w.textEdited.connect(lambda _t, k=key: self._on_field_edited(k))
                w.textChanged.connect(self._on_any_field_changed)
            elif isinstance(w, QComboBox):
                w.activated.connect(lambda _i, k=key: self._on_field_edited(k))
                w.currentIndexChanged.connect(self._on_any_field_changed)
        for radio in (f.model_builtin_radio, f.model_path_radio, f.model_hub_radio):
            radio.toggled.connect(self._on_model_radio_toggled)
        f.method_combo.currentIndexChanged.connect(lambda _i: self.recipe_fields.show_lora())
        f.recipe_combo.activated.connect(self._on_recipe_combo_activated)
        paths = [f.dataset_path_edit, f.dataset_browse_button]
        self.dataset_picker = DatasetPicker(conn, paths, f.dataset_group)
        f.dataset_layout.addWidget(self.dataset_picker, 3, 0, 1, 2)
        self.recipe_fields = RecipeFields(f, self.dataset_picker, self.catalog, self._on_field_edited)
        self.dataset_picker.changed.connect(lambda: self._on_field_edited("dataset.path"))
        f.model_browse_button.clicked.connect(self._on_model_browse_button_clicked)
        f.dataset_browse_button.clicked.connect(self._on_dataset_browse_button_clicked)
        f.open_spec_button.clicked.connect(self._on_open_spec_button_clicked)
        f.save_spec_button.clicked.connect(self._on_save_spec_button_clicked)
        f.cancel_button.clicked.connect(self.reject)
        f.submit_button.clicked.connect(self._on_submit_button_clicked)
        self._timer = QTimer(self, singleShot=True, interval=150)
        self._timer.timeout.connect(self._revalidate)
        self._fit_timer = QTimer(self, singleShot=True, interval=0)  # a child: it dies with the dialog
        self._fit_timer.timeout.connect(self._fit_messages)
        self.preview = WizardPreview(conn, self, self.recipe_fields.set_unset_text)
        self.preview_panel = self.preview.panel
        f.columns.addWidget(self.preview_panel, 1)

        f.submit_button.setEnabled(False)  # enabled by the first validation
        defaults = dict(spec_form.defaults(self.catalog), name=time.strftime("job-%m%d-%H%M"))
        self.set_values(defaults)
        conn.connected.connect(self._on_conn_connected)
        self.reload_recipes()

    def reload_recipes(self) -> None:
        """Ask the daemon for its recipes. Until it answers (or while it is not running) the
        form shows this process's registry; a connection that opens later asks again."""
        op(self.conn, self, self.conn.client.recipes, what="list the recipes") \
            .success(self._on_recipes_listed) \
            .failure(lambda err: log.info("the recipe list is not there yet: %s", err)).run()  # fmt: skip

    @Slot(object)
    def _on_conn_connected(self, _status: object) -> None:
        if not self.recipes_listed:
            self.reload_recipes()

    def _on_recipes_listed(self, views: list[RecipeView]) -> None:
        """The daemon's registry replaces the one of this process (it may hold more recipes)."""
        self.catalog = spec_form.Catalog(views)
        self.recipes_listed = True
        self.recipe_fields.set_catalog(self.catalog)
        self._on_any_field_changed()

    # ------------------------------------------------------------------ values
    def values(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, w in self._inputs.items():
            if isinstance(w, QLineEdit):
                out[key] = w.text()
            elif isinstance(w, QComboBox):
                out[key] = str(w.currentData() or "")
        f = self.form
        out["model.source"] = (
            "path"
            if f.model_path_radio.isChecked()
            else "hub_id"
            if f.model_hub_radio.isChecked()
            else "builtin"
        )
        out.update(self.dataset_picker.values())
        out.update(self.recipe_fields.extra_values())
        return out

    def set_values(self, values: dict[str, str], extras: dict[str, Any] | None = None) -> None:
        self._extras = dict(extras or {})
        self.recipe_fields.fill_builtin_models(values.get("recipe", ""))
        for key, w in self._inputs.items():
            text = values.get(key, "")
            w.blockSignals(True)
            if isinstance(w, QLineEdit):
                w.setText(text)
            elif isinstance(w, QComboBox):
                if w.findData(text) < 0:
                    w.addItem(text, text)  # an unknown value from a file: shown, and validation names it
                w.setCurrentIndex(w.findData(text))
            w.blockSignals(False)
        self.dataset_picker.set_values(values)
        radio = {"path": self.form.model_path_radio, "hub_id": self.form.model_hub_radio}
        radio.get(values.get("model.source", ""), self.form.model_builtin_radio).setChecked(True)
        self.recipe_fields.apply()
        self.recipe_fields.set_extra_values(values)
        self._on_model_radio_toggled()
        self._on_any_field_changed()

    def spec_dict(self) -> dict[str, Any]:
        """The form as a (possibly invalid) spec mapping."""
        return spec_form.form_to_spec(self.values(), self._extras, self.catalog)

    # ------------------------------------------------------------- validation
    @Slot()
    def _on_any_field_changed(self) -> None:
        self._server_problems = []
        self.form.submit_button.setEnabled(False)  # until the edit is validated: no stale Submit
        self._timer.start()

    def _on_field_edited(self, key: str) -> None:
        self._touched.add(key)
        self._on_any_field_changed()

    @Slot()
    def _revalidate(self) -> None:
        values = self.values()
        self.spec, problems = spec_form.validate(values, self._extras, self.catalog)
        ready = self.spec is not None
        dataset = values["dataset.path"].strip() if values.get("dataset.source") != "stored" else ""
        view = self.recipe_fields.view()
        if dataset and view is not None:
            kind = view.dataset.materialize
            if self._dataset_state is None or self._dataset_state[:2] != (kind, dataset):
                ready = False
                self._check_dataset(kind, dataset)
            elif self._dataset_state[2]:
                problems.append(("dataset.path", self._dataset_state[2]))
                ready = False
        info = ""
        if values["model.source"] == "path" and values["model.path"].strip():
            model_ok, info = self._model_ready(values["model.path"].strip(), problems)
            ready = ready and model_ok
        self.form.model_info_label.setText(info)
        self.form.model_info_label.setVisible(bool(info))
        problems += self._server_problems
        ready = ready and not self._server_problems and not self._submitting
        at, general = spec_form.place_problems(problems)
        for key, label in self._errors.items():
            shown = at.get(key) if (self._show_all or key in self._touched or self._server_problems) else None
            label.setText("\n".join(shown or []))
            label.setVisible(bool(shown))
        shown_general = general if (self._show_all or self._server_problems) else []
        self.form.general_error.setText("\n".join(shown_general))
        self.form.general_error.setVisible(bool(shown_general))
        self.form.submit_button.setEnabled(ready)
        self.form.submit_button.setToolTip("" if ready else "Fix the fields marked in red first.")
        self._fit_timer.start()
        self.preview.update(self.recipe_fields.view(), self.spec_dict())

    @Slot()
    def _fit_messages(self) -> None:
        """Give each wrapped message the height its text needs at its laid-out width (a form
        layout inside a dialog otherwise guesses at another width and clips or pads them)."""
        for label in (*self._errors.values(), self.form.general_error, self.form.model_info_label):
            if label.isVisible() and label.text():
                label.setMinimumHeight(label.heightForWidth(label.width()))

    def _check_dataset(self, kind: str, path: str) -> None:
        def done(problem: str | None) -> None:
            self._dataset_state = (kind, path, problem)
            self._revalidate()

        op(self.conn, self, dataset_problem, path, kind, what="check the dataset") \
            .success(done).failure(lambda err: done(str(err))).run()  # fmt: skip

    def _model_ready(self, path: str, problems: list[tuple[str, str]]) -> tuple[bool, str]:
        """Whether the model folder is usable, and the line shown under it (read off the main thread)."""
        if self._model_state is None or self._model_state[0] != path:

            def done(result: ModelInfo | str) -> None:
                self._model_state = (path, result)
                self._revalidate()

            def failed(err: Exception) -> None:
                if not isinstance(err, ModelInfoError):
                    log.warning("reading the model folder %s failed", path, exc_info=err)
                done(str(err))

            op(self.conn, self, read_model_info, path, what="read the model folder") \
                .success(done).failure(failed).run()  # fmt: skip
            return False, "Reading the model folder…"
        result = self._model_state[1]
        if isinstance(result, str):
            problems.append(("model.path", result))
            self._touched.add("model.path")
            return False, ""
        return True, result.summary()

    # ----------------------------------------------------------------- recipe
    def recipe(self) -> str:
        return self.recipe_fields.recipe()

    @Slot()
    def _on_recipe_combo_activated(self) -> None:
        self.recipe_fields.set_defaults(self.recipe(), self.values(), self._inputs)
        self.recipe_fields.apply()
        self._on_any_field_changed()

    # ------------------------------------------------------------------ model
    @Slot()
    def _on_model_radio_toggled(self) -> None:
        f = self.form
        f.model_builtin_combo.setEnabled(f.model_builtin_radio.isChecked())
        f.model_path_edit.setEnabled(f.model_path_radio.isChecked())
        f.model_browse_button.setEnabled(f.model_path_radio.isChecked())
        f.model_hub_id_edit.setEnabled(f.model_hub_radio.isChecked())
        self._on_any_field_changed()

    @Slot()
    def _on_model_browse_button_clicked(self) -> None:
        start = self.form.model_path_edit.text() or str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Choose a Hugging Face model folder", start)
        if path:
            self.form.model_path_radio.setChecked(True)
            self.form.model_path_edit.setText(path)
            self._on_field_edited("model.path")

    # ---------------------------------------------------------------- dataset
    @Slot()
    def _on_dataset_browse_button_clicked(self) -> None:
        start = self.form.dataset_path_edit.text() or str(Path.home())
        path = choose_dataset(self, self.recipe_fields.view(), start)
        if path:
            self.set_dataset(path)

    def set_dataset(self, path: str) -> None:
        self.form.dataset_path_edit.setText(path)
        self._on_field_edited("dataset.path")
        _set_role(self.form.dataset_drop_label, "hint")
        self.form.dataset_drop_label.setText(drop_hint(self.recipe_fields.view()))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        files = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if not files:
            event.ignore()
            return
        path = files[0]
        reason = drop_refusal(path, self.recipe_fields.view())
        if reason is None:
            self.set_dataset(str(path))
            event.acceptProposedAction()
            return
        self.form.dataset_drop_label.setText(f"Refused the dropped file: {reason}.")
        _set_role(self.form.dataset_drop_label, "error")
        event.ignore()

    # ------------------------------------------------------------------ files
    @Slot()
    def _on_open_spec_button_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a job spec", str(Path.home()), "Job specs (*.yaml *.yml *.json);;All files (*)"
        )
        if path:
            self.open_spec(path)

    def open_spec(self, path: str | Path) -> bool:
        """Fill the form from a spec file; its problems show at their fields. False if unreadable."""
        p = Path(path)
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            self._show_general(f"Could not open {p.name}: {err}")
            return False
        if not isinstance(data, dict):
            self._show_general(f"{p.name} is not a job spec: it must be a mapping of fields.")
            return False
        values, extras = spec_form.spec_to_form(resolve_paths(data, p.resolve().parent), self.catalog)
        self._show_all = True
        self.set_values(values, extras)
        self.form.subtitle_label.setText(f"Opened {p.name}")
        self.form.subtitle_label.setToolTip(str(p.resolve()))
        self._revalidate()
        return True

    @Slot()
    def _on_save_spec_button_clicked(self) -> None:
        name = self.form.name_edit.text().strip() or "job"
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the job spec", str(Path.home() / f"{name}.yaml"), "YAML (*.yaml *.yml)"
        )
        if path:
            self.save_spec(path)

    def save_spec(self, path: str | Path) -> bool:
        """Write the form as YAML; an invalid form is saved as it is (opening it shows the problems)."""
        spec, problems = spec_form.validate(self.values(), self._extras, self.catalog)
        text = dump_spec_yaml(spec) if spec else yaml.safe_dump(self.spec_dict(), sort_keys=False)
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as err:
            self._show_general(f"Could not save {path}: {err.strerror or err}")
            return False
        note = f" with {len(problems)} problem(s) still to fix" if problems else ""
        self.form.subtitle_label.setText(f"Saved {path}{note}")
        return True

    def _show_general(self, text: str) -> None:
        self.form.general_error.setText(text)
        self.form.general_error.setVisible(True)

    # ----------------------------------------------------------------- submit
    @Slot()
    def _on_submit_button_clicked(self) -> None:
        self._timer.stop()
        self._show_all = True
        self._revalidate()
        if not self.form.submit_button.isEnabled() or self.spec is None:
            return  # the problems are shown at their fields
        self._submitting = True
        self.form.submit_button.setEnabled(False)
        self.form.submit_button.setText("Submitting…")
        op(self.conn, self, self.conn.client.submit, self.spec.to_dict(), what="submit the job") \
            .success(self._on_client_submitted).failure(self._on_client_submit_failed).run()  # fmt: skip

    def _on_client_submitted(self, job: JobView) -> None:
        self._submitting = False
        self.form.submit_button.setText("Submit")
        self.job_submitted.emit(job.id)
        self.accept()

    def _on_client_submit_failed(self, err: Exception) -> None:
        self._submitting = False
        self.form.submit_button.setText("Submit")
        if isinstance(err, ApiError) and err.problems:
            self._server_problems = [(p.get("field") or "", p.get("message", "")) for p in err.problems]
        elif isinstance(err, ApiError):
            self._server_problems = [("", f"The daemon refused the job: {err.message}")]
        elif isinstance(err, DaemonUnavailable):
            self._server_problems = [
                (
                    "",
                    f"Could not reach the SparkTrainer daemon ({err}). Wait until the app reconnects, then submit again.",
                )
            ]
        else:
            log.error("submitting the job failed", exc_info=err)
            self._server_problems = [("", f"Submitting the job failed: {err}")]
        self._revalidate()
