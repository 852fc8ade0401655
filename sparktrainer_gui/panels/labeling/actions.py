"""The Labeling panel's actions (menus, the command palette and the shortcuts window).
They are enabled only while the panel is shown, so their window-wide shortcuts never act
on a hidden canvas."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from sparktrainer_gui.actions import _Group, make_action


@dataclass
class LabelingActions(_Group):
    title = "Labeling"
    tool_select: QAction
    tool_rect: QAction
    tool_polygon: QAction
    tool_point: QAction
    tag: QAction
    undo: QAction
    redo: QAction
    delete: QAction
    copy: QAction
    paste: QAction
    hide: QAction
    show_all: QAction
    lock: QAction
    next_image: QAction
    prev_image: QAction
    next_unlabeled: QAction
    prev_unlabeled: QAction
    mark_done: QAction
    mark_review: QAction
    fit: QAction
    actual_size: QAction
    zoom_in: QAction
    zoom_out: QAction
    save_version: QAction
    suggestions: QAction
    accept: QAction
    reject: QAction
    classes: list[QAction] = field(default_factory=list)  # "Use class 1..9"
    tools: QActionGroup | None = None

    @classmethod
    def create(cls, parent: QObject) -> LabelingActions:
        m = make_action
        a = cls(
            tool_select=m(parent, "Select and edit tool", "V", None, "Select, move, resize and edit vertices", True),
            tool_rect=m(parent, "Rectangle tool", "R", None, "Draw rectangles (drag)", True),
            tool_polygon=m(parent, "Polygon tool", "P", None,
                           "Draw polygons (click points; Enter, double-click or the first point closes)", True),
            tool_point=m(parent, "Point tool", "O", None, "Place points", True),
            tag=m(parent, "Tag image with the class", "T", None, "Toggle the current class as a whole-image tag"),
            undo=m(parent, "Undo", QKeySequence.StandardKey.Undo, None, "Undo the last edit"),
            redo=m(parent, "Redo", "Ctrl+Shift+Z", None, "Redo the edit undone last"),
            delete=m(parent, "Delete shapes", "Del", None, "Delete the selected shapes (or reject a suggestion)"),
            copy=m(parent, "Copy shapes", QKeySequence.StandardKey.Copy, None, "Copy the selected shapes"),
            paste=m(parent, "Paste shapes", QKeySequence.StandardKey.Paste, None, "Paste shapes onto this image"),
            hide=m(parent, "Hide or show shapes", "H", None, "Hide the selected shapes (or show them again)"),
            show_all=m(parent, "Show all shapes", "Shift+H", None, "Show every hidden shape on this image"),
            lock=m(parent, "Lock or unlock shapes", "L", None, "Locked shapes cannot be moved or edited"),
            next_image=m(parent, "Next image", "D", None, "Go to the next image in the list"),
            prev_image=m(parent, "Previous image", "A", None, "Go to the previous image in the list"),
            next_unlabeled=m(parent, "Next unlabeled image", "Shift+D", None, "Go to the next unlabeled image"),
            prev_unlabeled=m(parent, "Previous unlabeled image", "Shift+A", None,
                             "Go to the previous unlabeled image"),
            mark_done=m(parent, "Mark image done", "Ctrl+Return", None, "Mark this image done and go to the next"),
            mark_review=m(parent, "Mark image for review", "Ctrl+R", None, "Mark this image as needing review"),
            fit=m(parent, "Fit image", "F", None, "Show the whole image"),
            actual_size=m(parent, "Actual size (1:1)", "Ctrl+Alt+0", None,
                          "One image pixel per screen pixel"),
            zoom_in=m(parent, "Zoom in", QKeySequence.StandardKey.ZoomIn, None),
            zoom_out=m(parent, "Zoom out", QKeySequence.StandardKey.ZoomOut, None),
            save_version=m(parent, "Save as version…", QKeySequence.StandardKey.Save, None,
                           "Save the labels as a new dataset version"),
            suggestions=m(parent, "Suggestions…", "Ctrl+Shift+L", None,
                          "Show a pre-labelling job's suggestions (or start one)"),
            accept=m(parent, "Accept suggestion", "Return", None, "Accept the selected suggestion"),
            reject=m(parent, "Reject suggestion", None, None, "Reject the selected suggestion (Del)"),
        )  # fmt: skip
        for number in range(1, 10):
            action = m(parent, f"Use class {number}", str(number), None, f"Pick class number {number}")
            action.setData(number)
            a.classes.append(action)
        a.tools = QActionGroup(parent)
        for action in (a.tool_select, a.tool_rect, a.tool_polygon, a.tool_point):
            a.tools.addAction(action)
        a.tool_select.setChecked(True)
        return a
