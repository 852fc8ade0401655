"""Light and dark themes (``resources/themes/*.qss``), following the system colour
scheme by default; the user's choice is kept in QSettings under ``appearance/theme``.

``apply_theme(app, "light" | "dark" | "system")`` is the one entry point; widgets
that paint themselves read ``colors()`` and listen to ``notifier.theme_changed``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QObject, QSettings, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from trainer_runtime.jobs.state import JobState

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
MODES = ("system", "light", "dark")
SETTINGS_KEY = "appearance/theme"

# The colours the qss uses, for code that paints (delegates, icons); a job state's colour is
# keyed by its JobState member (``state_color``).
PALETTES: dict[str, dict[str, str]] = {
    "light": {
        "window": "#f6f7f9", "base": "#ffffff", "alt": "#f2f4f7", "text": "#1d2330", "muted": "#667085",
        "border": "#d9dee7", "accent": "#3b6ef5", "accent_text": "#ffffff", "icon": "#3d4655",
        "track": "#e6e9ef", "highlight": "#dfe8ff", "disabled": "#a7afbd", "warning": "#c2410c",
        "error": "#c4322b", "caution": "#8a6d00",  # a failure's red and a queued job's amber
        JobState.RUNNING: "#2f7d4f", JobState.QUEUED: "#8a6d00", JobState.PENDING: "#7a8494",
        JobState.PAUSED: "#b25e09", JobState.COMPLETED: "#2b5fd9", JobState.FAILED: "#c4322b",
        JobState.CANCELLED: "#7a8494",
    },
    "dark": {
        "window": "#1b1e24", "base": "#22262e", "alt": "#262b34", "text": "#e4e7ec", "muted": "#98a1b2",
        "border": "#363c48", "accent": "#6d93ff", "accent_text": "#0f1420", "icon": "#c9d0dc",
        "track": "#323844", "highlight": "#2c3a5c", "disabled": "#5d6574", "warning": "#fb8c3c",
        "error": "#ff6b63", "caution": "#e0b83c",
        JobState.RUNNING: "#52c47e", JobState.QUEUED: "#e0b83c", JobState.PENDING: "#98a1b2",
        JobState.PAUSED: "#f0a04b", JobState.COMPLETED: "#7fa5ff", JobState.FAILED: "#ff6b63",
        JobState.CANCELLED: "#98a1b2",
    },
}  # fmt: skip


class _Notifier(QObject):
    theme_changed = Signal(str)  # the resolved theme: "light" | "dark"


notifier = _Notifier()
_state: dict[str, Any] = {"mode": "system", "resolved": "light", "hooked": False}


def saved_mode() -> str:
    mode = str(QSettings().value(SETTINGS_KEY, "system"))
    return mode if mode in MODES else "system"


def current_mode() -> str:
    return _state["mode"]


def current_theme() -> str:
    return _state["resolved"]


def colors() -> dict[str, str]:
    return PALETTES[_state["resolved"]]


def state_color(state: JobState | str | None, default: str = "muted") -> str:
    """A job state's colour in the current theme (``default``'s colour for no state)."""
    c = colors()
    try:
        return c[JobState(state)] if state is not None else c[default]
    except ValueError:
        return c[default]


def _system_theme() -> str:
    scheme = QGuiApplication.styleHints().colorScheme()
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


def apply_theme(app: QApplication, mode: str = "system", persist: bool = True) -> str:
    """Apply ``mode`` to ``app`` and remember it; returns the resolved theme."""
    if mode not in MODES:
        raise ValueError(f"unknown theme {mode!r}; use one of {', '.join(MODES)}")
    hints = QGuiApplication.styleHints()
    if not _state["hooked"]:
        hints.colorSchemeChanged.connect(lambda _scheme: _follow_system(app))
        _state["hooked"] = True
    _state["mode"] = mode
    if mode == "system":
        hints.unsetColorScheme()
        resolved = _system_theme()
    else:
        resolved = mode
        hints.setColorScheme(Qt.ColorScheme.Dark if mode == "dark" else Qt.ColorScheme.Light)
    if persist:
        QSettings().setValue(SETTINGS_KEY, mode)
    _apply_resolved(app, resolved)
    return resolved


def _follow_system(app: QApplication) -> None:
    if _state["mode"] == "system":
        resolved = _system_theme()
        if resolved != _state["resolved"]:
            _apply_resolved(app, resolved)


def _apply_resolved(app: QApplication, resolved: str) -> None:
    _state["resolved"] = resolved
    c = PALETTES[resolved]
    pal = QPalette()
    for role, key in (
        (QPalette.ColorRole.Window, "window"), (QPalette.ColorRole.Base, "base"),
        (QPalette.ColorRole.AlternateBase, "alt"), (QPalette.ColorRole.Text, "text"),
        (QPalette.ColorRole.WindowText, "text"), (QPalette.ColorRole.ButtonText, "text"),
        (QPalette.ColorRole.Button, "base"), (QPalette.ColorRole.Highlight, "accent"),
        (QPalette.ColorRole.HighlightedText, "accent_text"), (QPalette.ColorRole.ToolTipBase, "base"),
        (QPalette.ColorRole.ToolTipText, "text"), (QPalette.ColorRole.PlaceholderText, "muted"),
    ):  # fmt: skip
        pal.setColor(role, QColor(c[key]))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(c["muted"]))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(c["muted"]))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor(c["muted"]))
    app.setPalette(pal)
    app.setStyleSheet(stylesheet(resolved))
    notifier.theme_changed.emit(resolved)


@lru_cache(maxsize=4)
def stylesheet(resolved: str) -> str:
    return (RESOURCES / "themes" / f"{resolved}.qss").read_text(encoding="utf-8")


@lru_cache(maxsize=32)
def _svg(name: str) -> str:
    return (RESOURCES / "icons" / f"{name}.svg").read_text(encoding="utf-8")


def icon(name: str, color: str | None = None, size: int = 20) -> QIcon:
    """An icon from ``resources/icons`` drawn in the theme's icon colour (or ``color``);
    a disabled variant is drawn in the muted colour."""
    c = colors()
    result = QIcon()
    for mode, col in ((QIcon.Mode.Normal, color or c["icon"]), (QIcon.Mode.Disabled, c["disabled"])):
        for scale in (1, 2):
            result.addPixmap(_render(name, col, size * scale), mode)
    return result


def _render(name: str, color: str, px: int) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(_svg(name).replace("currentColor", color).encode()))
    pix = QPixmap(px, px)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    renderer.render(painter)
    painter.end()
    return pix
