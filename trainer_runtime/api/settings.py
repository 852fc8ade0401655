"""``GET /v1/settings`` and ``PUT /v1/settings``: the daemon owns settings.json.

A change is validated as the file's own model validates it (bounds in ``trainer_runtime.settings``)
and, for a tracking URI, by MLflow's store registry (``tracking/uri.py``): a refused change
answers 400 with the reason next to the field and leaves the file as it was. An accepted one
is written atomically (0600) and applied to the running daemon where it can be:

- ``tracking_uri``: the MLflow mirror switches store before the answer is sent (``MirrorThread.switch``);
- ``cpu_slots``: the scheduler's CPU slots (a job on a slot that goes keeps running);
- ``cancel_timeout_s``, ``watchdog_s``, ``pause_timeout_s``: the supervisor's next checks;
- ``mlflow_sync_interval_s``: the mirror's next wait;
- ``import_limits``: the next import or preview.

The answer says, setting by setting, what took effect and what waits for a restart (a value an
environment variable overrides, CPU slots on a GPU machine, the mirror turned off).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from trainer_runtime.api.edge import BadRequest, json_body, problems_of
from trainer_runtime.api.schema.routes import declare, mount, reply
from trainer_runtime.api.schema.settings import (
    SettingChange,
    SettingsChanged,
    SettingsUpdate,
    SettingsView,
)
from trainer_runtime.settings import Settings, SettingsError, overridden, read_file, save_settings

log = logging.getLogger(__name__)
SWITCH_WAIT_S = 30.0  # a mirror pass in progress (a slow remote store) finishes first

GET = declare(
    "GET",
    "/v1/settings",
    "The daemon's settings (settings.json) and what it runs with",
    response=SettingsView,
)
PUT = declare(
    "PUT", "/v1/settings", "Change settings: validated, saved, and applied live where the daemon can",
    response=SettingsChanged, body=SettingsUpdate,
)  # fmt: skip


class SettingsApi:
    def __init__(self, daemon: Any):  # trainer_runtime.daemon.Daemon
        self.d = daemon
        self._lock = asyncio.Lock()  # one change at a time: each reads the file the last one wrote

    def view(self) -> SettingsView:
        s: Settings = self.d.settings
        file_view = Settings.model_validate(self._file())  # without environment overrides
        return SettingsView(
            path=str(self.d.data.settings_file),
            tracking_uri=file_view.tracking_uri,
            cpu_slots=file_view.cpu_slots,
            cancel_timeout_s=s.cancel_timeout_s,
            watchdog_s=s.watchdog_s,
            pause_timeout_s=s.pause_timeout_s,
            mlflow_sync_interval_s=s.mlflow_sync_interval_s,
            import_limits=s.import_limits.model_dump(),
            effective_tracking_uri=self.d.tracking_uri,
            default_tracking_uri=self.d.data.default_tracking_uri,
            cpu_slots_in_use=len(self.d.devices.devices) if self.d.devices.kind == "cpu" else None,
            overridden=overridden(),
        )

    def _file(self) -> dict[str, Any]:
        try:
            return read_file(self.d.data)
        except SettingsError as err:  # edited by hand into something broken since the start
            raise BadRequest(str(err), [("", "settings.json cannot be read")], status=409) from None

    async def get(self, request: web.Request) -> web.Response:
        return reply(GET, await asyncio.to_thread(self.view))

    async def put(self, request: web.Request) -> web.Response:
        update: SettingsUpdate = await json_body(request, SettingsUpdate)
        async with self._lock:
            raw = await asyncio.to_thread(self._file)
            merged = _merge(raw, update)
            try:
                old_file, new_file = Settings.model_validate(raw), Settings.model_validate(merged)
            except ValidationError as err:  # a rule across fields, or a file edited by hand
                raise BadRequest("invalid settings", problems_of(err)) from None
            uri = merged.get("tracking_uri")
            if "tracking_uri" in update.model_fields_set and uri:
                from trainer_runtime.tracking.uri import tracking_uri_problem

                problem = await asyncio.to_thread(tracking_uri_problem, uri)
                if problem:
                    raise BadRequest(
                        f"the tracking URI was not saved: {problem}", [("tracking_uri", problem)]
                    )
            await asyncio.to_thread(save_settings, self.d.data, new_file)
            changes = await self._apply(old_file, new_file)
            log.info(
                "settings changed: %s",
                ", ".join(f"{c.key} ({'live' if c.live else 'stored'})" for c in changes) or "nothing",
            )
            return reply(PUT, SettingsChanged(settings=await asyncio.to_thread(self.view), changes=changes))

    async def _apply(self, old_file: Settings, new_file: Settings) -> list[SettingChange]:
        """Make the running daemon use ``new_file`` (environment overrides kept) and say what changed."""
        d, old = self.d, self.d.settings
        env = overridden()
        new = new_file.model_copy(update={k: getattr(old, k) for k in env})  # the override still wins
        d.settings = new
        changes: list[SettingChange] = []

        def changed(key: str, live: bool, note: str) -> None:
            changes.append(SettingChange(key=key, live=live, note=note))

        for key, var in env.items():
            if getattr(new_file, key) != getattr(old_file, key):
                changed(
                    key, False, f"saved; {var} is set for this daemon and wins until it starts without it"
                )
        if "tracking_uri" not in env:
            uri = new.effective_tracking_uri(d.data)
            if uri != d.tracking_uri:
                changed("tracking_uri", *await self._switch_tracking(uri))
        if "cpu_slots" not in env and new.cpu_slots != old.cpu_slots:
            changed("cpu_slots", *self._cpu_slots(new.cpu_slots))
        sup = d.supervisor
        if new.cancel_timeout_s != old.cancel_timeout_s:
            sup.cancel_timeout = new.cancel_timeout_s
            changed(
                "cancel_timeout_s", True, f"a cancelled worker gets {new.cancel_timeout_s:g} s before SIGKILL"
            )
        if new.watchdog_s != old.watchdog_s:
            sup.watchdog.timeout_s = new.watchdog_s
            changed("watchdog_s", True, f"a silent worker is marked unresponsive after {new.watchdog_s:g} s")
        if new.pause_timeout_s != old.pause_timeout_s:
            sup.pause_timeout = new.pause_timeout_s
            changed(
                "pause_timeout_s",
                True,
                f"a pause without a checkpoint is reported after {new.pause_timeout_s:g} s",
            )
        if new.mlflow_sync_interval_s != old.mlflow_sync_interval_s:
            if d.mirror is not None:
                d.mirror.set_interval(new.mlflow_sync_interval_s)
            changed(
                "mlflow_sync_interval_s",
                True,
                f"the MLflow mirror passes every {new.mlflow_sync_interval_s:g} s",
            )
        old_limits, new_limits = old.import_limits.model_dump(), new.import_limits.model_dump()
        if old_limits != new_limits:
            d.api.datasets.set_limits(new.import_limits.apply())
            for key in (k for k in new_limits if new_limits[k] != old_limits[k]):
                value = new_limits[key]
                changed(
                    f"import_limits.{key}",
                    True,
                    f"the next import reads {'at most ' + format(value, ',') if value else 'the default'}",
                )
        if changes:
            d.wake()  # more slots or a new store: the scheduler and the mirror look now
        return changes

    async def _switch_tracking(self, uri: str) -> tuple[bool, str]:
        from trainer_runtime.tracking.sync import shown_uri

        d = self.d
        d.tracking_uri = uri
        if d.mirror is None:
            return False, "saved; the MLflow mirror is off in this daemon (SPARKTRAINER_MLFLOW=off)"
        done = d.mirror.switch(uri)
        if not await asyncio.to_thread(done.wait, SWITCH_WAIT_S):
            return True, f"the MLflow mirror moves to {shown_uri(uri)} after the pass it is in"
        return True, f"new runs go to {shown_uri(uri)}; runs already finished stay in the old store"

    def _cpu_slots(self, slots: int | None) -> tuple[bool, str]:
        import os

        from trainer_runtime.jobs.devices import cpu_devices

        pool = self.d.devices
        if pool.kind != "cpu":
            return False, "saved; jobs run on GPUs here, CPU slots are used only on a machine without them"
        n = slots or os.cpu_count() or 1
        pool.devices = cpu_devices(n)  # a job on a slot that goes keeps it until it ends
        return True, f"{n} CPU slot(s) for jobs"


def _merge(raw: dict[str, Any], update: SettingsUpdate) -> dict[str, Any]:
    """settings.json's content with ``update`` on it: a field given sets it, null removes it."""
    out = dict(raw)
    for key in update.model_fields_set:
        value = getattr(update, key)
        if key == "import_limits" and value is not None:
            limits = dict(out.get("import_limits") or {})
            for lk in value.model_fields_set:
                lv = getattr(value, lk)
                if lv is None:
                    limits.pop(lk, None)
                else:
                    limits[lk] = lv
            out["import_limits"] = limits
        elif value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def register(router: web.UrlDispatcher, daemon: Any) -> None:
    api = SettingsApi(daemon)
    mount(router, GET, api.get)
    mount(router, PUT, api.put)
