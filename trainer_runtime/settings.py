"""Runtime settings, kept in ``<data dir>/settings.json`` (environment variables win)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trainer_runtime.datasets.limits import DEFAULT_LIMITS, Limits
from trainer_runtime.paths import DataDir


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

    tracking_uri: str | None = Field(
        None, description="MLflow tracking URI; default: a SQLite store in the data dir"
    )
    cpu_slots: int | None = Field(
        None, ge=1, le=1024, description="concurrent CPU job processes; default: CPU count"
    )
    cancel_timeout_s: float = Field(10.0, gt=0, le=600)
    watchdog_s: float = Field(
        600.0,
        gt=0,
        le=7 * 86400,
        description="a running worker that writes no event and uses no CPU this long is marked unresponsive",
    )
    pause_timeout_s: float = Field(
        300.0, gt=0, le=7 * 86400, description="a pause that got no checkpoint this long is reported"
    )
    mlflow_sync_interval_s: float = Field(2.0, gt=0, le=3600)
    import_limits: ImportLimits = Field(default_factory=ImportLimits)

    def effective_tracking_uri(self, data: DataDir) -> str:
        return os.environ.get("SPARKTRAINER_TRACKING_URI") or self.tracking_uri or data.default_tracking_uri


class SettingsError(ValueError):
    pass


def load_settings(data: DataDir) -> Settings:
    path: Path = data.settings_file
    raw: dict = {}
    if path.exists():
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            raise SettingsError(f"{path} is not valid JSON ({err}); fix or delete it") from None
    if os.environ.get("SPARKTRAINER_CPU_SLOTS"):
        raw["cpu_slots"] = os.environ["SPARKTRAINER_CPU_SLOTS"]
    try:
        return Settings.model_validate(raw)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise SettingsError(f"invalid settings in {path}: {problems}") from None


def save_settings(data: DataDir, settings: Settings) -> None:
    path = data.settings_file
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # private, as the whole data dir
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(settings.model_dump_json(indent=2, exclude_none=True))
    os.replace(tmp, path)
