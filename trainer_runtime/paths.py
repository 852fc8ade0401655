"""Where every piece of state lives: one data dir per instance.

``SPARKTRAINER_HOME`` overrides the platformdirs default so tests and users can
run isolated instances side by side.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "sparktrainer"
HOME_ENV = "SPARKTRAINER_HOME"


@dataclass(frozen=True)
class DataDir:
    root: Path

    @classmethod
    def default(cls) -> DataDir:
        env = os.environ.get(HOME_ENV)
        root = Path(env) if env else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
        return cls(root.expanduser().resolve())

    def ensure(self) -> DataDir:
        for p in (self.root, self.jobs, self.root / "mlflow"):
            p.mkdir(parents=True, exist_ok=True)
        return self

    @property
    def database(self) -> Path:
        return self.root / "sparktrainer.db"

    @property
    def database_url(self) -> str:
        return os.environ.get("SPARKTRAINER_DB_URL") or f"sqlite:///{self.database}"

    @property
    def jobs(self) -> Path:
        return self.root / "jobs"

    @property
    def datasets(self) -> Path:
        """Dataset storage: ``blobs/`` (content-addressed), ``tmp/`` (staging), ``cache/``, ``materialized/``."""
        return self.root / "datasets"

    @property
    def blobs(self) -> Path:
        return self.datasets / "blobs"

    @property
    def lock_file(self) -> Path:
        return self.root / "daemon.lock"

    @property
    def pointer_file(self) -> Path:
        """JSON written by the running daemon: pid, socket path, version."""
        return self.root / "daemon.json"

    @property
    def daemon_log(self) -> Path:
        return self.root / "daemon.log"

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.json"

    @property
    def default_tracking_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow' / 'mlflow.db'}"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.root / "mlflow" / "artifacts"

    @property
    def socket_path(self) -> Path:
        """A short path (Unix sockets allow ~107 bytes) in the user's runtime dir, unique per data dir."""
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:16]
        base = os.environ.get("XDG_RUNTIME_DIR")
        if not base or not os.access(base, os.W_OK):
            base = os.path.join(tempfile.gettempdir(), f"sparktrainer-{os.getuid()}")
        os.makedirs(base, mode=0o700, exist_ok=True)
        return Path(base) / f"st-{digest}.sock"

    def job_dir(self, job_id: str, attempt: int) -> Path:
        return self.jobs / job_id / f"attempt-{attempt}"
