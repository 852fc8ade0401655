"""Where every piece of state lives: one data dir per instance.

``SPARKTRAINER_HOME`` overrides the platformdirs default so tests and users can
run isolated instances side by side.

The data dir is private (0700) and the files the runtime keeps there are 0600. The socket
lives in a directory only its user may enter: ``$XDG_RUNTIME_DIR`` when that is a usable
directory of ours, else ``<tmp>/sparktrainer-<uid>/``, which is created 0700 and, when it
already exists, used only when it is a real directory that we own and nobody else may enter
(in a shared /tmp another local user could otherwise create it first and answer our CLI).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "sparktrainer"
HOME_ENV = "SPARKTRAINER_HOME"
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


class UnsafeRuntimeDir(RuntimeError):
    """The socket's directory exists but another user could control it."""


def runtime_dir() -> Path:
    """The directory for our sockets, created or checked as the module docstring says."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and _usable_xdg(xdg):
        return Path(xdg)
    base = Path(tempfile.gettempdir()) / f"sparktrainer-{os.getuid()}"
    try:
        os.mkdir(base, PRIVATE_DIR)  # no exist_ok: whoever made it first is checked below
    except FileExistsError:
        _check_private_dir(base)
    return base


def _usable_xdg(path: str) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (
        stat.S_ISDIR(st.st_mode)
        and st.st_uid == os.getuid()
        and not st.st_mode & 0o022
        and os.access(path, os.W_OK | os.X_OK)
    )


def _check_private_dir(path: Path) -> None:
    st = os.lstat(path)
    fix = (
        f"remove it (or, if it is yours, `chmod 700 {path}`), or set XDG_RUNTIME_DIR to a private "
        "directory of yours, and try again"
    )
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeRuntimeDir(
            f"the socket directory {path} is a symbolic link (to {os.readlink(path)}), so another "
            f"user may control where SparkTrainer's socket lives; {fix}"
        )
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeRuntimeDir(f"the socket directory {path} exists but is not a directory; {fix}")
    if st.st_uid != os.getuid():
        raise UnsafeRuntimeDir(
            f"the socket directory {path} belongs to another user (uid {st.st_uid}, you are "
            f"{os.getuid()}), who could answer SparkTrainer's commands with forged data; {fix}"
        )
    if st.st_mode & 0o077:
        raise UnsafeRuntimeDir(
            f"the socket directory {path} has mode {stat.S_IMODE(st.st_mode):04o}: other users may "
            f"enter it or replace the socket in it; {fix}"
        )


@dataclass(frozen=True)
class DataDir:
    root: Path

    @classmethod
    def default(cls) -> DataDir:
        env = os.environ.get(HOME_ENV)
        root = Path(env) if env else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
        return cls(root.expanduser().resolve())

    def ensure(self) -> DataDir:
        """Create the data dir (0700) and its folders."""
        self.root.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(self.root, PRIVATE_DIR)
        for p in (self.jobs, self.root / "mlflow"):
            p.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        return self

    def secure(self) -> list[str]:
        """Tighten a data dir made before it was private (0755 dirs, 0644 database and files):
        the root becomes 0700 and the runtime's own files 0600. Returns what changed, for the log.
        Only what we own is touched; group/other bits are removed, nothing else."""
        changed = []
        for path, limit in ((self.root, PRIVATE_DIR), *((p, PRIVATE_FILE) for p in self.private_files)):
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(st.st_mode) or st.st_uid != os.getuid():
                continue
            mode = stat.S_IMODE(st.st_mode)
            if mode & ~limit:
                os.chmod(path, mode & limit)
                changed.append(f"{path} from {mode:04o} to {mode & limit:04o}")
        return changed

    @property
    def private_files(self) -> list[Path]:
        db = self.database
        return [
            db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"), self.settings_file,
            self.store_marker, self.daemon_log, self.pointer_file, self.lock_file,
        ]  # fmt: skip

    @property
    def database(self) -> Path:
        return self.root / "sparktrainer.db"

    @property
    def database_url(self) -> str:
        return os.environ.get("SPARKTRAINER_DB_URL") or f"sqlite:///{self.database}"

    @property
    def store_marker(self) -> Path:
        """``store.json``: the id of the store this data dir belongs to (``store/identity.py``)."""
        return self.root / "store.json"

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
        """A short path (Unix sockets allow ~107 bytes) in a private runtime dir, unique per data
        dir. Raises UnsafeRuntimeDir when that dir could be another user's."""
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:16]
        return runtime_dir() / f"st-{digest}.sock"

    def job_dir(self, job_id: str, attempt: int) -> Path:
        return self.jobs / job_id / f"attempt-{attempt}"


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_APPEND) -> int:
    """``os.open`` with mode 0600 for a new file (an existing one keeps its mode)."""
    return os.open(path, flags, PRIVATE_FILE)
