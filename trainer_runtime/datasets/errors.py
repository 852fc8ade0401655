"""The one error type of the datasets package: a sentence a user can act on."""

from __future__ import annotations

import re

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


class DatasetError(ValueError):
    """Bad input or a failed dataset operation; ``str(err)`` is the sentence to show."""


class ImportCancelled(DatasetError):
    def __init__(self) -> None:
        super().__init__("the import was cancelled; nothing was stored")


class DatasetNotFound(DatasetError, KeyError):
    def __init__(self, name: str, version: int | None = None):
        self.name, self.version = name, version
        what = f"dataset '{name}'" if version is None else f"version {version} of dataset '{name}'"
        super().__init__(f"no {what}; `sparktrainer datasets list` shows what exists")

    def __str__(self) -> str:
        return str(self.args[0])


def check_name(name: str) -> str:
    """A dataset name is a plain word, never a path: ``NAME_RE`` (as job names)."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        shown = name if isinstance(name, str) else type(name).__name__
        if isinstance(name, str) and ("/" in name or "\\" in name or name in (".", "..")):
            raise DatasetError(
                f"dataset name '{shown}' looks like a path; use 1-80 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        raise DatasetError(
            f"invalid dataset name '{shown}': use 1-80 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name
