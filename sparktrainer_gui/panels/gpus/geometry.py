"""The MIG strip's pure logic: no Qt here, so it is testable without a QApplication.

A GPU's MIG placements are counted in *slots* (NVML's placement units: 8 on A100/H100/H200,
the GPU's memory slices). A profile occupies ``size`` consecutive slots from one of the starts
NVML lists for it. This module maps slots to x positions on the strip and back, finds the
instance under a slot, picks the start a click means, and says in a sentence why a placement
is refused. The daemon's ``/v1/mig/plan`` stays the judge; these checks give instant feedback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from trainer_runtime.api.schema.gpus import LayoutEntry, MigProfileView
from trainer_runtime.api.schema.gpus import Slot as PlacedSlot


@dataclass(frozen=True)
class Profile:
    name: str
    size: int  # slots it occupies
    placements: tuple[int, ...]  # the starts NVML allows
    max_count: int
    memory_mb: int = 0
    compute_slices: int = 0

    @classmethod
    def from_api(cls, view: MigProfileView) -> Profile:
        """A profile of the daemon's ``/v1/mig/profiles`` answer."""
        return cls(
            name=view.name,
            size=view.memory_slices or 1,
            placements=tuple(view.placements),
            max_count=view.max_count,
            memory_mb=view.memory_mb,
            compute_slices=view.compute_slices,
        )


@dataclass(frozen=True)
class Slot:
    """One entry of a planned layout; ``start`` None means "let the daemon place it"."""

    profile: str
    start: int | None = None

    def to_api(self) -> str | dict[str, Any]:
        return self.profile if self.start is None else {"profile": self.profile, "start": self.start}

    @classmethod
    def from_api(cls, raw: str | LayoutEntry | PlacedSlot) -> Slot:
        """A layout entry as the contract has it: a profile name (a preset, a recommendation),
        a ``{profile, start}`` entry, or a place a plan put an instance."""
        if isinstance(raw, str):
            return cls(raw)
        return cls(raw.profile, raw.start)


@dataclass(frozen=True)
class StripGeometry:
    """Slots laid out left to right between ``left`` and ``left + width`` (widget pixels)."""

    slots: int
    width: float
    left: float = 0.0

    @property
    def slot_width(self) -> float:
        return self.width / self.slots if self.slots > 0 else 0.0

    def x_of(self, slot: float) -> float:
        return self.left + slot * self.slot_width

    def span(self, start: int, size: int) -> tuple[float, float]:
        """The x range ``[x0, x1)`` of ``size`` slots from ``start``."""
        return self.x_of(start), self.x_of(start + size)

    def slot_at(self, x: float) -> int | None:
        """The slot under ``x``, or None outside the strip."""
        if self.slot_width <= 0 or x < self.left or x >= self.left + self.width:
            return None
        return min(self.slots - 1, int((x - self.left) / self.slot_width + 1e-9))  # x_of(s) → s


def slot_range(start: int, size: int) -> str:
    return f"slot {start}" if size == 1 else f"slots {start}–{start + size - 1}"


def _sizes(placed: Sequence[Slot], profiles: dict[str, Profile]) -> list[tuple[int, int, int]]:
    """(index, start, size) of every placed slot whose profile is known."""
    return [
        (i, s.start, profiles[s.profile].size)
        for i, s in enumerate(placed)
        if s.start is not None and s.profile in profiles
    ]


def instance_at(layout: Sequence[Slot], profiles: dict[str, Profile], slot: int) -> int | None:
    """The index in ``layout`` of the placed instance covering ``slot``."""
    for i, start, size in _sizes(layout, profiles):
        if start <= slot < start + size:
            return i
    return None


def start_for(profile: Profile, slot: int) -> int:
    """The start a click on ``slot`` means for ``profile``: the allowed start whose span covers
    the slot (the latest such start), else the slot itself (which ``refusal`` then explains)."""
    covering = [p for p in profile.placements if p <= slot < p + profile.size]
    return max(covering) if covering else slot


def _starts_text(starts: Iterable[int]) -> str:
    s = [str(x) for x in starts]
    if not s:
        return "nowhere on this GPU"
    return "slot " + s[0] if len(s) == 1 else "slots " + ", ".join(s[:-1]) + " or " + s[-1]


def refusal(
    profiles: dict[str, Profile],
    layout: Sequence[Slot],
    profile_name: str,
    start: int,
    slots: int,
    ignore: int | None = None,
    compute: int = 0,
) -> str | None:
    """Why ``profile_name`` cannot go at ``start`` next to ``layout`` (skipping entry ``ignore``,
    the one being moved), or None when it can. ``compute``: the GPU's compute slices (0: no check)."""
    profile = profiles.get(profile_name)
    if profile is None:
        return f"this GPU has no MIG profile {profile_name!r}"
    if start not in profile.placements:
        return f"{profile.name} can only start at {_starts_text(profile.placements)}, not at slot {start}"
    if start + profile.size > slots:
        return f"{profile.name} at slot {start} would run past the GPU's {slots} slots"
    for i, other_start, size in _sizes(layout, profiles):
        if i == ignore:
            continue
        if start < other_start + size and other_start < start + profile.size:
            return (
                f"{profile.name} at {slot_range(start, profile.size)} overlaps "
                f"{layout[i].profile} at {slot_range(other_start, size)}"
            )
    count = sum(1 for i, s in enumerate(layout) if s.profile == profile.name and i != ignore)
    if profile.max_count and count >= profile.max_count:
        return f"this GPU allows at most {profile.max_count} × {profile.name}"
    others = [
        profiles[s.profile].compute_slices
        for i, s in enumerate(layout)
        if i != ignore and s.profile in profiles
    ]
    if compute and sum(others) + profile.compute_slices > compute:
        return (
            f"{profile.name} needs {profile.compute_slices} compute slices and only "
            f"{max(0, compute - sum(others))} of the GPU's {compute} are left"
        )
    return None


def first_free_start(
    profiles: dict[str, Profile], layout: Sequence[Slot], profile_name: str, slots: int, compute: int = 0
) -> int | None:
    profile = profiles.get(profile_name)
    if profile is None:
        return None
    for start in profile.placements:
        if refusal(profiles, layout, profile_name, start, slots, compute=compute) is None:
            return start
    return None


def occupied(layout: Sequence[Slot], profiles: dict[str, Profile]) -> int:
    return sum(size for _i, _start, size in _sizes(layout, profiles))


def diff(current: Iterable[tuple[str, int]], planned: Iterable[Slot]) -> dict[str, list[str]]:
    """current → planned as keep/remove/add lists of "profile@start" (unplaced: "profile@?")."""
    cur = [f"{p}@{s}" for p, s in current]
    plan = [f"{s.profile}@{'?' if s.start is None else s.start}" for s in planned]
    keep = [c for c in cur if c in plan]
    return {
        "keep": keep,
        "remove": [c for c in cur if c not in plan],
        "add": [p for p in plan if p not in keep],
    }
