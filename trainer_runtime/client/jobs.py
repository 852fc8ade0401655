"""The client's calls for the daemon's status, jobs, their metrics, logs and the event stream.

Each call parses the daemon's answer into its contract model (``api/schema/jobs.py``,
``api/schema/events.py``) and returns the model: a field the daemon and the client disagree
on fails here, in one place, not in a panel that reads a key."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.events import Event
from trainer_runtime.api.schema.jobs import (
    ArtifactList,
    ArtifactView,
    GenerationList,
    JobAnswer,
    JobList,
    JobRow,
    JobView,
    LogChunk,
    MetricsPage,
    StatusView,
    TransitionList,
    TransitionView,
    ValidateAnswer,
)
from trainer_runtime.client.transport import ApiError, DaemonUnavailable, Transport, _UnixConnection
from trainer_runtime.jobs.state import JobAction, JobState
from trainer_runtime.jsontext import gc_paused


class JobCalls(Transport):
    # ------------------------------------------------------------------ status and jobs
    def status(self) -> StatusView:
        return parse(StatusView, self.request("GET", "/v1/status"))

    def shutdown(self) -> None:
        self.request("POST", "/v1/shutdown")

    def submit(self, spec: dict[str, Any], base_dir: str | None = None) -> JobView:
        return self._job(self.request("POST", "/v1/jobs", {"spec": spec, "base_dir": base_dir}))

    def validate(self, spec: dict[str, Any], base_dir: str | None = None) -> ValidateAnswer:
        return parse(
            ValidateAnswer, self.request("POST", "/v1/specs/validate", {"spec": spec, "base_dir": base_dir})
        )

    def jobs(self, states: list[str] | list[JobState] | None = None) -> list[JobRow]:
        data = self.request("GET", "/v1/jobs", query={"state": states})
        with gc_paused():  # thousands of rows: see Transport.request
            return parse(JobList, data).jobs

    def job(self, job_id: str) -> JobView:
        return self._job(self.request("GET", f"/v1/jobs/{job_id}"))

    def action(self, job_id: str, action: str | JobAction) -> JobView:
        return self._job(self.request("POST", f"/v1/jobs/{job_id}/{action}"))

    def delete(self, job_id: str) -> None:
        self.request("DELETE", f"/v1/jobs/{job_id}")

    def metrics(
        self, job_id: str, key: str | None = None, after_id: int = 0, attempt: int | None = None
    ) -> MetricsPage:
        data = self.request(
            "GET", f"/v1/jobs/{job_id}/metrics", query={"key": key, "after_id": after_id, "attempt": attempt}
        )
        with gc_paused():
            return parse(MetricsPage, data)

    def transitions(self, job_id: str) -> list[TransitionView]:
        return parse(TransitionList, self.request("GET", f"/v1/jobs/{job_id}/transitions")).transitions

    def generations(self, job_id: str, attempt: int | None = None) -> GenerationList:
        """An sft job's answers to its eval prompts (``JOB_DIR/generations.jsonl``), oldest first."""
        data = self.request("GET", f"/v1/jobs/{job_id}/generations", query={"attempt": attempt})
        return parse(GenerationList, data)

    def artifacts(self, job_id: str) -> list[ArtifactView]:
        return parse(ArtifactList, self.request("GET", f"/v1/jobs/{job_id}/artifacts")).artifacts

    def logs(self, job_id: str, offset: int = 0, attempt: int | None = None) -> LogChunk:
        data = self.request("GET", f"/v1/jobs/{job_id}/logs", query={"offset": offset, "attempt": attempt})
        return parse(LogChunk, data)

    def events(self, types: list[str] | None = None, job_id: str | None = None) -> Iterator[Event]:
        """Yield events (members of the ``Event`` union) from the daemon's stream until the
        connection closes."""
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
                yield parse(Event, json.loads(line))
        except (FileNotFoundError, ConnectionRefusedError) as err:
            raise DaemonUnavailable(f"the daemon is not running ({err.strerror})") from None
        finally:
            conn.close()

    def wait(self, job_id: str, timeout: float | None = None, poll_s: float = 0.5) -> JobView:
        """The job once it is finished (COMPLETED, FAILED or CANCELLED); TimeoutError after
        ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job.is_terminal:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} is still {job.state} after {timeout:g}s")
            time.sleep(poll_s)

    @staticmethod
    def _job(data: Any) -> JobView:
        return parse(JobAnswer, data).job


__all__ = ["JobCalls"]
