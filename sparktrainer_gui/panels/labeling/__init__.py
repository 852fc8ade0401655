"""The Labeling panel: boxes, polygons, points and whole-image tags on a dataset version's
images (pure document → scene items mirroring it → an editor with a QUndoStack), saved
as a new dataset version through the daemon."""

from __future__ import annotations

from sparktrainer_gui.panels.labeling.panel import LabelingPanel

__all__ = ["LabelingPanel"]
