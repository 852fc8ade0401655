"""The one client of the daemon's API, used by the CLI and the GUI.

Plain ``http.client`` over a Unix socket: no heavy imports, so the CLI and the
GUI start fast. ``ensure_daemon`` starts the daemon when it is not running."""

from __future__ import annotations

import http.client
import json
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from trainer_runtime.jsontext import gc_paused
from trainer_runtime.paths import DataDir, UnsafeRuntimeDir, open_private

START_TIMEOUT_S = 60.0
START_FD_ENV = "SPARKTRAINER_START_FD"  # trainer_runtime.daemon_start reads it (not imported: it logs)


class ApiError(Exception):
    """The daemon answered with an error; ``problems`` lists (field, message)."""

    def __init__(self, status: int, message: str, problems: list[dict[str, str]] | None = None):
        self.status, self.message, self.problems = status, message, problems or []
        detail = "".join(f"\n  {p['field'] or '(spec)'}: {p['message']}" for p in self.problems)
        super().__init__(message + detail)


class DaemonUnavailable(Exception):
    pass


class DaemonRefused(DaemonUnavailable):
    """The daemon will not run, and retrying will not help until the user acts: ``kind`` is
    store_refused (missing, empty, damaged or foreign database), unsafe_socket_dir, settings or
    already_running; the message is the daemon's sentence saying what to do."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.timeout is not None:
            sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class Client:
    def __init__(self, data: DataDir | None = None, timeout: float = 30.0):
        self.data = data or DataDir.default()
        self.timeout = timeout

    @property
    def socket_path(self) -> str:
        try:
            return str(self.data.socket_path)
        except UnsafeRuntimeDir as err:  # never talk to a socket another user could have put there
            raise DaemonRefused(str(err), "unsafe_socket_dir") from None

    # ------------------------------------------------------------ transport
    def request(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        if query:
            clean = {
                k: (",".join(map(str, v)) if isinstance(v, list | tuple) else v)
                for k, v in query.items()
                if v is not None
            }
            path = f"{path}?{urlencode(clean)}" if clean else path
        conn = _UnixConnection(self.socket_path, self.timeout)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            headers = {"Content-Type": "application/json"} if payload is not None else {}
            conn.request(method, path, body=payload, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        except (FileNotFoundError, ConnectionRefusedError) as err:
            raise DaemonUnavailable(
                f"the SparkTrainer daemon is not running for {self.data.root} ({err.strerror})"
            ) from None
        except (OSError, http.client.HTTPException) as err:
            raise DaemonUnavailable(f"lost the connection to the daemon: {err}") from None
        finally:
            conn.close()
        try:
            # A 5,000-job list is ~150,000 objects: the cyclic GC ran several times during its parse
            # (up to 0.1 s each); JSON holds no cycles, so it is parsed with the collector paused.
            with gc_paused():
                data = json.loads(raw) if raw else {}
        except ValueError:
            raise ApiError(resp.status, f"the daemon answered with non-JSON ({resp.status})") from None
        if resp.status >= 400:
            raise ApiError(resp.status, data.get("error", f"HTTP {resp.status}"), data.get("problems"))
        return data

    def ping(self) -> bool:
        """Whether the daemon answers; DaemonRefused (an unsafe socket dir) is raised, not False."""
        try:
            self.request("GET", "/v1/status")
            return True
        except DaemonRefused:
            raise
        except DaemonUnavailable:
            return False

    # ------------------------------------------------------------------ api
    def status(self) -> dict[str, Any]:
        return self.request("GET", "/v1/status")

    def shutdown(self) -> None:
        self.request("POST", "/v1/shutdown")

    def submit(self, spec: dict[str, Any], base_dir: str | None = None) -> dict[str, Any]:
        return self.request("POST", "/v1/jobs", {"spec": spec, "base_dir": base_dir})["job"]

    def validate(self, spec: dict[str, Any], base_dir: str | None = None) -> dict[str, Any]:
        return self.request("POST", "/v1/specs/validate", {"spec": spec, "base_dir": base_dir})

    def jobs(self, states: list[str] | None = None) -> list[dict[str, Any]]:
        return self.request("GET", "/v1/jobs", query={"state": states})["jobs"]

    def job(self, job_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/jobs/{job_id}")["job"]

    def action(self, job_id: str, action: str) -> dict[str, Any]:
        return self.request("POST", f"/v1/jobs/{job_id}/{action}")["job"]

    def delete(self, job_id: str) -> None:
        self.request("DELETE", f"/v1/jobs/{job_id}")

    def metrics(
        self, job_id: str, key: str | None = None, after_id: int = 0, attempt: int | None = None
    ) -> dict[str, Any]:
        return self.request(
            "GET", f"/v1/jobs/{job_id}/metrics", query={"key": key, "after_id": after_id, "attempt": attempt}
        )

    def transitions(self, job_id: str) -> list[dict[str, Any]]:
        return self.request("GET", f"/v1/jobs/{job_id}/transitions")["transitions"]

    # ------------------------------------------------------------- architecture graphs
    def graph_import(
        self, target: str, input_shape: list[int], input_dtype: str = "float", cwd: str | None = None
    ) -> dict[str, Any]:
        """Import ``module:factory`` as a graph in the daemon: {"graph", "notes", "method"}."""
        body = {"target": target, "input_shape": list(input_shape), "input_dtype": input_dtype, "cwd": cwd}
        return Client(self.data, timeout=max(self.timeout, 330.0)).request("POST", "/v1/graphs/import", body)

    def graph_check(self, graph: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/v1/graphs/check", {"graph": graph})

    def artifacts(self, job_id: str) -> list[dict[str, Any]]:
        return self.request("GET", f"/v1/jobs/{job_id}/artifacts")["artifacts"]

    def logs(self, job_id: str, offset: int = 0, attempt: int | None = None) -> dict[str, Any]:
        return self.request("GET", f"/v1/jobs/{job_id}/logs", query={"offset": offset, "attempt": attempt})

    # ------------------------------------------------------------- GPUs / MIG
    def gpus(self) -> dict[str, Any]:
        return self.request("GET", "/v1/gpus")

    def gpu_history(self, seconds: float = 3600) -> dict[str, Any]:
        return self.request("GET", "/v1/gpus/history", query={"seconds": seconds})

    def mig_profiles(self, gpu: str) -> dict[str, Any]:
        return self.request("GET", "/v1/mig/profiles", query={"gpu": gpu})

    def mig_plan(self, gpu: str, layout: list[Any]) -> dict[str, Any]:
        return self.request("POST", "/v1/mig/plan", {"gpu": gpu, "layout": layout})

    def mig_apply(self, gpu: str, layout: list[Any], dry_run: bool = True) -> dict[str, Any]:
        return self.request("POST", "/v1/mig/apply", {"gpu": gpu, "layout": layout, "dry_run": dry_run})

    def mig_recommend(self, gpu: str) -> dict[str, Any]:
        return self.request("POST", "/v1/mig/recommend", {"gpu": gpu})

    # -------------------------------------------------------------- datasets
    @staticmethod
    def _ds(name: str) -> str:
        from urllib.parse import quote

        return f"/v1/datasets/{quote(name, safe='')}"

    def dataset_detect(
        self, path: str, fmt: str | None = None, modality: str | None = None
    ) -> dict[str, Any]:
        return self.request(
            "POST", "/v1/datasets/detect", {"path": path, "format": fmt, "modality": modality}
        )["preview"]

    def dataset_import(self, path: str, name: str, fmt: str | None = None, modality: str | None = None,
                       keep_corrupt: bool = False, link: bool = False) -> dict[str, Any]:  # fmt: skip
        body = {"path": path, "name": name, "format": fmt, "modality": modality,
                "keep_corrupt": keep_corrupt, "link": link}  # fmt: skip
        return self.request("POST", "/v1/datasets/imports", body)["import"]

    def dataset_import_status(self, import_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/datasets/imports/{import_id}")["import"]

    def dataset_import_cancel(self, import_id: str) -> dict[str, Any]:
        return self.request("POST", f"/v1/datasets/imports/{import_id}/cancel")["import"]

    def datasets(self) -> list[dict[str, Any]]:
        return self.request("GET", "/v1/datasets")["datasets"]

    def dataset(self, name: str) -> dict[str, Any]:
        return self.request("GET", self._ds(name))["dataset"]

    def dataset_versions(self, name: str) -> list[dict[str, Any]]:
        return self.request("GET", f"{self._ds(name)}/versions")["versions"]

    def dataset_version(self, name: str, version: int | str = "latest", offset: int = 0,
                        limit: int = 1000) -> dict[str, Any]:  # fmt: skip
        return self.request(
            "GET", f"{self._ds(name)}/versions/{version}", query={"offset": offset, "limit": limit}
        )

    def dataset_diff(self, name: str, a: int | str, b: int | str) -> dict[str, Any]:
        return self.request("GET", f"{self._ds(name)}/diff", query={"a": a, "b": b})["diff"]

    def dataset_verify(self, name: str, version: int | str = "latest") -> dict[str, Any]:
        return self.request("POST", f"{self._ds(name)}/verify", {"version": version})["verify"]

    def dataset_quality(self, name: str, version: int | str = "latest", gates: list[str] | None = None,
                        **options: Any) -> dict[str, Any]:  # fmt: skip
        return self.request(
            "POST", f"{self._ds(name)}/quality", {"version": version, "gates": gates, **options}
        )

    def dataset_rollback(self, name: str, version: int) -> dict[str, Any]:
        return self.request("POST", f"{self._ds(name)}/rollback", {"version": version})["version"]

    def dataset_delete_version(self, name: str, version: int) -> dict[str, Any]:
        return self.request("DELETE", f"{self._ds(name)}/versions/{version}")["deleted"]

    # labels (``trainer_runtime/labeling``): imports and exports copy files, so they may take long
    def labels(self, name: str, version: int | str = "latest") -> dict[str, Any]:
        """``{"version", "classes", "images": [{"path", "blob", "size", "annotation", "error"?}]}``."""
        return self.request("GET", f"{self._ds(name)}/labels", query={"version": version})

    def labels_save(self, name: str, base_version: int, annotations: dict[str, Any],
                    classes: dict[str, Any] | None = None, message: str = "") -> dict[str, Any]:  # fmt: skip
        """A new version with ``annotations`` (path → annotation; only edited images are needed)."""
        body = {
            "base_version": base_version,
            "classes": classes,
            "annotations": annotations,
            "message": message,
        }
        return self.request("POST", f"{self._ds(name)}/labels", body)["version"]

    def labels_draft_put(self, name: str, base_version: int, annotations: dict[str, Any],
                         classes: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
        body = {"base_version": base_version, "classes": classes, "annotations": annotations}
        return self.request("PUT", f"{self._ds(name)}/labels/draft", body)["draft"]

    def labels_draft(self, name: str) -> dict[str, Any] | None:
        """The saved draft, or None when there is none."""
        try:
            return self.request("GET", f"{self._ds(name)}/labels/draft")["draft"]
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def labels_draft_delete(self, name: str) -> bool:
        return self.request("DELETE", f"{self._ds(name)}/labels/draft")["dropped"]

    def labels_import(self, name: str, path: str, fmt: str) -> dict[str, Any]:
        """``{"version": …, "report": [...]}``."""
        slow = Client(self.data, timeout=max(self.timeout, 3600))
        return slow.request("POST", f"{self._ds(name)}/labels/import", {"path": path, "format": fmt})

    def labels_export(
        self, name: str, out: str, fmt: str, version: int | str = "latest", force: bool = False
    ) -> dict[str, Any]:
        """``{"written": {...}, "report": [...]}``; ``force`` replaces an earlier export at ``out``."""
        slow = Client(self.data, timeout=max(self.timeout, 3600))
        body = {"version": version, "format": fmt, "out": out, "force": force}
        return slow.request("POST", f"{self._ds(name)}/labels/export", body)

    def job_suggestions(self, job_id: str) -> dict[str, Any] | None:
        """A pre-labelling job's ``suggestions.json``, or None until it is written."""
        try:
            return self.request("GET", f"/v1/jobs/{job_id}/suggestions")
        except ApiError as err:
            if err.status == 404 and "no suggestions" in err.message:
                return None
            raise

    def events(self, types: list[str] | None = None, job_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Yield events from the daemon's stream until the connection closes."""
        query = urlencode({k: v for k, v in {"types": ",".join(types or []), "job_id": job_id}.items() if v})
        conn = _UnixConnection(self.socket_path, None)
        try:
            conn.request("GET", "/v1/events" + (f"?{query}" if query else ""))
            resp = conn.getresponse()
            if resp.status != 200:
                raise ApiError(resp.status, resp.read().decode(errors="replace"))
            while True:
                line = resp.readline()
                if not line:
                    return
                yield json.loads(line)
        except (FileNotFoundError, ConnectionRefusedError) as err:
            raise DaemonUnavailable(f"the daemon is not running ({err.strerror})") from None
        finally:
            conn.close()

    def wait(self, job_id: str, timeout: float | None = None, poll_s: float = 0.5) -> dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["state"] in ("COMPLETED", "FAILED", "CANCELLED"):
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} is still {job['state']} after {timeout:g}s")
            time.sleep(poll_s)


def start_daemon(data: DataDir, timeout: float = START_TIMEOUT_S) -> int:
    """Start a detached daemon for ``data`` and wait until it serves. Returns its pid; raises
    DaemonRefused with the daemon's own sentence when it will not start (trainer_runtime.daemon_start)."""
    data.ensure()
    read_fd, write_fd = os.pipe()
    env = {**os.environ, "SPARKTRAINER_HOME": str(data.root), START_FD_ENV: str(write_fd)}
    try:
        log_fd = open_private(data.daemon_log)  # stdout/stderr: a crash before logging lands there too
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "trainer_runtime.daemon"],
                stdin=subprocess.DEVNULL, stdout=log_fd, stderr=subprocess.STDOUT,
                start_new_session=True, env=env, cwd=str(data.root), pass_fds=(write_fd,),
            )  # fmt: skip
        finally:
            os.close(log_fd)
    finally:
        os.close(write_fd)
    try:
        return _await_start(data, proc, read_fd, timeout)
    finally:
        os.close(read_fd)


def _await_start(data: DataDir, proc: subprocess.Popen, read_fd: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    raw = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([read_fd], [], [], 0.25)
        if not ready:
            continue
        chunk = os.read(read_fd, 65536)
        raw += chunk
        if chunk and not raw.endswith(b"\n"):
            continue
        break
    else:
        raise DaemonUnavailable(f"the daemon did not answer within {timeout:.0f}s; see {data.daemon_log}")
    try:
        report = json.loads(raw) if raw.strip() else None
    except ValueError:
        report = None
    if report and report.get("ok"):
        return int(report.get("pid", proc.pid))
    if report:
        kind = str(report.get("kind", "refused"))
        if kind == "already_running" and Client(data, timeout=5).ping():  # another client started one
            return int(json.loads(data.pointer_file.read_text())["pid"])
        raise DaemonRefused(str(report.get("message", "the daemon refused to start")), kind)
    try:
        rc = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        rc = None
    last = _tail(data.daemon_log, 1).strip()
    raise DaemonUnavailable(
        f"the daemon stopped at start-up (exit code {rc}){': ' + last if last else ''}; "
        f"the full report is in {data.daemon_log}"
    )


def ensure_daemon(data: DataDir | None = None) -> Client:
    data = data or DataDir.default()
    client = Client(data)
    if not client.ping():
        start_daemon(data)
    return client


def _tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log (read from its last 64 KiB only)."""
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - 65536))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
