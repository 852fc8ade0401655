"""Whether MLflow can use a tracking URI, said as a sentence before anything is stored.

A URI MLflow cannot resolve to a store would stop the mirror at its next pass, long after the
user who typed it left the Settings page; checking it when it is set puts the reason next to
the field. The check asks MLflow's own store registry (no store is built, so no file or
connection is made) and adds what the daemon needs on top: a local store's path is absolute
(the daemon does not share a client's working directory) and its folder exists.

Blocking: the first call imports MLflow (about a second); the API calls it on a thread.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

_SPACE = re.compile(r"\s")


def tracking_uri_problem(uri: str) -> str | None:
    """Why MLflow cannot track to ``uri``, as a sentence; None when it can."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking._tracking_service.utils import _tracking_store_registry
    from mlflow.utils.uri import get_uri_scheme

    if _SPACE.search(uri):
        return "a tracking URI holds no spaces or line breaks"
    if uri == "databricks" or uri.startswith("databricks://"):
        return None  # the Databricks workspace of the default (or named) CLI profile
    if uri in ("databricks-uc", "uc") or uri.startswith(("databricks-uc:", "uc:")):
        return "Unity Catalog holds models, not runs: track to 'databricks' (or a server or store) instead"
    try:
        scheme = get_uri_scheme(uri)
        _tracking_store_registry.get_store_builder(uri)
    except MlflowException:
        known = ", ".join(sorted(s for s in _tracking_store_registry._registry if s))
        found = f"'{uri.split(':', 1)[0]}'" if ":" in uri else "none"
        return (
            f"MLflow cannot use this tracking URI: its scheme ({found}) is not one MLflow knows "
            f"(it knows {known}); for example sqlite:////home/you/mlflow.db or http://host:5000"
        )
    if scheme in ("http", "https"):
        if not urlsplit(uri).hostname:
            return f"the tracking URI names no server: give {scheme}://HOST[:PORT]"
        return None
    if scheme in ("", "file"):
        return _local_folder(uri, scheme)
    if scheme.split("+")[0] == "sqlite":
        return _sqlite(uri)
    if scheme != "databricks":
        try:
            from mlflow.utils.uri import extract_db_type_from_uri

            extract_db_type_from_uri(uri)
        except MlflowException as err:
            return "MLflow cannot use this database URI" + _detail(err)
    return None


def _detail(err: Exception) -> str:
    text = str(getattr(err, "message", err)).strip().splitlines()
    return f" ({text[0][:300]})" if text else ""


def _sqlite(uri: str) -> str | None:
    rest = uri.split(":///", 1)[1] if ":///" in uri else ""
    rest = rest.split("?", 1)[0]
    if not rest or rest == ":memory:":
        return "an in-memory SQLite store loses every run when the daemon stops; name a file: sqlite:////path/to/mlflow.db"
    if rest.startswith("file:"):
        return None  # a SQLite URI filename; SQLite resolves it
    path = Path(rest)
    if not path.is_absolute():
        return (
            f"the SQLite file '{rest}' is a relative path, and the daemon does not share your working "
            f"directory; give an absolute one, e.g. sqlite:////home/you/{Path(rest).name}"
        )
    if not path.parent.is_dir():
        return f"the folder {path.parent} of the SQLite file does not exist; create it first"
    if path.is_dir():
        return f"{path} is a folder; name the SQLite file in it, e.g. sqlite:///{path / 'mlflow.db'}"
    return None


def _local_folder(uri: str, scheme: str) -> str | None:
    path = Path(urlsplit(uri).path if scheme == "file" else uri)
    if not path.is_absolute():
        return (
            f"the tracking folder '{uri}' is a relative path; give an absolute one (file:///path/to/mlruns)"
        )
    if path.exists() and not path.is_dir():
        return f"{path} is a file, not a folder of MLflow runs"
    return None


__all__ = ["tracking_uri_problem"]
