"""The MIG strip's geometry and placement rules, without Qt (the profiles are shaped like the
daemon's ``/v1/mig/profiles`` answer for an H100-80GB, after NVIDIA's published table)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparktrainer_gui.panels.gpus import geometry
from sparktrainer_gui.panels.gpus.geometry import (
    Profile,
    Slot,
    StripGeometry,
    diff,
    first_free_start,
    instance_at,
    occupied,
    refusal,
    start_for,
)
from trainer_runtime.api.schema.gpus import LayoutEntry, MigProfileView

H100 = [
    {"name": "1g.10gb", "compute_slices": 1, "memory_slices": 1, "memory_mb": 9856, "max_count": 7,
     "placements": [0, 1, 2, 3, 4, 5, 6]},
    {"name": "1g.20gb", "compute_slices": 1, "memory_slices": 2, "memory_mb": 19968, "max_count": 4,
     "placements": [0, 2, 4, 6]},
    {"name": "2g.20gb", "compute_slices": 2, "memory_slices": 2, "memory_mb": 19968, "max_count": 3,
     "placements": [0, 2, 4]},
    {"name": "3g.40gb", "compute_slices": 3, "memory_slices": 4, "memory_mb": 40192, "max_count": 2,
     "placements": [0, 4]},
    {"name": "4g.40gb", "compute_slices": 4, "memory_slices": 4, "memory_mb": 40192, "max_count": 1,
     "placements": [0]},
    {"name": "7g.80gb", "compute_slices": 7, "memory_slices": 8, "memory_mb": 80384, "max_count": 1,
     "placements": [0]},
]  # fmt: skip
PROFILES = {p["name"]: Profile.from_api(MigProfileView(id=i, **p)) for i, p in enumerate(H100)}
SLOTS = 8


def test_the_geometry_module_loads_without_qt():
    """Loaded on its own in a fresh interpreter (the package's __init__ imports the Qt panel)."""
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('geometry', {geometry.__file__!r})\n"
        "module = sys.modules['geometry'] = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'sparktrainer'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_slot_and_x_map_both_ways():
    g = StripGeometry(slots=8, width=800, left=12)
    assert g.slot_width == 100
    assert g.x_of(0) == 12 and g.x_of(8) == 812
    assert g.span(4, 4) == (412, 812)
    assert g.slot_at(12) == 0
    assert g.slot_at(111.9) == 0
    assert g.slot_at(112) == 1
    assert g.slot_at(811.99) == 7
    assert g.slot_at(11.99) is None  # left margin
    assert g.slot_at(812) is None  # past the end
    assert StripGeometry(slots=0, width=800).slot_at(10) is None


@given(st.integers(1, 16), st.floats(50, 3000), st.floats(0, 40), st.data())
def test_the_slot_under_a_slots_x_is_that_slot(slots, width, left, data):
    g = StripGeometry(slots, width, left)
    slot = data.draw(st.integers(0, slots - 1))
    x0, x1 = g.span(slot, 1)
    assert g.slot_at(x0) == slot
    assert g.slot_at((x0 + x1) / 2) == slot


def test_a_click_means_the_allowed_start_that_covers_it():
    assert start_for(PROFILES["3g.40gb"], 5) == 4
    assert start_for(PROFILES["3g.40gb"], 3) == 0
    assert start_for(PROFILES["1g.10gb"], 3) == 3
    assert start_for(PROFILES["2g.20gb"], 7) == 7  # no start covers slot 7: refusal explains
    assert start_for(PROFILES["7g.80gb"], 6) == 0


def test_instances_are_hit_by_the_slots_they_cover():
    layout = [Slot("3g.40gb", 4), Slot("1g.10gb", 0), Slot("2g.20gb", None)]
    assert instance_at(layout, PROFILES, 4) == 0
    assert instance_at(layout, PROFILES, 7) == 0
    assert instance_at(layout, PROFILES, 0) == 1
    assert instance_at(layout, PROFILES, 2) is None  # unplaced entries cover nothing
    assert occupied(layout, PROFILES) == 5


def test_refusals_name_the_profile_and_the_placement():
    layout = [Slot("3g.40gb", 0)]
    assert refusal(PROFILES, layout, "3g.40gb", 4, SLOTS) is None
    why = refusal(PROFILES, layout, "2g.20gb", 2, SLOTS)
    assert why == "2g.20gb at slots 2–3 overlaps 3g.40gb at slots 0–3"
    why = refusal(PROFILES, [], "4g.40gb", 4, SLOTS)
    assert why == "4g.40gb can only start at slot 0, not at slot 4"
    why = refusal(PROFILES, [], "2g.20gb", 6, SLOTS)
    assert why == "2g.20gb can only start at slots 0, 2 or 4, not at slot 6"
    assert "no MIG profile '9g.99gb'" in (refusal(PROFILES, [], "9g.99gb", 0, SLOTS) or "")
    four = [Slot("1g.20gb", s) for s in (0, 2, 4)]
    assert refusal(PROFILES, four, "1g.20gb", 6, SLOTS) is None
    assert refusal(PROFILES, [*four, Slot("1g.20gb", None)], "1g.20gb", 6, SLOTS) == (
        "this GPU allows at most 4 × 1g.20gb"
    )


def test_a_moved_instance_does_not_collide_with_itself():
    layout = [Slot("3g.40gb", 0), Slot("1g.10gb", 4)]
    assert refusal(PROFILES, layout, "3g.40gb", 4, SLOTS, ignore=0) is not None  # 1g.10gb is at 4
    assert refusal(PROFILES, layout, "1g.10gb", 5, SLOTS, ignore=1) is None


def test_first_free_start_packs_left_to_right():
    layout: list[Slot] = []
    for expected in (0, 1, 2, 3, 4, 5, 6):
        start = first_free_start(PROFILES, layout, "1g.10gb", SLOTS)
        assert start == expected
        layout.append(Slot("1g.10gb", start))
    assert first_free_start(PROFILES, layout, "1g.10gb", SLOTS) is None
    assert first_free_start(PROFILES, [Slot("4g.40gb", 0)], "3g.40gb", SLOTS) == 4
    assert first_free_start(PROFILES, [Slot("1g.10gb", 5)], "3g.40gb", SLOTS) == 0


def test_the_diff_keeps_removes_and_adds():
    current = [("3g.40gb", 0), ("3g.40gb", 4)]
    planned = [Slot("3g.40gb", 0), Slot("2g.20gb", 4), Slot("1g.10gb", None)]
    assert diff(current, planned) == {
        "keep": ["3g.40gb@0"],
        "remove": ["3g.40gb@4"],
        "add": ["2g.20gb@4", "1g.10gb@?"],
    }
    assert diff([], []) == {"keep": [], "remove": [], "add": []}


@pytest.mark.parametrize(
    ("raw", "slot"),
    [("3g.40gb", Slot("3g.40gb")), ({"profile": "1g.10gb", "start": 3}, Slot("1g.10gb", 3))],
)
def test_layout_entries_round_trip_through_the_api_shape(raw, slot):
    entry = raw if isinstance(raw, str) else LayoutEntry(**raw)
    assert Slot.from_api(entry) == slot
    assert slot.to_api() == raw


def test_compute_slices_are_counted_when_the_gpu_says_how_many_it_has():
    layout = [Slot("2g.20gb", 0)]
    assert refusal(PROFILES, layout, "2g.20gb", 2, SLOTS) is None
    assert refusal(PROFILES, layout, "2g.20gb", 2, SLOTS, compute=3) == (
        "2g.20gb needs 2 compute slices and only 1 of the GPU's 3 are left"
    )
    assert first_free_start(PROFILES, layout, "1g.10gb", SLOTS, compute=3) == 2
