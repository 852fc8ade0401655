"""Sentences the MIG planner shows (no Qt): GPU titles, layouts, and apply failures."""

from __future__ import annotations

from sparktrainer_gui.panels.gpus.geometry import Slot
from trainer_runtime.api.schema.gpus import GpuView
from trainer_runtime.client.client import ApiError, DaemonUnavailable


def gpu_title(gpu: GpuView) -> str:
    return f"{gpu.label} · {'MIG on' if gpu.mig.current else 'MIG off'}"


def layout_text(entries: list[Slot]) -> str:
    if not entries:
        return "whole GPU (MIG off)"
    return " + ".join(e.profile + ("" if e.start is None else f"@{e.start}") for e in entries)


def sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def apply_error_text(err: Exception, gpu: str) -> str:
    """An apply's failure as sentences for the user (the daemon's message says why and what to do)."""
    if isinstance(err, ApiError):
        msg = sentence(err.message[:1].upper() + err.message[1:])
        if err.status == 409:
            return f"{gpu} is busy; nothing was changed. {msg}"
        if err.status == 403:
            return f"Applying a MIG layout needs administrator rights; nothing was changed. {msg}"
        if err.status == 400:
            reasons = " ".join(sentence(p["message"]) for p in err.problems)
            return f"The daemon refused this layout; nothing was changed. {msg} {reasons}".strip()
        return f"The apply failed and what it had done was rolled back. {msg}"
    if isinstance(err, DaemonUnavailable):
        return f"Could not reach the daemon, so nothing was applied. {sentence(str(err))}"
    return f"The apply failed: {sentence(str(err))}"
