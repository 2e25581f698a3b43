"""Plan the fewest reads that cover a set of points.

Each read is one table (one function code), one contiguous run of at most `max_read` registers,
inside one declared block and touching no declared hole; a point is never split between reads.
On a paced link the refresh time is (number of reads) x (minimum period), so fewer reads is
directly faster.

Greedy is optimal here: the read that covers the lowest uncovered point may as well start at that
point (nothing to its left still needs covering), and then it should reach as far right as the
limits allow. tests/test_planner.py checks this against brute force on random small maps.
"""

from __future__ import annotations

from dataclasses import dataclass

from solartui.errors import SolartuiError
from solartui.registers.model import READ_FUNCTION, TABLES, DeviceMap, Field


@dataclass(frozen=True)
class Read:
    table: str
    address: int
    count: int
    fields: tuple  # the points (or identify fields) this read covers

    @property
    def function(self) -> int:
        return READ_FUNCTION[self.table]

    @property
    def end(self) -> int:
        return self.address + self.count - 1


class PlanError(SolartuiError):
    """A point cannot be read at all under the map's limits (wider than max_read, or in a hole)."""


def plan_reads(fields: list[Field], max_read: int,
               blocks: dict[str, tuple[tuple[int, int], ...]] | None = None,
               holes: dict[str, tuple[tuple[int, int], ...]] | None = None) -> list[Read]:
    blocks = blocks or {}
    holes = holes or {}
    reads: list[Read] = []
    for table in TABLES:
        todo = sorted((f for f in fields if f.table == table), key=lambda f: (f.address, f.end))
        table_blocks = blocks.get(table) or ((0, 65535),)
        table_holes = holes.get(table, ())
        i = 0
        while i < len(todo):
            first = todo[i]
            limit = _reach(first, max_read, table_blocks, table_holes)
            # take fields in address order while they fit; the first that does not fit starts
            # the next read (which, starting further right, also covers anything skipped here)
            j = i
            last = first.end
            while j < len(todo) and todo[j].end <= limit:
                last = max(last, todo[j].end)
                j += 1
            covered = todo[i:j]
            reads.append(Read(table, first.address, last - first.address + 1, tuple(covered)))
            i = j
    return reads


def _reach(first: Field, max_read: int, blocks, holes) -> int:
    """The highest address a read starting at `first.address` may include."""
    block = next(((a, b) for a, b in blocks if a <= first.address <= b), None)
    if block is None or first.end > block[1]:
        raise PlanError(f"registers {first.address}-{first.end} are not inside one block")
    limit = min(block[1], first.address + max_read - 1)
    for a, b in holes:
        if a <= first.end and b >= first.address:
            raise PlanError(f"registers {first.address}-{first.end} touch a declared hole {a}-{b}")
        if a > first.end:
            limit = min(limit, a - 1)
    if first.end > limit:
        raise PlanError(f"registers {first.address}-{first.end} are wider than max_read "
                        f"({max_read})")
    return limit


def plan_for_map(device_map: DeviceMap, fields: list[Field]) -> list[Read]:
    return plan_reads(fields, device_map.link.max_read, device_map.blocks, device_map.holes)
