"""The dataset and version row of the Labeling panel: lists come from the daemon through
the session; "Open" asks for the chosen version (the newest when none is listed yet)."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

from sparktrainer_gui.panels.labeling.session import LabelSession
from trainer_runtime.api.schema.datasets import DatasetView, VersionView


class DatasetChooser(QWidget):
    open_requested = Signal(str, object)  # dataset, version (int or "latest")
    message_posted = Signal(str)

    def __init__(self, session: LabelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.dataset_box = QComboBox(self)
        self.dataset_box.setMinimumWidth(180)
        self.dataset_box.setPlaceholderText("Choose a dataset")
        self.version_box = QComboBox(self)
        self.version_box.setMinimumWidth(90)
        self.open_button = QPushButton("Open", self)
        self.refresh_button = QPushButton("Refresh", self)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 10, 6)
        for text, box in (("Dataset", self.dataset_box), ("Version", self.version_box)):
            row.addWidget(QLabel(text, self))
            row.addWidget(box)
        row.addWidget(self.open_button)
        row.addWidget(self.refresh_button)
        row.addStretch(1)
        self.dataset_box.currentTextChanged.connect(self._on_dataset_box_changed)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.refresh_button.clicked.connect(session.list_datasets)
        session.datasets_listed.connect(self._on_session_datasets_listed)
        session.versions_listed.connect(self._on_session_versions_listed)

    def show_dataset(self, name: str) -> None:
        if self.dataset_box.currentText() != name:
            self.dataset_box.setCurrentText(name)

    @Slot(list)
    def _on_session_datasets_listed(self, datasets: list[DatasetView]) -> None:
        current = self.dataset_box.currentText()
        self.dataset_box.blockSignals(True)
        self.dataset_box.clear()
        names = [d.name for d in datasets]
        self.dataset_box.addItems(names)
        self.dataset_box.setCurrentIndex(names.index(current) if current in names else (0 if names else -1))
        self.dataset_box.blockSignals(False)
        self._on_dataset_box_changed(self.dataset_box.currentText())

    @Slot(str)
    def _on_dataset_box_changed(self, name: str) -> None:
        if name:
            self.session.list_versions(name)

    @Slot(str, list)
    def _on_session_versions_listed(self, name: str, versions: list[VersionView]) -> None:
        if name != self.dataset_box.currentText():
            return
        self.version_box.clear()
        for n in sorted((v.version for v in versions), reverse=True):
            self.version_box.addItem(f"v{n}", n)

    @Slot()
    def _on_open_clicked(self) -> None:
        name = self.dataset_box.currentText()
        if not name:
            self.message_posted.emit("Choose a dataset first (import one in the Datasets panel).")
            return
        self.open_requested.emit(name, self.version_box.currentData() or "latest")
