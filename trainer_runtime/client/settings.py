"""The client's calls for the daemon's settings (``/v1/settings``): each returns the route's model."""

from __future__ import annotations

from typing import Any

from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.settings import SettingsChanged, SettingsView
from trainer_runtime.client.transport import Transport


class SettingsCalls(Transport):
    def settings(self) -> SettingsView:
        return parse(SettingsView, self.request("GET", "/v1/settings"))

    def update_settings(self, **changes: Any) -> SettingsChanged:
        """Change settings in the running daemon: ``update_settings(tracking_uri="sqlite:////x.db")``;
        None puts one back to its default. Raises ApiError (400, the reason in ``problems``) when
        the daemon refuses; then nothing was saved. The switch to a new tracking store can wait
        for a mirror pass in progress, so this call waits longer than most."""
        return parse(SettingsChanged, self.slow(60.0).request("PUT", "/v1/settings", changes))


__all__ = ["SettingsCalls"]
