"""A settings change without a daemon: which tracking URIs MLflow can use (and the sentence
when it cannot), how an update merges into settings.json, and the CLI's KEY VALUE parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainer_runtime.api.schema.settings import SettingsUpdate
from trainer_runtime.api.settings import _merge
from trainer_runtime.cli.settings import keys, parse_value
from trainer_runtime.tracking.uri import tracking_uri_problem


@pytest.mark.parametrize(
    "uri",
    ["http://mlflow.local:5000", "https://mlflow.example/api", "postgresql://u@db/mlflow",
     "mysql+pymysql://u@db/mlflow", "databricks"],
)  # fmt: skip
def test_uris_mlflow_can_use_pass(uri: str) -> None:
    assert tracking_uri_problem(uri) is None


def test_local_stores_need_an_absolute_path_in_a_folder_that_exists(tmp_path: Path) -> None:
    assert tracking_uri_problem(f"sqlite:///{tmp_path / 'other.db'}") is None
    assert tracking_uri_problem(str(tmp_path / "mlruns")) is None
    assert "relative path" in tracking_uri_problem("sqlite:///other.db")
    assert "does not exist" in tracking_uri_problem(f"sqlite:///{tmp_path / 'nowhere' / 'x.db'}")
    assert "in-memory" in tracking_uri_problem("sqlite:///:memory:")
    assert "is a folder" in tracking_uri_problem(f"sqlite:///{tmp_path}")
    assert "relative path" in tracking_uri_problem("mlruns")


@pytest.mark.parametrize(
    ("uri", "why"),
    [("bogus://somewhere", "its scheme ('bogus') is not one MLflow knows"),
     ("ftp://host/runs", "is not one MLflow knows"),
     ("http://", "names no server"),
     ("sqlite:////tmp/a b.db", "no spaces")],
)  # fmt: skip
def test_uris_mlflow_cannot_use_get_a_sentence(uri: str, why: str) -> None:
    problem = tracking_uri_problem(uri)
    assert problem is not None and why in problem
    assert "Traceback" not in problem


def test_an_update_sets_given_fields_and_null_restores_the_default() -> None:
    raw = {"tracking_uri": "http://a:5000", "watchdog_s": 900, "import_limits": {"max_members": 10}}
    update = SettingsUpdate.model_validate(
        {
            "tracking_uri": None,
            "cpu_slots": 4,
            "import_limits": {"max_record_bytes": 4096, "max_members": None},
        }
    )
    assert _merge(raw, update) == {
        "watchdog_s": 900,
        "cpu_slots": 4,
        "import_limits": {"max_record_bytes": 4096},
    }
    assert raw["tracking_uri"] == "http://a:5000"  # the file's content is not changed in place


def test_updates_are_strict_and_bounded_by_the_settings_file() -> None:
    from pydantic import ValidationError

    for bad in ({"cpu_slots": "4"}, {"cpu_slots": 0}, {"watchdog_s": -1}, {"theme": "dark"},
                {"import_limits": {"max_members": 0}}):  # fmt: skip
        with pytest.raises(ValidationError):
            SettingsUpdate.model_validate(bad)


def test_cli_values() -> None:
    assert parse_value("cpu_slots", "4") == 4 and parse_value("watchdog_s", "2.5") == 2.5
    assert parse_value("tracking_uri", " http://a:5000 ") == "http://a:5000"
    assert parse_value("watchdog_s", "default") is None
    with pytest.raises(ValueError, match="takes a number"):
        parse_value("cpu_slots", "many")
    assert "import_limits.max_members" in keys() and "tracking_uri" in keys()
