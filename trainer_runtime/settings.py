"""Runtime settings, kept in ``<data dir>/settings.json`` (environment variables win).

The daemon owns the file: clients change it through ``PUT /v1/settings``
(``api/settings.py``), which validates a change, writes the file and applies it to the
running daemon. The bounds of each setting are written once, here (the API's models reuse
these types).
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trainer_runtime.datasets.limits import DEFAULT_LIMITS, Limits
from trainer_runtime.paths import DataDir

# Environment variables that override a setting for the daemon they are set for.
ENV_OVERRIDES = {"tracking_uri": "SPARKTRAINER_TRACKING_URI", "cpu_slots": "SPARKTRAINER_CPU_SLOTS"}

TrackingUri = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2000,
        description="MLflow tracking URI; default: a SQLite store in the data dir",
    ),
]
CpuSlots = Annotated[
    int, Field(ge=1, le=1024, description="concurrent CPU job processes (without GPUs); default: CPU count")
]
CancelTimeout = Annotated[
    float, Field(gt=0, le=600, description="seconds a cancelled worker gets after SIGTERM before SIGKILL")
]
WatchdogSeconds = Annotated[
    float,
    Field(
        gt=0, le=7 * 86400,
        description="a running worker that writes no event and uses no CPU this long is marked unresponsive",
    ),
]  # fmt: skip
PauseTimeout = Annotated[
    float, Field(gt=0, le=7 * 86400, description="a pause that got no checkpoint this long is reported")
]
SyncInterval = Annotated[float, Field(gt=0, le=3600, description="seconds between MLflow mirror passes")]


class ImportLimits(BaseModel):
    """What an import reads before it refuses (``trainer_runtime.datasets.limits`` says why
    each default is what it is); unset fields keep the default."""

    model_config = ConfigDict(extra="forbid")

    max_image_pixels: int | None = Field(
        None, ge=1, le=1 << 40, description="pixels (width x height) of one picture"
    )
    max_members: int | None = Field(None, ge=1, le=100_000_000, description="files in one archive")
    max_total_bytes: int | None = Field(None, ge=1, description="bytes an archive may unpack to")
    max_record_bytes: int | None = Field(
        None, ge=1 << 10, le=1 << 30, description="one text line, JSONL line or CSV record"
    )

    def apply(self, base: Limits = DEFAULT_LIMITS) -> Limits:
        return replace(base, **self.model_dump(exclude_none=True))


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tracking_uri: TrackingUri | None = None
    cpu_slots: CpuSlots | None = None
    cancel_timeout_s: CancelTimeout = 10.0
    watchdog_s: WatchdogSeconds = 600.0
    pause_timeout_s: PauseTimeout = 300.0
    mlflow_sync_interval_s: SyncInterval = 2.0
    import_limits: ImportLimits = Field(default_factory=ImportLimits)

    def effective_tracking_uri(self, data: DataDir) -> str:
        return os.environ.get("SPARKTRAINER_TRACKING_URI") or self.tracking_uri or data.default_tracking_uri


class SettingsError(ValueError):
    pass


def read_file(data: DataDir) -> dict[str, Any]:
    """settings.json as written (no environment override), ``{}`` when there is none."""
    path: Path = data.settings_file
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise SettingsError(f"{path} is not valid JSON ({err}); fix or delete it") from None
    if not isinstance(raw, dict):
        raise SettingsError(f"{path} must hold a JSON object; fix or delete it")
    return raw


def overridden() -> dict[str, str]:
    """The settings an environment variable overrides in this process: {field: variable}."""
    return {field: var for field, var in ENV_OVERRIDES.items() if os.environ.get(var)}


def load_settings(data: DataDir) -> Settings:
    path: Path = data.settings_file
    raw = read_file(data)
    if os.environ.get("SPARKTRAINER_CPU_SLOTS"):
        raw["cpu_slots"] = os.environ["SPARKTRAINER_CPU_SLOTS"]
    try:
        return Settings.model_validate(raw)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise SettingsError(f"invalid settings in {path}: {problems}") from None


def save_settings(data: DataDir, settings: Settings) -> None:
    """Write settings.json whole or not at all: a temporary file (0600, private as the whole
    data dir), flushed to disk, then renamed over the old one. Only the settings that were set
    are written: one left at its default follows the default of the next version."""
    from trainer_runtime.fsutil import fsync_dir

    path = data.settings_file
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(settings.model_dump_json(indent=2, exclude_none=True, exclude_unset=True))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)
