"""Read planner: fewest reads, each within max_read, one block, no hole, no point split.

The optimality test compares the planner against an independent brute force (a DP over the
sorted points) on many small random maps.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solartui.registers.loader import load_map
from solartui.registers.model import Field
from solartui.registers.planner import PlanError, Read, plan_for_map, plan_reads

GROWATT = Path(__file__).resolve().parent.parent / "maps" / "growatt_protocol_ii.yaml"
WHOLE = ((0, 65535),)


def u16(address: int, table: str = "input") -> Field:
    return Field(table, address, "u16")


def u32(address: int, table: str = "input") -> Field:
    return Field(table, address, "u32", count=2)


def ascii_(address: int, count: int, table: str = "holding") -> Field:
    return Field(table, address, "ascii", count=count)


def spans(plan: list[Read]) -> list[tuple[str, int, int]]:
    return [(r.table, r.address, r.end) for r in plan]


def check_plan(plan, fields, max_read, blocks=None, holes=None, disjoint=True) -> None:
    """Every property a plan must have, whatever the input.

    With overlapping fields (aliases) two reads may overlap, and a short alias may lie inside
    both; it is still read by exactly one of them.
    """
    blocks = blocks or {}
    holes = holes or {}
    for r in plan:
        assert 1 <= r.count <= max_read, r
        assert r.function == {"input": 4, "holding": 3}[r.table]
        tb = blocks.get(r.table) or WHOLE
        assert any(a <= r.address and r.end <= b for a, b in tb), f"{r} leaves its block"
        for a, b in holes.get(r.table, ()):
            assert r.end < a or r.address > b, f"{r} includes hole {a}-{b}"
        assert r.fields, f"{r} reads nothing"
        for f in r.fields:
            assert f.table == r.table and r.address <= f.address and f.end <= r.end, (r, f)
        # no registers wasted at either end
        assert r.address == min(f.address for f in r.fields)
        assert r.end == max(f.end for f in r.fields)
    for f in fields:
        inside = [r for r in plan if r.table == f.table and r.address <= f.address
                  and f.end <= r.end]
        assert len(inside) == 1 or (not disjoint and inside), (f, inside)
        assert sum(1 for r in plan for g in r.fields if g is f) == 1, f
    for table in ("input", "holding") if disjoint else ():
        rs = sorted((r for r in plan if r.table == table), key=lambda r: r.address)
        for a, b in zip(rs, rs[1:]):
            assert a.end < b.address, f"reads {a} and {b} overlap"


# --- known cases -------------------------------------------------------------------------------

def test_nothing_to_read():
    assert plan_reads([], 125) == []


def test_contiguous_points_make_one_read():
    fields = [u16(a) for a in range(10)]
    plan = plan_reads(fields, 125)
    assert spans(plan) == [("input", 0, 9)]
    assert plan[0].count == 10 and plan[0].function == 4
    check_plan(plan, fields, 125)


def test_small_gap_is_read_through():
    fields = [u16(0), u16(50), u32(123)]
    plan = plan_reads(fields, 125)
    assert spans(plan) == [("input", 0, 124)]
    check_plan(plan, fields, 125)


def test_gap_larger_than_max_read_makes_two_reads():
    fields = [u16(0), u16(1), u16(200), u16(201)]
    plan = plan_reads(fields, 125)
    assert spans(plan) == [("input", 0, 1), ("input", 200, 201)]
    check_plan(plan, fields, 125)


def test_max_read_limits_a_run():
    fields = [u16(a) for a in range(10)]
    plan = plan_reads(fields, 4)
    assert spans(plan) == [("input", 0, 3), ("input", 4, 7), ("input", 8, 9)]
    check_plan(plan, fields, 4)


def test_block_boundary_splits():
    blocks = {"input": ((0, 124), (125, 249))}
    fields = [u16(120), u16(126)]
    plan = plan_reads(fields, 125, blocks)
    assert spans(plan) == [("input", 120, 120), ("input", 126, 126)]
    check_plan(plan, fields, 125, blocks)
    # without the blocks the same two points are one read
    assert len(plan_reads(fields, 125)) == 1


def test_blocks_of_one_table_do_not_split_the_other():
    blocks = {"input": ((0, 124), (125, 249))}
    fields = [u16(120, "holding"), u16(126, "holding")]
    assert spans(plan_reads(fields, 125, blocks)) == [("holding", 120, 126)]


def test_hole_splits_and_is_never_included():
    holes = {"input": ((5, 6),)}
    fields = [u16(0), u16(4), u16(7), u16(10)]
    plan = plan_reads(fields, 125, None, holes)
    assert spans(plan) == [("input", 0, 4), ("input", 7, 10)]
    check_plan(plan, fields, 125, None, holes)


def test_hole_in_the_other_table_does_not_matter():
    holes = {"holding": ((5, 6),)}
    fields = [u16(0), u16(10)]
    assert spans(plan_reads(fields, 125, None, holes)) == [("input", 0, 10)]


def test_u32_is_never_split():
    fields = [u16(0), u16(1), u16(2), u32(3)]
    plan = plan_reads(fields, 4)
    assert spans(plan) == [("input", 0, 2), ("input", 3, 4)]
    check_plan(plan, fields, 4)


def test_long_ascii_is_never_split():
    fields = [u16(20, "holding"), ascii_(23, 5), u16(28, "holding")]
    plan = plan_reads(fields, 6)
    assert spans(plan) == [("holding", 20, 20), ("holding", 23, 28)]
    check_plan(plan, fields, 6)


def test_tables_are_planned_separately():
    fields = [u16(0, "holding"), u16(1, "holding"), u16(0, "input"), u16(1, "input")]
    plan = plan_reads(fields, 125)
    assert spans(plan) == [("input", 0, 1), ("holding", 0, 1)]
    assert [r.function for r in plan] == [4, 3]
    check_plan(plan, fields, 125)


def test_aliases_share_a_read():
    warning = u16(112)
    energy = u32(112)
    fields = [energy, warning, u16(114)]
    plan = plan_reads(fields, 125)
    assert spans(plan) == [("input", 112, 114)]
    assert set(plan[0].fields) == set(fields)


def test_unsorted_input():
    fields = [u16(9), u16(3), u32(5), u16(0)]
    plan = plan_reads(fields, 125)
    assert spans(plan) == [("input", 0, 9)]
    check_plan(plan, fields, 125)


@pytest.mark.parametrize("fields,max_read,blocks,holes", [
    ([u32(0)], 1, None, None),                              # wider than max_read
    ([ascii_(23, 10)], 8, None, None),
    ([u16(0), u16(5)], 125, None, {"input": ((5, 5),)}),    # inside a hole
    ([u32(4)], 125, None, {"input": ((5, 9),)}),            # second word in a hole
    ([u32(4)], 125, None, {"input": ((0, 4),)}),            # first word in a hole
    ([u16(300)], 125, {"input": ((0, 124),)}, None),        # outside every block
    ([u32(124)], 125, {"input": ((0, 124), (125, 249))}, None),   # across a block boundary
])
def test_unreadable_point_is_a_plan_error(fields, max_read, blocks, holes):
    with pytest.raises(PlanError):
        plan_reads(fields, max_read, blocks, holes)


# --- brute force -------------------------------------------------------------------------------

def brute_force_optimum(fields, max_read, blocks, holes) -> int | None:
    """Minimum number of reads, or None when some point cannot be read at all.

    Points are non-overlapping, so the points fully inside any interval are a contiguous run of
    the sorted list, and any cover can be trimmed into a partition into runs. So the optimum is
    the fewest runs whose hull [first.address, last.end] is a legal read (DP over positions).
    """
    total = 0
    for table in ("input", "holding"):
        pts = sorted((f for f in fields if f.table == table), key=lambda f: f.address)
        tb = blocks.get(table) or WHOLE
        th = holes.get(table, ())

        def legal(lo: int, hi: int) -> bool:
            return (hi - lo + 1 <= max_read
                    and any(a <= lo and hi <= b for a, b in tb)
                    and not any(a <= hi and b >= lo for a, b in th))

        inf = float("inf")
        best = [0] + [inf] * len(pts)
        for i in range(1, len(pts) + 1):
            for j in range(i):
                if best[j] + 1 < best[i] and legal(pts[j].address, pts[i - 1].end):
                    best[i] = best[j] + 1
        if best[-1] == inf:
            return None
        total += int(best[-1])
    return total


@st.composite
def small_maps(draw):
    max_read = draw(st.integers(1, 8))
    raw = draw(st.lists(st.tuples(st.integers(0, 40), st.integers(1, 2),
                                  st.sampled_from(["input", "holding"])), max_size=16))
    fields, taken = [], set()
    for address, width, table in sorted(raw):
        regs = {(table, address + k) for k in range(width)}
        if regs & taken:
            continue
        taken |= regs
        fields.append(Field(table, address, "u32" if width == 2 else "u16", count=width))
    blocks, holes = {}, {}
    if draw(st.booleans()):
        table = draw(st.sampled_from(["input", "holding"]))
        split = draw(st.integers(1, 41))
        gap = draw(st.integers(0, 2))              # registers belonging to no block
        blocks[table] = ((0, split - 1), (split + gap, 65535))
    if draw(st.booleans()):
        table = draw(st.sampled_from(["input", "holding"]))
        first = draw(st.integers(0, 41))
        holes[table] = ((first, first + draw(st.integers(0, 3))),)
    return fields, max_read, blocks, holes


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(small_maps())
def test_plan_is_optimal_against_brute_force(case):
    fields, max_read, blocks, holes = case
    best = brute_force_optimum(fields, max_read, blocks, holes)
    if best is None:
        with pytest.raises(PlanError):
            plan_reads(fields, max_read, blocks, holes)
        return
    plan = plan_reads(fields, max_read, blocks, holes)
    check_plan(plan, fields, max_read, blocks, holes)
    assert len(plan) == best


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(small_maps(), st.lists(st.tuples(st.integers(0, 40), st.integers(1, 4)), max_size=4))
def test_plan_properties_with_overlapping_aliases(case, aliases):
    """Aliases overlap other points; the plan must still cover each exactly once."""
    fields, max_read, blocks, holes = case
    fields = fields + [Field("input", a, "ascii", count=w) for a, w in aliases]
    try:
        plan = plan_reads(fields, max_read, blocks, holes)
    except PlanError:
        return
    check_plan(plan, fields, max_read, blocks, holes, disjoint=False)


def test_brute_force_itself():
    # a sanity check of the checker on hand-solved cases
    assert brute_force_optimum([u16(0), u16(3)], 4, {}, {}) == 1
    assert brute_force_optimum([u16(0), u16(3)], 3, {}, {}) == 2
    assert brute_force_optimum([u16(0), u16(3)], 4, {}, {"input": ((1, 1),)}) == 2
    assert brute_force_optimum([u16(0), u16(1)], 4, {"input": ((0, 0), (1, 9))}, {}) == 2
    assert brute_force_optimum([u32(0)], 1, {}, {}) is None
    assert brute_force_optimum([u16(0), u16(1), u16(2)], 2, {}, {}) == 2


# --- the real map ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def growatt():
    return load_map(GROWATT)


def test_growatt_readable_points_plan_into_few_reads(growatt):
    fields = [p for p in growatt.points if p.readable]
    plan = plan_for_map(growatt, fields)
    print(f"\nGrowatt: {len(fields)} readable points in {len(plan)} reads: "
          + ", ".join(f"FC{r.function:02d} {r.address}+{r.count}" for r in plan))
    assert len(plan) <= 10
    check_plan(plan, fields, growatt.link.max_read, growatt.blocks, growatt.holes,
               disjoint=False)     # the map has aliases
    best = brute_force_optimum([p for p in fields if p.alias_of is None], growatt.link.max_read,
                               growatt.blocks, growatt.holes)
    assert len(plan) == best


def test_growatt_identify_fields_plan(growatt):
    plan = plan_for_map(growatt, list(growatt.identify.values()))
    assert len(plan) == 1 and plan[0].table == "holding" and plan[0].function == 3
    check_plan(plan, list(growatt.identify.values()), growatt.link.max_read, growatt.blocks)
