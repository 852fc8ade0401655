"""The GPUs panel: live GPUs and MIG devices, their processes, and the MIG planner."""

from __future__ import annotations

from sparktrainer_gui.panels.gpus.panel import GpusPanel

__all__ = ["GpusPanel"]
