"""``sparktrainer settings get [KEY]`` and ``sparktrainer settings set KEY VALUE``.

Both go through the daemon (``/v1/settings``), which validates a change, saves settings.json
and applies it live where it can; ``set`` prints, per setting, whether it took effect now.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from trainer_runtime.api.schema.settings import SettingsUpdate, SettingsView
from trainer_runtime.cli.output import emit_json, error, table
from trainer_runtime.client.client import Client

DEFAULT_WORDS = ("default", "none", "unset")
TEXT_KEYS = {"tracking_uri"}


def keys() -> list[str]:
    """The settings ``set`` takes: the update's fields, an import limit as import_limits.NAME."""
    from trainer_runtime.api.schema.settings import ImportLimitsUpdate

    top = [k for k in SettingsUpdate.model_fields if k != "import_limits"]
    return top + [f"import_limits.{k}" for k in ImportLimitsUpdate.model_fields]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("settings", help="show or change the daemon's settings (applied live where possible)")
    ssub = p.add_subparsers(dest="settings_cmd", required=True, metavar="COMMAND")
    g = ssub.add_parser("get", help="every setting, or one")
    g.add_argument("key", nargs="?", help="e.g. tracking_uri, cpu_slots, import_limits.max_members")
    g.add_argument("--json", action="store_true")
    s = ssub.add_parser("set", help="change one setting ('default' puts it back)")
    s.add_argument("key", choices=keys(), metavar="KEY", help=", ".join(keys()))
    s.add_argument("value", help="the new value; 'default' puts the setting back to its default")
    s.add_argument("--json", action="store_true")


def parse_value(key: str, text: str) -> Any:
    """The value of ``KEY VALUE`` as the API takes it (the daemon checks its bounds)."""
    if text.strip().lower() in DEFAULT_WORDS or not text.strip():
        return None
    if key in TEXT_KEYS:
        return text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{key} takes a number (or 'default'), not '{text}'") from None


def _rows(view: SettingsView) -> list[list[str]]:
    def shown(v: Any) -> str:
        return "(default)" if v is None else str(v)

    rows = [
        ["tracking_uri", shown(view.tracking_uri), view.effective_tracking_uri],
        [
            "cpu_slots",
            shown(view.cpu_slots),
            "-" if view.cpu_slots_in_use is None else str(view.cpu_slots_in_use),
        ],
    ]
    for key in ("cancel_timeout_s", "watchdog_s", "pause_timeout_s", "mlflow_sync_interval_s"):
        rows.append([key, f"{getattr(view, key):g}", f"{getattr(view, key):g}"])
    from trainer_runtime.datasets.limits import DEFAULT_LIMITS

    for key, value in view.import_limits.model_dump().items():
        in_use = getattr(DEFAULT_LIMITS, key) if value is None else value
        rows.append([f"import_limits.{key}", shown(value), f"{in_use:,}"])
    for row in rows:
        var = view.overridden.get(row[0])
        if var:
            row[2] += f"  ({var} overrides it)"
    return rows


def run(args: argparse.Namespace, client: Client) -> int:
    if args.settings_cmd == "get":
        view = client.settings()
        if args.key:
            found = [r for r in _rows(view) if r[0] == args.key]
            if not found:
                error(f"no setting {args.key}; the settings are {', '.join(keys())}")
                return 2
            emit_json({"key": args.key, "value": found[0][1], "in_use": found[0][2]}) if args.json else print(
                found[0][2]
            )
            return 0
        if args.json:
            emit_json(view)
            return 0
        print(f"settings file: {view.path}")
        print(table(_rows(view), ["SETTING", "SAVED", "IN USE"]))
        return 0
    try:
        value = parse_value(args.key, args.value)
    except ValueError as err:
        error(str(err))
        return 2
    top, _, sub = args.key.partition(".")
    answer = client.update_settings(**({top: {sub: value}} if sub else {top: value}))
    if args.json:
        emit_json(answer)
        return 0
    for change in answer.changes:
        print(f"{change.key}: {change.note}", file=sys.stdout if change.live else sys.stderr)
    print(answer.message)
    return 0


__all__ = ["add_parser", "keys", "parse_value", "run"]
