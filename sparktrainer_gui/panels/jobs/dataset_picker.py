"""The new-job wizard's picker for an imported dataset (``dataset: {name, version}``), an
alternative to a dataset file. The lists are read from the daemon off the main thread; only
datasets of the recipe's modality (its ``RecipeView.dataset.modality``) are offered. The calls go
through ``ops.op``, bound to this widget."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QWidget

from sparktrainer_gui.ops import op
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.datasets import DatasetView, VersionView


class DatasetPicker(QWidget):
    changed = Signal()  # the choice changed (validation runs again)

    def __init__(self, conn: RuntimeConnection, path_widgets: list[QWidget], parent: QWidget | None = None):
        super().__init__(parent)
        self.conn = conn
        self.path_widgets = path_widgets
        self.use_stored = QCheckBox("Use an imported dataset", self)
        self.use_stored.setObjectName("datasetStoredCheck")
        self.name_combo = QComboBox(self)
        self.name_combo.setObjectName("datasetNameCombo")
        self.name_combo.setMinimumContentsLength(14)
        self.version_combo = QComboBox(self)
        self.version_combo.setObjectName("datasetVersionCombo")
        self.version_combo.addItem("latest", "latest")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.use_stored)
        lay.addWidget(self.name_combo, 3)  # the name and size need the room; "v12" does not
        lay.addWidget(self.version_combo, 1)
        self._wanted: dict[str, str] = {}  # a name/version set before the lists arrived
        self._listed: list[DatasetView] = []
        self._modality: str | None = None  # None: every dataset
        self.use_stored.toggled.connect(self._on_use_stored_toggled)
        self.name_combo.activated.connect(self._on_name_combo_activated)
        self.version_combo.activated.connect(lambda _i: self.changed.emit())
        self._on_use_stored_toggled(False)
        self.reload()

    def reload(self) -> None:
        op(self.conn, self, self.conn.client.datasets, what="list the datasets").success(
            self._on_listed
        ).run()

    def set_modality(self, modality: str | None) -> None:
        """Offer only datasets of this modality (``text``, ``image``)."""
        if modality != self._modality:
            self._modality = modality
            self._on_listed(self._listed)

    def _on_listed(self, datasets: list[DatasetView]) -> None:
        self._listed = datasets
        explicit = self._wanted.get("name")  # from a spec: kept even when not offered
        wanted = explicit or self.name_combo.currentData()
        self.name_combo.clear()
        for d in datasets:
            if self._modality and d.modality != self._modality:
                continue
            self.name_combo.addItem(f"{d.name} ({d.modality}, {d.items:,} items)", d.name)
        if explicit and self.name_combo.findData(explicit) < 0:
            self.name_combo.addItem(explicit, explicit)  # not (or no longer) stored: validation says so
        self.name_combo.setCurrentIndex(max(0, self.name_combo.findData(wanted)) if wanted else 0)
        self.use_stored.setEnabled(self.name_combo.count() > 0 or self.use_stored.isChecked())
        self._load_versions()

    def _load_versions(self) -> None:
        name = self.name_combo.currentData()
        if not name:
            return
        op(self.conn, self, self.conn.client.dataset_versions, name, what=f"list the versions of {name}") \
            .success(lambda rows: self._on_versions(name, rows)).run()  # fmt: skip

    def _on_versions(self, name: str, rows: list[VersionView]) -> None:
        if name != self.name_combo.currentData():
            return
        wanted = self._wanted.pop("version", None) or str(self.version_combo.currentData() or "latest")
        self.version_combo.clear()
        self.version_combo.addItem("latest", "latest")
        for v in sorted(rows, key=lambda v: -v.version):
            self.version_combo.addItem(f"v{v.version} ({v.files:,} files)", str(v.version))
        if self.version_combo.findData(wanted) < 0:
            self.version_combo.addItem(wanted, wanted)
        self.version_combo.setCurrentIndex(self.version_combo.findData(wanted))
        self.changed.emit()

    @Slot()
    def _on_name_combo_activated(self) -> None:
        self._load_versions()
        self.changed.emit()

    @Slot(bool)
    def _on_use_stored_toggled(self, on: bool) -> None:
        self.name_combo.setEnabled(on)
        self.version_combo.setEnabled(on)
        for w in self.path_widgets:
            w.setEnabled(not on)
        self.changed.emit()

    def values(self) -> dict[str, str]:
        return {
            "dataset.source": "stored" if self.use_stored.isChecked() else "path",
            "dataset.name": str(self.name_combo.currentData() or ""),
            "dataset.version": str(self.version_combo.currentData() or "latest"),
        }

    def set_values(self, values: dict[str, str]) -> None:
        stored = values.get("dataset.source") == "stored"
        if stored:
            self._wanted = {
                "name": values.get("dataset.name", ""),
                "version": values.get("dataset.version", "latest"),
            }
            for combo, key in ((self.name_combo, "name"), (self.version_combo, "version")):
                if combo.findData(self._wanted[key]) < 0:
                    combo.addItem(self._wanted[key], self._wanted[key])
                combo.setCurrentIndex(combo.findData(self._wanted[key]))
        self.use_stored.blockSignals(True)
        self.use_stored.setChecked(stored)
        self.use_stored.blockSignals(False)
        self.name_combo.setEnabled(stored)
        self.version_combo.setEnabled(stored)
        for w in self.path_widgets:
            w.setEnabled(not stored)
        if stored:
            self.use_stored.setEnabled(True)
            self.reload()
