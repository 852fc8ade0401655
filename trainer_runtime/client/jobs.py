"""The client's calls for the daemon's status, jobs, their metrics, logs and the event stream."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from trainer_runtime.client.transport import ApiError, DaemonUnavailable, Transport, _UnixConnection


class JobCalls(Transport):
    # ------------------------------------------------------------------ status and jobs
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

    def artifacts(self, job_id: str) -> list[dict[str, Any]]:
        return self.request("GET", f"/v1/jobs/{job_id}/artifacts")["artifacts"]

    def logs(self, job_id: str, offset: int = 0, attempt: int | None = None) -> dict[str, Any]:
        return self.request("GET", f"/v1/jobs/{job_id}/logs", query={"offset": offset, "attempt": attempt})

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


__all__ = ["JobCalls"]
