"""The client's transport: one HTTP/JSON request over the daemon's Unix socket, and its errors.

Plain ``http.client``: no heavy imports, so the CLI and the GUI start fast."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import urlencode

from trainer_runtime.jsontext import gc_paused
from trainer_runtime.paths import DataDir, UnsafeRuntimeDir


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


class Transport:
    """The socket, one request, and the errors; the domain call sets build on it."""

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

    def slow(self, timeout: float) -> Transport:
        """The same client with a longer timeout (imports and exports copy files)."""
        return type(self)(self.data, timeout=max(self.timeout, timeout))


__all__ = ["ApiError", "DaemonRefused", "DaemonUnavailable", "Transport"]
