"""The architecture Builder: a node-graph editor over ``trainer_runtime.architecture``
(pure model → scene items mirroring its events → an editor with a QUndoStack)."""

from __future__ import annotations

from sparktrainer_gui.panels.builder.panel import BuilderPanel

__all__ = ["BuilderPanel"]
