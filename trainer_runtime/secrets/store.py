"""API credentials kept in the OS keyring, and only there.

The keyring cannot list what it holds, so the names of the stored credentials are
kept in one more keyring entry (``INDEX_KEY``, a JSON list). Values never touch a
file, a log or the database: workers get them as environment variables
(``worker_environment``) together with ``SPARKTRAINER_SECRET_NAMES`` so they can
redact them.

A keyring backend that cannot keep secrets safe (the fail/null backends, a chainer
with nothing to chain, plaintext or file-based backends such as keyrings.alt) is
refused with ``KeyringUnavailable``; there is no plaintext fallback.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from typing import Any

import keyring
import keyring.backend
import keyring.errors

from trainer_runtime.secrets.redact import (
    KNOWN_CREDENTIALS,
    MIN_SECRET_LEN,
    SECRET_NAMES_ENV,
    Redactor,
)

log = logging.getLogger(__name__)

SERVICE_NAME = "sparktrainer"
INDEX_KEY = "__sparktrainer_names__"  # cannot clash with a credential name (those start with A-Z)
NAME_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")

# Environment variables a worker needs for itself: a credential of that name would replace them.
RESERVED_NAMES = frozenset(
    {"PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "LANG", "TERM", "TMPDIR", "TZ", "DISPLAY"}
    | {"RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "ROLE_RANK"}
    | {"MASTER_ADDR", "MASTER_PORT", "CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES"}
)
RESERVED_PREFIXES = ("SPARKTRAINER_", "LD_", "DYLD_", "PYTHON", "LC_", "XDG_", "DBUS_", "TORCHELASTIC_")

# Backends that keep secrets in the operating system's own store (matched against the class
# and its bases by "module.QualName", so nothing platform-specific needs importing).
SECURE_BACKENDS = frozenset(
    {
        "keyring.backends.SecretService.Keyring",
        "keyring.backends.libsecret.Keyring",
        "keyring.backends.kwallet.DBusKeyring",
        "keyring.backends.kwallet.DBusKeyringKWallet4",
        "keyring.backends.macOS.Keyring",
        "keyring.backends.Windows.WinVaultKeyring",
    }
)
CHAINER_BACKEND = "keyring.backends.chainer.ChainerBackend"

INSTALL_HINT = (
    "install gnome-keyring (or KWallet) and run inside a desktop session with D-Bus; "
    "on a headless machine start `dbus-launch` and `gnome-keyring-daemon --unlock` "
    "(`bash .ci/keyring-session CMD` does both)"
)


class KeyringUnavailable(RuntimeError):
    """No OS keyring can be used: the message says what is wrong and what to install or start."""


def _backend_call_errors() -> tuple[type[BaseException], ...]:
    """Exceptions a backend call raises when the keyring service itself fails (no D-Bus, locked)."""
    errors: list[type[BaseException]] = [keyring.errors.KeyringError, OSError]
    try:
        import secretstorage.exceptions

        errors.append(secretstorage.exceptions.SecretStorageException)
    except ImportError:  # not on macOS/Windows
        pass
    try:
        import jeepney.wrappers

        errors.append(jeepney.wrappers.DBusErrorResponse)
    except ImportError:
        pass
    return tuple(errors)


def _class_names(obj: object) -> list[str]:
    return [f"{c.__module__}.{c.__qualname__}" for c in type(obj).__mro__]


def backend_name(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def is_secure_backend(backend: object) -> bool:
    return any(name in SECURE_BACKENDS for name in _class_names(backend))


def _is_chainer(backend: object) -> bool:
    return CHAINER_BACKEND in _class_names(backend)


def _no_bus_note() -> str:
    if sys.platform.startswith("linux") and not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return " (DBUS_SESSION_BUS_ADDRESS is not set: there is no D-Bus session bus)"
    return ""


def _unusable(backend: object) -> KeyringUnavailable:
    name = backend_name(backend)
    low = name.lower()
    if low.startswith("keyring.backends.fail.") or low.startswith("keyring.backends.null."):
        what = f"the active keyring backend is {name}, which cannot store anything{_no_bus_note()}"
    elif _is_chainer(backend):
        members = ", ".join(backend_name(b) for b in getattr(backend, "backends", ()))
        found = f"only {members}" if members else "no keyring backend at all"
        what = f"the keyring chainer found no OS keyring to use, {found}{_no_bus_note()}"
    elif low.startswith("keyrings.alt") or "plaintext" in low or "file" in low:
        what = (
            f"the active keyring backend is {name}, which keeps secrets in a file; SparkTrainer "
            "refuses file-based keyrings (uninstall keyrings.alt or unset PYTHON_KEYRING_BACKEND)"
        )
    else:
        what = f"the active keyring backend is {name}, which is not an OS keyring SparkTrainer trusts"
    return KeyringUnavailable(f"No usable OS keyring: {what}. To fix it, {INSTALL_HINT}.")


def usable_backend(backend: keyring.backend.KeyringBackend | None = None) -> keyring.backend.KeyringBackend:
    """The OS keyring backend to talk to, or KeyringUnavailable.

    A chainer is resolved to its highest-priority OS backend, so a plaintext backend that
    happens to sit further down the chain is never written to or read from.
    """
    active = keyring.get_keyring() if backend is None else backend
    if is_secure_backend(active):
        return active
    if _is_chainer(active):
        for member in getattr(active, "backends", ()):
            if is_secure_backend(member):
                return member
    raise _unusable(active)


def validate_name(name: str) -> str:
    """Return ``name`` if it can name a credential; otherwise ValueError with a sentence."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValueError(
            f"{name!r} is not a valid credential name: use 1-64 characters, upper-case letters, "
            "digits and underscores, starting with a letter (for example HF_TOKEN)."
        )
    if name in RESERVED_NAMES or name.startswith(RESERVED_PREFIXES):
        raise ValueError(
            f"{name} cannot be a credential name: workers need that environment variable for "
            "themselves; choose another name."
        )
    return name


def validate_value(name: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"The value for {name} is empty: paste the credential itself.")
    if any(c in value for c in "\x00\r\n"):
        raise ValueError(
            f"The value for {name} has a line break or NUL character: a credential is a single line."
        )
    if len(value) < MIN_SECRET_LEN:
        raise ValueError(
            f"The value for {name} is shorter than {MIN_SECRET_LEN} characters: that is no real "
            "credential, and it could not be masked in logs."
        )
    return value


class SecretStore:
    """Named credentials in the OS keyring under one service name.

    ``backend`` defaults to the keyring library's active backend, looked up on every call,
    so ``keyring.set_keyring`` takes effect at once.
    """

    def __init__(self, service: str | None = None, backend: keyring.backend.KeyringBackend | None = None):
        # SPARKTRAINER_KEYRING_SERVICE keeps isolated instances (and tests) apart from the user's entries.
        self.service = service or os.environ.get("SPARKTRAINER_KEYRING_SERVICE") or SERVICE_NAME
        self._backend = backend
        self._lock = threading.RLock()  # index read-modify-write within this process

    # -- keyring access -----------------------------------------------------------------

    def check(self) -> None:
        """Raise KeyringUnavailable unless the keyring can be used right now (reads the index)."""
        self._read_index()

    def _call(self, what: str, fn: Any, *args: str) -> Any:
        backend = usable_backend(self._backend)
        try:
            return fn(backend, *args)
        except _backend_call_errors() as err:
            raise KeyringUnavailable(
                f"No usable OS keyring: could not {what} in {backend_name(backend)} ({err}). "
                "If the keyring is locked, unlock it (log in to the desktop session or run "
                f"`gnome-keyring-daemon --unlock`); otherwise {INSTALL_HINT}."
            ) from err

    def _get_raw(self, key: str) -> str | None:
        return self._call("read a credential", lambda b, k: b.get_password(self.service, k), key)

    def _set_raw(self, key: str, value: str) -> None:
        self._call("store a credential", lambda b, k, v: b.set_password(self.service, k, v), key, value)

    def _delete_raw(self, key: str) -> None:
        self._call("delete a credential", lambda b, k: b.delete_password(self.service, k), key)

    def _read_index(self) -> list[str]:
        raw = self._get_raw(INDEX_KEY)
        if raw is None:
            return []
        try:
            names = json.loads(raw)
        except json.JSONDecodeError:
            log.warning("the credential index in the keyring is not JSON; rebuilding it")
            return []
        if not isinstance(names, list):
            log.warning("the credential index in the keyring is not a list; rebuilding it")
            return []
        return [n for n in names if isinstance(n, str) and NAME_PATTERN.match(n)]

    def _write_index(self, names: set[str]) -> None:
        if names:
            self._set_raw(INDEX_KEY, json.dumps(sorted(names)))
        elif self._get_raw(INDEX_KEY) is not None:
            self._delete_raw(INDEX_KEY)

    # -- public API -----------------------------------------------------------------------

    def set(self, name: str, value: str) -> None:
        """Store (or replace) one credential."""
        validate_name(name)
        validate_value(name, value)
        with self._lock:
            names = set(self._read_index())
            self._set_raw(name, value)
            if name not in names:
                self._write_index(names | {name})

    def get(self, name: str) -> str | None:
        validate_name(name)
        return self._get_raw(name)

    def delete(self, name: str) -> bool:
        """Remove one credential; False when it was not stored."""
        validate_name(name)
        with self._lock:
            names = set(self._read_index())
            existed = self._get_raw(name) is not None
            if existed:
                self._delete_raw(name)
            if name in names:
                self._write_index(names - {name})
            return existed

    def names(self) -> list[str]:
        """The names of the stored credentials, sorted; never their values.

        The index is the source, plus any known credential (HF_TOKEN, ...) found in the keyring
        even if the index lost it (two writers racing, an index edited by hand).
        """
        with self._lock:
            names = set(self._read_index())
            missing = [n for n in KNOWN_CREDENTIALS if n not in names]
            found = {n for n in missing if self._get_raw(n) is not None}
            if found:
                self._write_index(names | found)
            return sorted(names | found)

    def values(self) -> dict[str, str]:
        """name -> value for every stored credential (for the daemon, never for display)."""
        out: dict[str, str] = {}
        for name in self.names():
            value = self._get_raw(name)
            if value is not None:
                out[name] = value
        return out

    def worker_environment(self) -> dict[str, str]:
        """Environment variables that hand every stored credential to a worker.

        ``SPARKTRAINER_SECRET_NAMES`` lists the names so the worker can redact the values
        (``Redactor.from_environ``).
        """
        env = self.values()
        env[SECRET_NAMES_ENV] = ",".join(sorted(env))
        return env

    def redactor(self) -> Redactor:
        """A Redactor that masks every stored credential's value."""
        return Redactor(self.values().values())
