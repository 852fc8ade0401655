"""NVIDIA's published MIG tables for the simulated models.

Sources: the NVIDIA Multi-Instance GPU User Guide, "Supported MIG Profiles" (profile names,
fractions of memory and SMs, instance counts) and the ``nvidia-smi mig -lgip`` / ``-lgipp``
output it documents. Placements are start indices on the 8-slice memory axis:

    profile id 19/20 (1 slice):  {0,1,2,3,4,5,6}:1
    profile id 15 (1g, 2 mem):   {0,2,4,6}:2
    profile id 14 (2g):          {0,2,4}:2
    profile id  9 (3g):          {0,4}:4
    profile id  5 (4g):          {0}:4
    profile id  0 (7g):          {0}:8

Memory sizes are MiB as ``-lgip`` reports them (its GiB column x 1024): A100-40GB, A100-80GB and
H100-80GB from published transcripts; the H200 sizes are derived from its 1/8 memory slices of
the 141 GB board and may differ from a real driver by a few hundred MiB. On a real GPU the NVML
back end reads the table from the device instead.
"""

from __future__ import annotations

from trainer_runtime.gpu.model import MigProfile, MigTable

ONE = (0, 1, 2, 3, 4, 5, 6)
EVEN = (0, 2, 4, 6)
TWO = (0, 2, 4)
HALF = (0, 4)
FIRST = (0,)


def _table(model: str, names: tuple[str, ...], mib: tuple[int, int, int, int, int]) -> MigTable:
    """names: 1g, 1g+me, 1g (2 memory slices), 2g, 3g, 4g, 7g; mib: 1-slice, 2-slice, 4-slice,
    8-slice memory and (unused) board memory."""
    one, two, four, eight, _ = mib
    g1, g1me, g1big, g2, g3, g4, g7 = names
    profiles = (
        MigProfile(g1, 19, 1, 1, one, 7, ONE),
        MigProfile(g1me, 20, 1, 1, one, 1, ONE),
        MigProfile(g1big, 15, 1, 2, two, 4, EVEN),
        MigProfile(g2, 14, 2, 2, two, 3, TWO),
        MigProfile(g3, 9, 3, 4, four, 2, HALF),
        MigProfile(g4, 5, 4, 4, four, 1, FIRST),
        MigProfile(g7, 0, 7, 8, eight, 1, FIRST),
    )
    return MigTable(model, 7, 8, profiles)


TABLES: dict[str, MigTable] = {
    "A100-40GB": _table(
        "A100-40GB",
        ("1g.5gb", "1g.5gb+me", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"),
        (4864, 9856, 19968, 40192, 40960),
    ),
    "A100-80GB": _table(
        "A100-80GB",
        ("1g.10gb", "1g.10gb+me", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
        (9728, 19968, 40192, 80896, 81920),
    ),
    "H100-80GB": _table(
        "H100-80GB",
        ("1g.10gb", "1g.10gb+me", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
        (9984, 20096, 40448, 81152, 81559),
    ),
    "H200": _table(
        "H200",
        ("1g.18gb", "1g.18gb+me", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"),
        (16896, 33792, 67840, 135936, 143771),
    ),
}

# What the simulated boards report besides MIG: name, memory (MiB), power limit (W),
# max SM and memory clocks (MHz), idle power (W).
BOARDS: dict[str, dict] = {
    "A100-40GB": {"name": "NVIDIA A100-SXM4-40GB", "memory_mb": 40960, "power_limit_w": 400,
                  "sm_clock": 1410, "mem_clock": 1215, "idle_w": 55},
    "A100-80GB": {"name": "NVIDIA A100-SXM4-80GB", "memory_mb": 81920, "power_limit_w": 400,
                  "sm_clock": 1410, "mem_clock": 1593, "idle_w": 60},
    "H100-80GB": {"name": "NVIDIA H100 80GB HBM3", "memory_mb": 81559, "power_limit_w": 700,
                  "sm_clock": 1980, "mem_clock": 2619, "idle_w": 70},
    "H200": {"name": "NVIDIA H200", "memory_mb": 143771, "power_limit_w": 700,
             "sm_clock": 1980, "mem_clock": 3201, "idle_w": 75},
}  # fmt: skip


def known_models() -> list[str]:
    return sorted(TABLES)
