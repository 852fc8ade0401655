"""The Builder panel's actions (listed in the menus, the command palette and the
shortcuts window). They are enabled only while the panel is shown, so their window-wide
shortcuts never act on a hidden canvas."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence

from sparktrainer_gui.actions import _Group, make_action
from trainer_runtime.architecture.templates import TEMPLATES


@dataclass
class BuilderActions(_Group):
    title = "Builder"
    open: QAction
    save: QAction
    save_as: QAction
    export_code: QAction
    train: QAction
    undo: QAction
    redo: QAction
    delete: QAction
    copy: QAction
    paste: QAction
    group: QAction
    ungroup: QAction
    collapse: QAction
    auto_layout: QAction
    fit: QAction
    zoom_in: QAction
    zoom_out: QAction
    new_empty: QAction
    templates: list[QAction] = field(default_factory=list)  # "New from template: <name>"

    @classmethod
    def create(cls, parent: QObject) -> BuilderActions:
        a = cls(
            open=make_action(parent, "Open graph…", QKeySequence.StandardKey.Open, None, "Open a graph file"),
            save=make_action(parent, "Save graph", QKeySequence.StandardKey.Save, None, "Save the graph"),
            save_as=make_action(parent, "Save graph as…", "Ctrl+Shift+S", None, "Save the graph to a new file"),
            export_code=make_action(parent, "Export PyTorch code…", "Ctrl+E", None,
                                    "Write the graph as a readable nn.Module (.py)"),
            train=make_action(parent, "Train…", "Ctrl+T", "play", "Train this graph as a job"),
            undo=make_action(parent, "Undo", QKeySequence.StandardKey.Undo, None, "Undo the last edit"),
            redo=make_action(parent, "Redo", "Ctrl+Shift+Z", None, "Redo the edit undone last"),
            delete=make_action(parent, "Delete selection", None, "delete",
                               "Delete the selected layers and connections (Del)"),
            copy=make_action(parent, "Copy layers", QKeySequence.StandardKey.Copy, None, "Copy the selected layers"),
            paste=make_action(parent, "Paste layers", QKeySequence.StandardKey.Paste, None, "Paste copied layers"),
            group=make_action(parent, "Group selection", "Ctrl+G", None,
                              "Group the selected layers into a named, collapsible block"),
            ungroup=make_action(parent, "Ungroup", "Ctrl+Shift+G", None, "Dissolve the selected groups"),
            collapse=make_action(parent, "Collapse or expand group", None, None,
                                 "Show the selected group as one block, or its layers again"),
            auto_layout=make_action(parent, "Auto-layout", "Ctrl+L", None,
                                    "Arrange layers in columns by depth"),
            fit=make_action(parent, "Fit to window", "Ctrl+0", None, "Show the whole graph"),
            zoom_in=make_action(parent, "Zoom in", QKeySequence.StandardKey.ZoomIn, None),
            zoom_out=make_action(parent, "Zoom out", QKeySequence.StandardKey.ZoomOut, None),
            new_empty=make_action(parent, "New empty graph", None, "add", "Start an empty graph"),
        )  # fmt: skip
        for name in TEMPLATES:
            action = make_action(
                parent, f"New from template: {name}", None, None, f"Start from the {name} template"
            )
            action.setData(name)
            a.templates.append(action)
        return a
