"""The MIG planner against NVIDIA's published tables (MIG User Guide, `nvidia-smi mig -lgip/-lgipp`)."""

from __future__ import annotations

import pytest

from trainer_runtime.gpu import planner
from trainer_runtime.gpu.model import Instance
from trainer_runtime.gpu.tables import TABLES

# NVIDIA's names per model: 1g, 1g+me, 1g with 2 memory slices, 2g, 3g, 4g, 7g.
NAMES = {
    "A100-40GB": ("1g.5gb", "1g.5gb+me", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"),
    "A100-80GB": ("1g.10gb", "1g.10gb+me", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
    "H100-80GB": ("1g.10gb", "1g.10gb+me", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
    "H200": ("1g.18gb", "1g.18gb+me", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"),
}
# -lgip IDs and instance counts, -lgipp placements (start indices : size), the same on all four.
PUBLISHED = [  # (id, compute slices, max instances, placements, size)
    (19, 1, 7, (0, 1, 2, 3, 4, 5, 6), 1),
    (20, 1, 1, (0, 1, 2, 3, 4, 5, 6), 1),
    (15, 1, 4, (0, 2, 4, 6), 2),
    (14, 2, 3, (0, 2, 4), 2),
    (9, 3, 2, (0, 4), 4),
    (5, 4, 1, (0,), 4),
    (0, 7, 1, (0,), 8),
]
MODELS = sorted(NAMES)


@pytest.mark.parametrize("model", MODELS)
def test_tables_follow_nvidia(model):
    table = TABLES[model]
    assert (table.slices, table.memory_slices) == (7, 8)
    for name, (pid, compute, count, starts, size) in zip(NAMES[model], PUBLISHED, strict=True):
        p = table.profile(name)
        assert p is not None, name
        assert (p.id, p.compute_slices, p.max_count, p.placements, p.memory_slices) == (
            pid,
            compute,
            count,
            starts,
            size,
        )
    mem = {p.name: p.memory_mb for p in table.profiles}
    g1, _, g1big, g2, g3, g4, g7 = NAMES[model]
    assert mem[g1] < mem[g1big] == mem[g2] < mem[g3] == mem[g4] < mem[g7]


def test_published_memory_sizes():
    # -lgip "Memory GiB" x 1024 on published transcripts
    assert TABLES["A100-40GB"].profile("1g.5gb").memory_mb == 4864  # 4.75 GiB
    assert TABLES["A100-40GB"].profile("7g.40gb").memory_mb == 40192  # 39.25 GiB
    assert TABLES["H100-80GB"].profile("1g.10gb").memory_mb == 9984  # 9.75 GiB
    assert TABLES["H100-80GB"].profile("3g.40gb").memory_mb == 40448  # 39.50 GiB


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    "shape",
    [
        [0] * 7,  # 7x 1g
        [3, 3, 3, 0],  # 3x 2g + 1g
        [4, 4],  # 2x 3g
        [6],  # 1x 7g
        [5, 4],  # 4g + 3g
        [4, 3, 0, 0],  # 3g + 2g + 1g + 1g: only with the 3g at placement 4
        [2, 2, 2, 2],  # 4x 1g with two memory slices
        [1, 0, 0, 0, 0, 0, 0],  # the +me profile once, with six plain 1g
        [5, 0, 0, 0],  # 4g + 3x 1g
    ],
)
def test_valid_layouts(model, shape):
    layout = [NAMES[model][i] for i in shape]
    placed, errors = planner.validate(TABLES[model], layout)
    assert errors == []
    assert sorted(p.profile for p in placed) == sorted(layout)
    used: set[int] = set()
    for p in placed:
        prof = TABLES[model].profile(p.profile)
        assert p.start in prof.placements
        span = set(range(p.start, p.start + p.size))
        assert not span & used
        used |= span


def test_three_two_one_one_needs_the_3g_at_placement_4():
    placed, errors = planner.validate(TABLES["H100-80GB"], ["3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"])
    assert errors == []
    assert {(p.profile, p.start) for p in placed} == {
        ("3g.40gb", 4),
        ("2g.20gb", 0),
        ("1g.10gb", 2),
        ("1g.10gb", 3),
    }


@pytest.mark.parametrize("model", MODELS)
def test_too_many_of_a_profile(model):
    g4 = NAMES[model][5]
    _, errors = planner.validate(TABLES[model], [g4, g4])
    assert f"{g4} can exist at most 1 time(s) on {model}; the layout asks for 2" in [
        e["reason"] for e in errors
    ]


@pytest.mark.parametrize("model", MODELS)
def test_placement_not_allowed(model):
    g3, g2 = NAMES[model][4], NAMES[model][3]
    _, errors = planner.validate(TABLES[model], [{"profile": g3, "start": 2}])
    assert errors == [{"profile": g3, "start": 2,
                       "reason": f"{g3} cannot start at memory slice 2 on {model}: NVIDIA allows it only at 0, 4"}]  # fmt: skip
    _, errors = planner.validate(TABLES[model], [{"profile": g2, "start": 6}])
    assert "only at 0, 2, 4" in errors[0]["reason"]


@pytest.mark.parametrize("model", MODELS)
def test_overlapping_pinned_instances(model):
    g3, g2 = NAMES[model][4], NAMES[model][3]
    _, errors = planner.validate(TABLES[model], [{"profile": g3, "start": 0}, {"profile": g2, "start": 2}])
    assert errors[0]["profile"] == g2 and errors[0]["start"] == 2
    assert f"overlaps {g3} at 0" in errors[0]["reason"]


@pytest.mark.parametrize("model", MODELS)
def test_no_room_names_the_profile_and_its_placements(model):
    g3, g4 = NAMES[model][4], NAMES[model][5]
    _, errors = planner.validate(TABLES[model], [{"profile": g3, "start": 0}, g4])
    assert len(errors) == 1 and errors[0]["profile"] == g4
    assert errors[0]["reason"].startswith(f"{g4} does not fit: it may start only at memory slice 0")
    assert f"memory slices 0-3 hold {g3}" in errors[0]["reason"]


@pytest.mark.parametrize("model", MODELS)
def test_slice_totals(model):
    g1, _, g1big, *_, g7 = NAMES[model]
    _, errors = planner.validate(TABLES[model], [g7, g1])
    reasons = [e["reason"] for e in errors]
    assert f"the layout needs 8 compute slices; {model} has 7" in reasons
    _, errors = planner.validate(TABLES[model], [g1big] * 4 + [g1])
    assert [e["reason"] for e in errors] == [f"the layout needs 9 memory slices; {model} has 8"]


def test_unknown_profile_lists_the_real_ones():
    _, errors = planner.validate(TABLES["H100-80GB"], ["1g.5gb"])
    assert errors[0]["reason"].startswith(
        "1g.5gb is not a MIG profile of H100-80GB; its profiles are 1g.10gb, "
    )
    _, errors = planner.validate(TABLES["A100-40GB"], [{"profile": "3g.20gb", "start": -1}, 7])
    assert "start must be a slice index" in errors[0]["reason"] and "entry 2" in errors[1]["reason"]


def test_diff_keeps_what_exists_and_orders_the_operations():
    table = TABLES["H100-80GB"]
    current = [Instance("3g.40gb", 0, 4, 1, 0, "MIG-a"), Instance("3g.40gb", 4, 4, 2, 0, "MIG-b")]
    plan = planner.plan(table, 3, True, current, ["3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"])
    assert plan["valid"]
    assert [(i["profile"], i["start"]) for i in plan["diff"]["keep"]] == [("3g.40gb", 4)]
    assert [(i["profile"], i["start"]) for i in plan["diff"]["remove"]] == [("3g.40gb", 0)]
    assert sorted((i["profile"], i["start"]) for i in plan["diff"]["add"]) == [
        ("1g.10gb", 2),
        ("1g.10gb", 3),
        ("2g.20gb", 0),
    ]
    ops = plan["operations"]
    assert (
        ops[0]
        == "destroy compute instance 0 of GPU instance 1 (3g.40gb at placement 0) (nvmlComputeInstanceDestroy)"
    )
    assert ops[1] == "destroy GPU instance 1 (3g.40gb at placement 0) (nvmlGpuInstanceDestroy)"
    assert sum("nvmlDeviceCreateGpuInstanceWithPlacement" in o for o in ops) == 3
    assert not any("SetMigMode" in o for o in ops)  # MIG is already on
    assert ops[-1].startswith("read back")


def test_enable_and_disable_mig_mode():
    table = TABLES["A100-80GB"]
    on = planner.plan(table, 0, False, [], ["7g.80gb"])
    assert on["operations"][0] == "enable MIG mode on GPU 0 (nvmlDeviceSetMigMode)"
    off = planner.plan(table, 0, True, [Instance("7g.80gb", 0, 8, 1, 0)], [])
    assert off["valid"] and off["placed"] == []
    assert off["operations"][-2] == "disable MIG mode on GPU 0 (nvmlDeviceSetMigMode)"
    same = planner.plan(table, 0, True, [Instance("7g.80gb", 0, 8, 1, 0)], ["7g.80gb"])
    assert same["operations"] == [] and same["diff"]["keep"]


@pytest.mark.parametrize("model", MODELS)
def test_presets_are_valid_and_named_for_the_model(model):
    presets = planner.presets(TABLES[model])
    assert (
        f"7x {NAMES[model][0]}" in presets and f"2x {NAMES[model][4]}" in presets and "3g+2g+1g+1g" in presets
    )
    for layout in presets.values():
        assert planner.validate(TABLES[model], layout)[1] == []


def test_recommend_packs_queued_jobs_by_memory():
    rec = planner.recommend(TABLES["H100-80GB"], [("a", 30), ("b", 9), ("c", 18), ("d", 70), ("e", 35)])
    assert rec["layout"] == ["3g.40gb", "1g.10gb", "1g.20gb"]
    assert "d (70 GB needs a whole GPU)" in rec["reason"] and "e (35 GB, no room left)" in rec["reason"]
    assert planner.validate(TABLES["H100-80GB"], rec["layout"])[1] == []
    assert planner.recommend(TABLES["H100-80GB"], [])["layout"] == []
    # a 10 GB job fits the 1g.10gb slice: memory_gb is decimal GB, like the profile names
    assert planner.fit_profile(TABLES["H100-80GB"], 10 * planner.GB_MB).name == "1g.10gb"
    assert planner.fit_profile(TABLES["A100-40GB"], 5 * planner.GB_MB).name == "1g.5gb"


def test_cli_layout_text():
    assert planner.parse_layout_text("3g.40gb, 2g.20gb@0,1g.10gb:6") == [
        "3g.40gb", {"profile": "2g.20gb", "start": 0}, {"profile": "1g.10gb", "start": 6}]  # fmt: skip
    assert planner.parse_layout_text("none") == []
