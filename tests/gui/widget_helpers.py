"""Showing a panel on its own in a GUI test."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtWidgets import QWidget

W = TypeVar("W", bound=QWidget)


def shown(qtbot, widget: W, size: tuple[int, int]) -> W:
    """``widget`` at ``size``, shown and exposed (closed with the test by qtbot)."""
    qtbot.addWidget(widget)
    widget.resize(*size)
    with qtbot.waitExposed(widget):  # a context manager: called bare, it never waits
        widget.show()
    return widget
