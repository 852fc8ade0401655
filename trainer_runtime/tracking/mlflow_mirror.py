"""Mirror of one job attempt into an MLflow run, through ``MlflowClient`` only.

The daemon keeps the bookkeeping (which metric rows were sent, retries, when to call);
this class only talks to MLflow, from a background thread, for many jobs at once. It
never touches MLflow's global ``start_run`` state.

mlflow is imported lazily (it costs more than a second): importing this module does not
import it. Every MLflow, HTTP, SQL or file error becomes :class:`MirrorUnavailable` of one of
three kinds (``errors.py``): unreachable (retry later), rejected (this request), broken (the
store). The app's own SQLite store is made complete before MLflow opens it (``local_store.py``).

Facts this relies on (MLflow 3, checked against a sqlite store):

- ``log_batch`` takes at most 1000 metrics and 100 params/tags per call.
- Re-sending a metric point with the same key, step, timestamp and value is a no-op in the
  SQL store, so a batch may be sent again after a partial failure.
- NaN values are stored as NaN; +/-inf are stored as +/-1.797e308 (SQL has no inf). Both are
  sent as they are, so one bad value never breaks a batch.
- A param, once logged, cannot change value; tags can.
- Over HTTP, MLflow retries with backoff for minutes by default. A daemon that wants quick
  failures sets ``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` and ``MLFLOW_HTTP_REQUEST_TIMEOUT``; and
  ``MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT=true``, or ending a run prints a "View run" line.
"""

from __future__ import annotations

import logging
import posixpath
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from trainer_runtime.secrets.redact import Redactor
from trainer_runtime.tracking import local_store
from trainer_runtime.tracking.errors import (
    ErrorKind,
    MirrorUnavailable,
    broken_store_reason,
    first_line,
    kind_of_code,
)

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

log = logging.getLogger(__name__)

# MLflow's limits (mlflow.utils.validation), repeated here so this module needs no mlflow import.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_KEY_LEN = 250
MAX_PARAM_VAL_LEN = 6000
MAX_TAG_VAL_LEN = 8000

JOB_ID_TAG = "sparktrainer.job_id"
ATTEMPT_TAG = "sparktrainer.attempt"
TERMINAL_STATUSES = ("FINISHED", "FAILED", "KILLED")

# Names MLflow accepts on every platform (it also allows ':' except on Windows).
_BAD_KEY_CHARS = re.compile(r"[^/\w.\- ]")
_SAFE_TAG_VALUE = re.compile(r"^[\w.\-]+$")


def flatten_params(obj: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys: ``{"train": {"lr": 0.1}}`` -> ``{"train.lr": 0.1}``."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(flatten_params(value, name))
        else:
            out[name] = value
    return out


def _stringify(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_stringify(v) for v in value) + "]"
    return str(value)


def clean_key(key: str) -> str:
    """A key MLflow accepts: odd characters become '_', no path tricks, at most 250 chars."""
    k = _BAD_KEY_CHARS.sub("_", str(key))
    norm = posixpath.normpath(k) if k else "."
    if norm != k or norm == "." or norm.startswith("..") or norm.startswith("/"):
        k = "_" + k.replace("/", "_")
    return k[:MAX_KEY_LEN]


class MlflowMirror:
    """Creates and fills MLflow runs. Thread-safe; one instance per tracking URI is enough."""

    def __init__(
        self,
        tracking_uri: str,
        artifact_location: str | Path | None = None,
        redactor: Callable[[str], str] | None = None,  # a Redactor, or any str -> str mask
        own_store: bool = False,
    ):
        """``own_store``: the URI is the app's own default SQLite store, which this mirror may
        create, move aside and upgrade (``local_store.prepare``). A user's store is never changed."""
        self.tracking_uri = tracking_uri
        self._own_db = local_store.sqlite_path(tracking_uri) if own_store else None
        self.artifact_location = str(artifact_location) if artifact_location is not None else None
        self.redact: Callable[[str], str] = redactor if redactor is not None else Redactor()
        self._client_obj: MlflowClient | None = None
        self._lock = threading.Lock()
        password = urlsplit(tracking_uri).password if "://" in tracking_uri else None
        self._uri_password = password or None

    # -- public API ---------------------------------------------------------------

    def ensure_run(
        self,
        *,
        experiment: str,
        run_name: str,
        job_id: str,
        attempt: int,
        params: Mapping[str, Any],
        tags: Mapping[str, Any],
        existing_run_id: str | None = None,
        start_time_ms: int | None = None,
    ) -> str:
        """Return the run of this job attempt, creating the experiment and run if needed.

        The run is, in order: ``existing_run_id`` if it still exists and is not deleted; else
        the run in ``experiment`` tagged with this job id and attempt (one made before a crash);
        else a new run. Params missing from the run are logged (nested dicts flattened to
        dotted keys); tags are set. If the id returned differs from ``existing_run_id``, the
        caller must send the job's metrics and artifacts again.
        """
        all_tags = {**tags, JOB_ID_TAG: job_id, ATTEMPT_TAG: attempt}
        clean_tags = self._clean_items(all_tags, MAX_TAG_VAL_LEN)
        clean_params = self._clean_items(flatten_params(params), MAX_PARAM_VAL_LEN)
        with self._mapped(f"create the MLflow run for job {job_id} (attempt {attempt})"):
            client = self._client()
            run = self._active_run(existing_run_id) if existing_run_id else None
            if run is None:
                experiment_id = self._experiment_id(experiment)
                run = self._find_run(experiment_id, job_id, attempt)
                if run is None:
                    run = client.create_run(
                        experiment_id,
                        start_time=start_time_ms,
                        tags=clean_tags,
                        run_name=self.redact(run_name),
                    )
            run_id = run.info.run_id
            have_params = dict(run.data.params)
            have_tags = dict(run.data.tags)
            new_params = {}
            for k, v in clean_params.items():
                if k not in have_params:
                    new_params[k] = v
                elif have_params[k] != v:
                    log.warning(
                        "MLflow run %s keeps its logged value of param %r (params cannot change)", run_id, k
                    )
            new_tags = {k: v for k, v in clean_tags.items() if have_tags.get(k) != v}
            self._log_params_tags(run_id, new_params, new_tags)
            return run_id

    def log_metrics(self, run_id: str, points: Sequence[tuple[str, float, int, int]]) -> int:
        """Send ``(key, value, step, timestamp_ms)`` points in batches; returns how many were sent.

        Points whose value is not a number are skipped (with a warning). NaN and inf are sent.
        Sending the same points again is harmless, so on an error the caller resends all.
        """
        metrics = []
        skipped = 0
        keys: dict[str, str] = {}
        for key, value, step, timestamp in points:
            try:
                fvalue = float(value)
            except (TypeError, ValueError):
                skipped += 1
                continue
            if key not in keys:
                keys[key] = clean_key(key)
            metrics.append((keys[key], fvalue, int(step), int(timestamp)))
        if skipped:
            log.warning("skipped %d metric points of run %s whose value is not a number", skipped, run_id)
        if not metrics:
            return 0
        with self._mapped(f"log {len(metrics)} metric point(s) to MLflow run {run_id}"):
            from mlflow.entities import Metric

            client = self._client()
            for i in range(0, len(metrics), MAX_METRICS_PER_BATCH):
                batch = [Metric(k, v, ts, s) for k, v, s, ts in metrics[i : i + MAX_METRICS_PER_BATCH]]
                client.log_batch(run_id, metrics=batch, synchronous=True)
        return len(metrics)

    def log_artifacts(self, run_id: str, local_path: str | Path, artifact_path: str | None = None) -> None:
        """Copy a file or a folder (recursively) into the run's artifacts, under ``artifact_path``."""
        path = Path(local_path)
        if not path.exists():
            raise MirrorUnavailable(
                f"Could not send {path} to MLflow run {run_id}: the file or folder does not exist.",
                kind=ErrorKind.REJECTED,
            )
        with self._mapped(f"send {path} to the artifacts of MLflow run {run_id}"):
            client = self._client()
            if path.is_dir():
                client.log_artifacts(run_id, str(path), artifact_path)
            else:
                client.log_artifact(run_id, str(path), artifact_path)

    def finish(self, run_id: str, status: str, end_time_ms: int | None = None) -> None:
        """End the run with status FINISHED, FAILED or KILLED (end time defaults to now)."""
        if status not in TERMINAL_STATUSES:
            raise ValueError(f"status must be one of {', '.join(TERMINAL_STATUSES)}, not {status!r}")
        with self._mapped(f"mark MLflow run {run_id} as {status}"):
            end = end_time_ms if end_time_ms is not None else int(time.time() * 1000)
            self._client().set_terminated(run_id, status, end)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """Set (or overwrite) tags of the run; values are redacted and truncated."""
        clean = self._clean_items(tags, MAX_TAG_VAL_LEN)
        if not clean:
            return
        with self._mapped(f"set tags of MLflow run {run_id}"):
            self._log_params_tags(run_id, {}, clean)

    def warm_up(self) -> None:
        """Import MLflow and open (create or upgrade) the tracking store now, so that this
        one-off cost of a few CPU-seconds is paid while the daemon is idle, not while the
        first job trains. Raises MirrorUnavailable when the store cannot be opened."""
        with self._mapped("open the tracking store"):
            self._client().search_experiments(max_results=1)

    # -- internals ----------------------------------------------------------------

    def _client(self) -> MlflowClient:
        with self._lock:
            if self._client_obj is None:
                if self._own_db is not None:
                    # Our own store is made complete in a temp file first, so MLflow never
                    # runs its (non-atomic) first migrations on it in place.
                    with self._mapped("prepare the tracking store"):
                        local_store.prepare(self._own_db, self.artifact_location or str(self._own_db.parent))
                from mlflow.tracking import MlflowClient

                # For a user's sqlite URI this creates or upgrades the database; a failure is
                # not cached, so the next call tries again.
                self._client_obj = MlflowClient(tracking_uri=self.tracking_uri)
            return self._client_obj

    def _clean_items(self, items: Mapping[str, Any], max_len: int) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in items.items():
            k = clean_key(self.redact(str(key)))
            # Redact before truncating, so a secret cut at the limit cannot leak half of itself.
            out.setdefault(k, self.redact(_stringify(value))[:max_len])
        return out

    def _experiment_id(self, name: str) -> str:
        from mlflow.exceptions import MlflowException

        client = self._client()
        exp = client.get_experiment_by_name(name)
        if exp is None:
            try:
                return client.create_experiment(name, artifact_location=self.artifact_location)
            except MlflowException as err:
                if err.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
                exp = client.get_experiment_by_name(name)  # another thread made it just now
                if exp is None:
                    raise
        if exp.lifecycle_stage != "active":
            raise MirrorUnavailable(
                f"The MLflow experiment {name!r} is deleted. Restore it in MLflow "
                "('mlflow experiments restore'), or remove it for good ('mlflow gc') so it can be made again.",
                kind=ErrorKind.REJECTED,
                error_code="INVALID_STATE",
            )
        return exp.experiment_id

    def _active_run(self, run_id: str) -> Run | None:
        from mlflow.exceptions import MlflowException

        try:
            run = self._client().get_run(run_id)
        except MlflowException as err:
            if err.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        return run if run.info.lifecycle_stage == "active" else None

    def _find_run(self, experiment_id: str, job_id: str, attempt: int) -> Run | None:
        """The run of this job attempt made earlier (e.g. before a crash), if any."""
        if not _SAFE_TAG_VALUE.match(job_id):
            return None  # MLflow's filter syntax has no quote escaping; job ids are hex anyway
        found = self._client().search_runs(
            [experiment_id],
            filter_string=f"tags.`{JOB_ID_TAG}` = '{job_id}' and tags.`{ATTEMPT_TAG}` = '{int(attempt)}'",
            max_results=1,
            order_by=["attributes.start_time ASC"],
        )
        return found[0] if found else None

    def _log_params_tags(self, run_id: str, params: dict[str, str], tags: dict[str, str]) -> None:
        from mlflow.entities import Param, RunTag

        client = self._client()
        items = [Param(k, v) for k, v in params.items()] + [RunTag(k, v) for k, v in tags.items()]
        for i in range(0, len(items), MAX_PARAMS_TAGS_PER_BATCH):
            chunk = items[i : i + MAX_PARAMS_TAGS_PER_BATCH]
            client.log_batch(
                run_id,
                params=[p for p in chunk if isinstance(p, Param)],
                tags=[t for t in chunk if isinstance(t, RunTag)],
                synchronous=True,
            )

    def _scrub(self, text: str) -> str:
        text = self.redact(text)
        if self._uri_password:
            text = text.replace(f":{self._uri_password}@", ":***@")
        return text

    @contextmanager
    def _mapped(self, action: str) -> Iterator[None]:
        """Turn MLflow, HTTP, SQL and file errors inside the block into MirrorUnavailable.
        (mlflow is imported only when an error is seen: the app's own store is made by a child
        process before this process pays for importing mlflow.)"""
        try:
            yield
        except MirrorUnavailable as err:
            raise MirrorUnavailable(self._scrub(str(err)), kind=err.kind, error_code=err.error_code,
                                    reason=self._scrub(err.reason)) from err  # fmt: skip
        except Exception as err:
            mapped = self._map(action, err)
            if mapped is None:
                raise
            raise mapped from err

    def _map(self, action: str, err: Exception) -> MirrorUnavailable | None:
        import requests
        import sqlalchemy.exc
        from mlflow.exceptions import MlflowException

        if isinstance(err, MlflowException):
            return self._error(action, err, err.message, code=err.error_code)
        if isinstance(
            err, requests.RequestException | sqlalchemy.exc.SQLAlchemyError | OSError | sqlite3.Error
        ):
            return self._error(action, err, f"{type(err).__name__}: {err}", code=None)
        return None

    def _error(
        self, action: str, err: BaseException, reason: object, *, code: str | None
    ) -> MirrorUnavailable:
        broken = broken_store_reason(err)
        kind = ErrorKind.BROKEN if broken else kind_of_code(code)
        reason_text = self._scrub(broken or first_line(reason))
        where = self._scrub(self.tracking_uri)
        if kind is ErrorKind.UNREACHABLE:
            message = (
                f"Could not {action}: the MLflow tracking store at {where} is unreachable or failing "
                f"({reason_text}). The mirror will try again; check the tracking URI in settings "
                "if this lasts."
            )
        elif kind is ErrorKind.REJECTED:
            message = f"MLflow at {where} refused to {action}: {reason_text}."
        elif broken:
            message = (
                f"Could not {action}: the MLflow tracking store at {where} is broken ({reason_text}) — "
                "repair it (back it up, then 'mlflow db upgrade <uri>') or restore it from a backup, "
                "then restart the daemon."
            )
        else:
            message = (
                f"Could not {action}: MLflow at {where} refused the credentials ({reason_text}) — "
                "fix the user or token (tracking URI, MLFLOW_TRACKING_TOKEN), then restart the daemon."
            )
        return MirrorUnavailable(self._scrub(message), kind=kind, error_code=code, reason=reason_text)
