"""The application's QActions in small typed containers (labelme's ``_Actions`` idea,
without the 3,000-line window). The Help → Shortcuts window and the command
palette are generated from these containers, so a new action shows up in both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QUndoStack

from sparktrainer_gui import theme


def make_action(
    parent: QObject, text: str, shortcut: str | QKeySequence.StandardKey | None = None,
    icon: str | None = None, tip: str | None = None, checkable: bool = False,
) -> QAction:  # fmt: skip
    action = QAction(text, parent)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    if icon:
        action.setIcon(theme.icon(icon))
        action.setProperty("icon_name", icon)
    shown = text.replace("&", "").rstrip("…")
    keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    action.setToolTip(f"{tip or shown} ({keys})" if keys else (tip or shown))
    action.setStatusTip(tip or shown)
    action.setCheckable(checkable)
    return action


def refresh_icons(actions: list[QAction]) -> None:
    """Redraw icons in the current theme's colours (after a theme switch)."""
    for action in actions:
        name = action.property("icon_name")
        if name:
            action.setIcon(theme.icon(str(name)))


class _Group:
    """Iterates its QAction fields in declaration order."""

    title = ""

    def __iter__(self) -> Iterator[QAction]:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, QAction):
                yield value
            elif isinstance(value, list):
                yield from value


def sync_undo_actions(group: Any, stack: QUndoStack, on: bool) -> None:
    """Enable a panel's actions while it is shown (``on``), its ``undo``/``redo`` only when
    ``stack`` can, each named after the command it would undo or redo."""
    for action in group:
        action.setEnabled(on)
    group.undo.setEnabled(on and stack.canUndo())
    group.redo.setEnabled(on and stack.canRedo())
    group.undo.setText(f"Undo {stack.undoText()}".strip())
    group.redo.setText(f"Redo {stack.redoText()}".strip())


@dataclass
class AppActions(_Group):
    title = "Application"
    command_palette: QAction
    shortcuts: QAction
    theme_light: QAction
    theme_dark: QAction
    theme_system: QAction
    quit: QAction
    panels: list[QAction] = field(default_factory=list)  # "Go to <panel>", Ctrl+1..9

    @classmethod
    def create(cls, parent: QObject) -> AppActions:
        return cls(
            command_palette=make_action(parent, "Command palette…", "Ctrl+K", "command"),
            shortcuts=make_action(parent, "Keyboard shortcuts", "F1", "keyboard"),
            theme_light=make_action(parent, "Light theme", None, "sun", checkable=True),
            theme_dark=make_action(parent, "Dark theme", None, "moon", checkable=True),
            theme_system=make_action(parent, "Follow the system theme", None, None, checkable=True),
            quit=make_action(parent, "Quit", "Ctrl+Q", "quit", tip="Quit (jobs keep running)"),
        )


@dataclass
class JobActions(_Group):
    title = "Jobs"
    new_job: QAction
    pause: QAction
    resume: QAction
    pause_or_resume: QAction
    cancel: QAction
    restart: QAction
    delete: QAction
    find: QAction

    @classmethod
    def create(cls, parent: QObject) -> JobActions:
        return cls(
            new_job=make_action(parent, "New job…", "Ctrl+N", "add", "Create a training job"),
            pause=make_action(parent, "Pause", None, "pause", "Pause the selected jobs (they checkpoint)"),
            resume=make_action(parent, "Resume", None, "play", "Resume the selected paused jobs"),
            pause_or_resume=make_action(parent, "Pause or resume", "Space", None,
                                        "Pause the selected running jobs, resume the paused ones"),
            cancel=make_action(parent, "Cancel", "Ctrl+Shift+C", "stop", "Cancel the selected jobs"),
            restart=make_action(parent, "Restart", "Ctrl+R", "restart", "Start a new attempt"),
            delete=make_action(parent, "Delete…", QKeySequence.StandardKey.Delete, "delete",
                               "Delete the selected finished jobs"),
            find=make_action(parent, "Filter jobs", QKeySequence.StandardKey.Find, "search"),
        )  # fmt: skip


def shortcut_text(action: QAction) -> str:
    return action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
