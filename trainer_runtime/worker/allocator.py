"""glibc malloc settings for the training process.

A training step on the CPU allocates and frees the same large tensors (activations, logits,
gradients) every step. With glibc's defaults, blocks above a dynamic threshold (at most 32 MiB)
are ``mmap``-ed and handed back on free, and free memory at the top of the heap is trimmed, so
the next step page-faults the same megabytes in again: thousands of page faults a step, a few
percent of a small model's step time. The worker raises both thresholds before torch allocates
anything, so freed blocks are reused: the process keeps its peak working set instead of
returning it between steps.

A user who sets the thresholds (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``, or
``glibc.malloc.*`` in ``GLIBC_TUNABLES``) or preloads another allocator (jemalloc, tcmalloc,
mimalloc) keeps their choice.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Mapping

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 256 << 20  # blocks below this come from the heap and are reused
TRIM_THRESHOLD = 1 << 30  # free memory at the heap's top kept before giving it back

USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")
OTHER_ALLOCATORS = ("jemalloc", "tcmalloc", "mimalloc")


def user_choice(env: Mapping[str, str]) -> str | None:
    """The variable by which the user chose their own allocator settings, if any."""
    for name in USER_SETTINGS:
        if env.get(name):
            return name
    if "glibc.malloc." in env.get("GLIBC_TUNABLES", ""):
        return "GLIBC_TUNABLES"
    if any(name in env.get("LD_PRELOAD", "") for name in OTHER_ALLOCATORS):
        return "LD_PRELOAD"
    return None


def tune(env: Mapping[str, str] | None = None) -> str:
    """Raise glibc's mmap and trim thresholds; return what was done, for the worker's log."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux"):
        return "allocator: left as is (not Linux)"
    chosen = user_choice(env)
    if chosen:
        return f"allocator: left as is ({chosen} is set)"
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process already runs on
    except (OSError, AttributeError):
        return "allocator: left as is (no glibc mallopt)"
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    if mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) != 1 or mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) != 1:
        return "allocator: left as is (mallopt refused the thresholds)"
    return (
        f"allocator: glibc malloc reuses freed blocks below {MMAP_THRESHOLD >> 20} MiB "
        f"(mmap threshold) and keeps up to {TRIM_THRESHOLD >> 20} MiB free (trim threshold)"
    )
