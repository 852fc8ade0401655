"""Perceptual hashes (dHash) and near-duplicate groups without comparing every pair.

dHash: the image in grey, shrunk to 9×8, one bit per horizontally adjacent pair (left brighter
than right), 64 bits. Two images are near duplicates when their hashes differ in at most
``threshold`` bits. The 64 bits are cut into ``threshold + 1`` bands; by the pigeonhole rule two
hashes within the threshold agree exactly on at least one band, so only hashes that share a band
value are compared: close to linear for real data instead of O(n²).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

HASH_BITS = 64
DEFAULT_THRESHOLD = 4


def dhash(image: Any) -> int:
    """The 64-bit dHash of a PIL image."""
    from PIL import Image

    small = image.convert("L").resize((9, 8), Image.Resampling.BILINEAR)
    px = np.asarray(small, dtype=np.int16)
    bits = (px[:, :-1] > px[:, 1:]).flatten()
    return int(np.packbits(bits).view(">u8")[0])


def _bands(threshold: int) -> list[tuple[int, int]]:
    n = threshold + 1
    edges = [round(i * HASH_BITS / n) for i in range(n + 1)]
    return [(edges[i], edges[i + 1]) for i in range(n)]


def near_duplicate_groups(hashes: dict[str, int], threshold: int = DEFAULT_THRESHOLD) -> list[list[str]]:
    """Groups (sorted, each ≥ 2 keys) of keys whose hashes are within ``threshold`` bits,
    joined transitively."""
    keys = sorted(hashes)
    parent = list(range(len(keys)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    compared: set[tuple[int, int]] = set()
    for lo, hi in _bands(threshold):
        mask = (1 << (hi - lo)) - 1
        buckets: dict[int, list[int]] = defaultdict(list)
        for idx, key in enumerate(keys):
            buckets[(hashes[key] >> lo) & mask].append(idx)
        for members in buckets.values():
            for a_i, a in enumerate(members):
                for b in members[a_i + 1 :]:
                    if (a, b) in compared:
                        continue
                    compared.add((a, b))
                    if (hashes[keys[a]] ^ hashes[keys[b]]).bit_count() <= threshold:
                        parent[find(a)] = find(b)
    groups: dict[int, list[str]] = defaultdict(list)
    for idx, key in enumerate(keys):
        groups[find(idx)].append(key)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)
