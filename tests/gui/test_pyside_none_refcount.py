"""PySide6 6.12.0 on Python 3.11 leaks a reference to None on every Qt call that
returns None, until the interpreter aborts; that is why pyproject pins PySide6<6.12.
This catches the leak (and any later binding that brings it back)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

CALLS = 1000
SLACK = 50


def test_none_refcount_is_stable_across_qt_calls_returning_none(qtbot):
    obj = QObject()
    widget = QWidget()
    qtbot.addWidget(widget)
    for _ in range(50):  # warm-up: caches, interned strings
        obj.setObjectName("warm")
        widget.setToolTip("warm")
    before = sys.getrefcount(None)
    for i in range(CALLS):
        assert obj.setObjectName(f"object-{i % 7}") is None
        assert widget.setToolTip(f"tip-{i % 7}") is None
        widget.setEnabled(bool(i % 2))
    after = sys.getrefcount(None)
    assert abs(after - before) <= SLACK, (
        f"sys.getrefcount(None) moved by {after - before} over {3 * CALLS} Qt calls returning None: "
        "this PySide6 build leaks None references (PySide6 6.12.0 does; keep PySide6<6.12)"
    )
