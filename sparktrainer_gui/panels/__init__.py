"""The panels the main window shows, in sidebar order (Ctrl+1..9 follow it).

Each panel is a QWidget class with ``title`` and ``icon`` class attributes and an
``(conn, parent)`` constructor; it may offer ``action_groups()`` (containers of QActions
from ``sparktrainer_gui.actions``: window-wide shortcuts, listed in the palette and
the shortcuts window) and a ``message_posted``
signal for the status bar."""

from __future__ import annotations

from sparktrainer_gui.panels.builder import BuilderPanel
from sparktrainer_gui.panels.datasets import DatasetsPanel
from sparktrainer_gui.panels.gpus import GpusPanel
from sparktrainer_gui.panels.jobs import JobsPanel
from sparktrainer_gui.panels.labeling import LabelingPanel
from sparktrainer_gui.panels.settings import SettingsPanel

PANELS: list[type] = [JobsPanel, DatasetsPanel, GpusPanel, BuilderPanel, LabelingPanel, SettingsPanel]


def panel_key(cls: type) -> str:
    return str(getattr(cls, "key", None) or cls.title).lower().replace(" ", "-")
