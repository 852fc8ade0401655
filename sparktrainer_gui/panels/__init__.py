"""The panels the main window shows, in sidebar order (Ctrl+1..9 follow it).

Each panel is a QWidget class with ``title`` and ``icon`` class attributes and an
``(conn, parent)`` constructor; it may offer ``action_groups()`` (containers of QActions
from ``sparktrainer_gui.actions``: window-wide shortcuts, listed in the palette and
the shortcuts window) and a ``message_posted`` signal for the status bar.

The registry names each panel's module instead of importing it: the main window imports a
panel's module only when it builds the panel, so start-up pays for the panel it shows."""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class PanelSpec:
    key: str  # stable id: QSettings' last panel, ``window.panels[key]``
    title: str
    icon: str
    module: str
    class_name: str

    def load(self) -> type:
        """Import the panel's module and return its class."""
        return getattr(importlib.import_module(self.module), self.class_name)


PANELS: list[PanelSpec] = [
    PanelSpec("jobs", "Jobs", "jobs", "sparktrainer_gui.panels.jobs", "JobsPanel"),
    PanelSpec("datasets", "Datasets", "datasets", "sparktrainer_gui.panels.datasets", "DatasetsPanel"),
    PanelSpec("gpus", "GPUs", "gpu", "sparktrainer_gui.panels.gpus", "GpusPanel"),
    PanelSpec("builder", "Builder", "graph", "sparktrainer_gui.panels.builder", "BuilderPanel"),
    PanelSpec("labeling", "Labeling", "label", "sparktrainer_gui.panels.labeling", "LabelingPanel"),
    PanelSpec("settings", "Settings", "settings", "sparktrainer_gui.panels.settings", "SettingsPanel"),
]
