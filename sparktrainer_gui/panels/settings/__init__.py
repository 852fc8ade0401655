"""The Settings page: credentials in the OS keyring, data folder, tracking URI, theme."""

from __future__ import annotations

from sparktrainer_gui.panels.settings.panel import SettingsPanel

__all__ = ["SettingsPanel"]
