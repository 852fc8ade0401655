"""Redaction of secret values from any text that may be stored or shown."""

from __future__ import annotations

import os
from collections.abc import Iterable

MASK = "[REDACTED]"
# Shorter values would mask ordinary words and path parts ("data", "model"); every real
# credential the app knows is far longer (Hugging Face 37, W&B 40, OpenAI 51+ characters).
MIN_SECRET_LEN = 8
# Fields that name things (files, folders, models, job names, hashes) are never rewritten: a
# real dataset path that happens to contain a credential's value must still reach the worker.
# Only free text is masked: tags, messages, logs, error records.
STRUCTURAL_KEYS = frozenset(
    {"path", "graph", "hub_id", "builtin", "name", "hash", "recipe", "method", "text_field",
     "target_modules", "checkpoint", "resume_from", "blob", "out", "dir"}
)  # fmt: skip

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

    def redact_obj(self, obj, free: bool = False):
        """Redact free-text strings inside nested dicts/lists (error files, events, specs); the
        values of ``STRUCTURAL_KEYS`` are left as they are, except under ``tags`` (all free
        text, ``free``)."""
        if isinstance(obj, str):
            return self(obj)
        if isinstance(obj, dict):
            out = {}
            for k, v in obj.items():
                if not free and k in STRUCTURAL_KEYS and not isinstance(v, dict):
                    out[k] = v
                else:
                    out[self.redact_obj(k)] = self.redact_obj(v, free or k == "tags")
            return out
        if isinstance(obj, list | tuple):
            return [self.redact_obj(v, free) for v in obj]
        return obj
