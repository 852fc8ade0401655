"""Credentials in the OS keyring (``store``) and redaction of their values (``redact``)."""

from trainer_runtime.secrets.redact import KNOWN_CREDENTIALS, MASK, SECRET_NAMES_ENV, Redactor
from trainer_runtime.secrets.store import (
    SERVICE_NAME,
    KeyringUnavailable,
    SecretStore,
    usable_backend,
    validate_name,
    validate_value,
)

__all__ = [
    "KNOWN_CREDENTIALS",
    "MASK",
    "SECRET_NAMES_ENV",
    "SERVICE_NAME",
    "KeyringUnavailable",
    "Redactor",
    "SecretStore",
    "usable_backend",
    "validate_name",
    "validate_value",
]
