"""The contract of ``/v1/settings``: what the daemon runs with, and a change to it.

The bounds of each setting live in ``trainer_runtime.settings`` (the file's own model) and are
reused here, so the API, the file and the CLI refuse the same values with the same reasons.
A change answers, setting by setting, whether the running daemon took it at once or only
stored it (and why: an environment variable overrides it, or it needs a restart).
"""

from __future__ import annotations

from pydantic import Field, computed_field

from trainer_runtime.api.schema.base import Strict, View
from trainer_runtime.settings import (
    CancelTimeout,
    CpuSlots,
    ImportLimits,
    PauseTimeout,
    SyncInterval,
    TrackingUri,
    WatchdogSeconds,
)


class ImportLimitsView(View):
    """The import limits settings.json sets (null: the built-in default)."""

    max_image_pixels: int | None
    max_members: int | None
    max_total_bytes: int | None
    max_record_bytes: int | None


class SettingsView(View):
    """settings.json as the daemon reads it, and what it runs with now."""

    path: str = Field(description="the settings.json of this data dir")
    tracking_uri: str | None = Field(description="as set in settings.json; null: the default store")
    cpu_slots: int | None = Field(description="as set in settings.json; null: the CPU count")
    cancel_timeout_s: float
    watchdog_s: float
    pause_timeout_s: float
    mlflow_sync_interval_s: float
    import_limits: ImportLimitsView
    effective_tracking_uri: str = Field(description="the store the MLflow mirror writes to now")
    default_tracking_uri: str = Field(description="the store used when tracking_uri is not set")
    cpu_slots_in_use: int | None = Field(description="CPU slots the scheduler has; null on a GPU machine")
    overridden: dict[str, str] = Field(
        default_factory=dict, description="settings an environment variable overrides: {setting: variable}"
    )


class ImportLimitsUpdate(ImportLimits):
    """Import limits to change: a field given sets it, null puts it back to the default."""

    model_config = {"extra": "forbid", "strict": True}


class SettingsUpdate(Strict):
    """The settings to change; a field left out keeps its value, null puts it back to its default."""

    tracking_uri: TrackingUri | None = None
    cpu_slots: CpuSlots | None = None
    cancel_timeout_s: CancelTimeout | None = None
    watchdog_s: WatchdogSeconds | None = None
    pause_timeout_s: PauseTimeout | None = None
    mlflow_sync_interval_s: SyncInterval | None = None
    import_limits: ImportLimitsUpdate | None = None


class SettingChange(View):
    key: str = Field(description="the setting (import_limits.max_members for a limit)")
    live: bool = Field(description="the running daemon uses the new value now")
    note: str = Field(description="what the change does, or why it waits")


class SettingsChanged(View):
    settings: SettingsView
    changes: list[SettingChange] = Field(description="each setting whose value changed")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def restart_needed(self) -> list[str]:
        """The changed settings the running daemon does not use until it restarts."""
        return [c.key for c in self.changes if not c.live]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def message(self) -> str:
        """One sentence for a status bar."""
        if not self.changes:
            return "Nothing changed."
        waiting = self.restart_needed
        if not waiting:
            return "Saved; the runtime uses the new settings now."
        return f"Saved; {', '.join(waiting)} applies when the runtime restarts."


__all__ = [
    "ImportLimitsUpdate",
    "ImportLimitsView",
    "SettingChange",
    "SettingsChanged",
    "SettingsUpdate",
    "SettingsView",
]
