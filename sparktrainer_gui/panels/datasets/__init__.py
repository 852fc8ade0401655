"""The Datasets panel: drag-and-drop import, the datasets list, a virtualised sample grid,
class histogram, versions (diff, rollback, delete) and the quality report."""

from __future__ import annotations

from sparktrainer_gui.panels.datasets.panel import DatasetsPanel

__all__ = ["DatasetsPanel"]
