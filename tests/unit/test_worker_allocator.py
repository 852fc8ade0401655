"""The worker's malloc settings: freed tensor memory is reused instead of page-faulted in again."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from trainer_runtime.worker import allocator

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc only")

# A step's worth of large tensors, freed and allocated again, as a training loop does, after a
# few warm-up steps. 48 MiB is
# above glibc's largest dynamic mmap threshold (32 MiB), so by default each one is mmap-ed anew.
PROBE = """
import json, resource, sys
from trainer_runtime.worker import allocator
message = allocator.tune() if sys.argv[1] == "tuned" else "default"
import torch

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

n = 12 << 20  # float32 elements: 48 MiB
for _ in range(10):  # warm-up: aligned blocks settle into reusable places in the first few steps
    t = torch.ones(n)
    del t
f0 = faults()
for _ in range(20):
    t = torch.ones(n)
    del t
pages = 20 * n * 4 // resource.getpagesize()
print(json.dumps({"message": message, "faults": faults() - f0, "pages": pages}))
"""


def probe(mode: str, env_extra: dict[str, str] | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in allocator.USER_SETTINGS and k != "GLIBC_TUNABLES"}
    env.update(env_extra or {})
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_tuned_process_reuses_freed_tensors_instead_of_faulting_them_in_again():
    tuned = probe("tuned")
    assert tuned["message"].startswith("allocator: glibc malloc reuses freed blocks below 256 MiB")
    # 20 allocations of 48 MiB touch 245,760 pages; reused heap memory faults (almost) none.
    assert tuned["faults"] < tuned["pages"] // 100, tuned
    default = probe("default")
    # The same loop with glibc's defaults maps fresh memory each time (the cost the worker avoids).
    assert default["faults"] > 10 * max(tuned["faults"], 1), (default, tuned)


def test_user_settings_are_left_alone():
    for env in (
        {"MALLOC_MMAP_THRESHOLD_": "65536"},
        {"MALLOC_TRIM_THRESHOLD_": "0"},
        {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=65536"},
        {"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"},
    ):
        message = allocator.tune(env)
        assert message.startswith("allocator: left as is (") and next(iter(env)) in message, message
    # Unrelated tunables or preloads are not a choice of allocator.
    assert (
        allocator.user_choice({"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2", "LD_PRELOAD": "libfoo.so"}) is None
    )
    # A user's MALLOC_MMAP_THRESHOLD_ really reaches glibc: the tuned probe then keeps the default behaviour.
    kept = probe("tuned", {"MALLOC_MMAP_THRESHOLD_": str(1 << 20)})
    assert kept["message"] == "allocator: left as is (MALLOC_MMAP_THRESHOLD_ is set)"
    assert kept["faults"] > kept["pages"] // 100, kept
