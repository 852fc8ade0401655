"""Redaction of secret values from any text that may be stored or shown."""

from __future__ import annotations

import os
from collections.abc import Iterable

MASK = "[REDACTED]"
MIN_SECRET_LEN = 4  # shorter values would mask ordinary words

# The credentials the app knows, and the environment variable a worker receives each as.
KNOWN_CREDENTIALS: dict[str, str] = {
    "HF_TOKEN": "Hugging Face access token",
    "WANDB_API_KEY": "Weights & Biases API key",
    "OPENAI_API_KEY": "OpenAI API key",
}
SECRET_NAMES_ENV = "SPARKTRAINER_SECRET_NAMES"  # comma-separated names a worker must redact


class Redactor:
    def __init__(self, values: Iterable[str] = ()):
        # Longest first so a secret that contains another is masked whole.
        self._values = sorted({v for v in values if v and len(v) >= MIN_SECRET_LEN}, key=len, reverse=True)

    @classmethod
    def from_environ(cls, env: dict[str, str] | None = None) -> Redactor:
        env = dict(os.environ if env is None else env)
        names = [n for n in env.get(SECRET_NAMES_ENV, "").split(",") if n]
        return cls(env[n] for n in names if n in env)

    def __bool__(self) -> bool:
        return bool(self._values)

    def __call__(self, text: str) -> str:
        for v in self._values:
            if v in text:
                text = text.replace(v, MASK)
        return text

    def redact_obj(self, obj):
        """Redact strings inside nested dicts/lists (for error files, params, specs)."""
        if isinstance(obj, str):
            return self(obj)
        if isinstance(obj, dict):
            return {k: self.redact_obj(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.redact_obj(v) for v in obj]
        return obj
