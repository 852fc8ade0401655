"""The Jobs panel: submit, watch and control training jobs."""

from sparktrainer_gui.panels.jobs.panel import JobsPanel

__all__ = ["JobsPanel"]
