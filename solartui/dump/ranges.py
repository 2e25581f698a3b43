"""Which registers a dump reads: the map's declared blocks (less its holes), plus raw ranges
asked for on the command line (`holding:0-124`, `input:1000-1124`), in reads no larger than the
map allows and never across a block boundary or a hole (a Growatt answers exception 2 there)."""

from __future__ import annotations

import re

from solartui.errors import SolartuiError

TABLES = {"holding": 3, "input": 4}
_RANGE = re.compile(r"^(holding|input|hr|ir):(\d+)(?:-(\d+))?$", re.I)


def parse_range(text: str) -> tuple[str, int, int]:
    """'holding:0-124' -> ("holding", 0, 124); hr:/ir: are short for holding:/input:."""
    m = _RANGE.match(text.strip())
    if not m:
        raise SolartuiError(f"--range {text!r}: give TABLE:FIRST-LAST, e.g. holding:0-124 or "
                            "input:1000-1124")
    table = {"hr": "holding", "ir": "input"}.get(m.group(1).lower(), m.group(1).lower())
    first = int(m.group(2))
    last = int(m.group(3)) if m.group(3) is not None else first
    if last < first or last > 0xFFFF:
        raise SolartuiError(f"--range {text!r}: the last address must be ≥ the first and "
                            "≤ 65535")
    return table, first, last


def _map_ranges(m) -> list[tuple[str, int, int]]:
    """Declared blocks; a map without them: the span of its points per table."""
    out = []
    for table in TABLES:
        blocks = m.blocks.get(table)
        if blocks:
            out += [(table, a, b) for a, b in blocks]
            continue
        pts = [p for p in m.points if p.table == table]
        if pts:
            out.append((table, min(p.address for p in pts), max(p.end for p in pts)))
    return out


def _split(first: int, last: int, cuts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """[first, last] less the holes."""
    parts = [(first, last)]
    for h0, h1 in cuts:
        nxt = []
        for a, b in parts:
            if h1 < a or b < h0:
                nxt.append((a, b))
                continue
            if a < h0:
                nxt.append((a, h0 - 1))
            if h1 < b:
                nxt.append((h1 + 1, b))
        parts = nxt
    return parts


def plan(m, raw: list[tuple[str, int, int]] | None = None, *, blocks: bool = True
         ) -> list[tuple[str, int, int]]:
    """(table, address, count) reads covering the ranges: map blocks (unless `blocks` is off)
    and `raw`, each address once, within max_read and inside one declared block."""
    wanted: dict[str, set[int]] = {t: set() for t in TABLES}
    for table, a, b in (_map_ranges(m) if blocks else []) + list(raw or []):
        for x, y in _split(a, b, list(m.holes.get(table, ()))):
            wanted[table].update(range(x, y + 1))
    reads = []
    for table in TABLES:
        addrs = sorted(wanted[table])
        bounds = m.blocks.get(table) or ()
        i = 0
        while i < len(addrs):
            start = addrs[i]
            block = next(((a, b) for a, b in bounds if a <= start <= b), None)
            limit = min(m.link.max_read, (block[1] - start + 1) if block else m.link.max_read)
            count = 1
            while (i + count < len(addrs) and count < limit
                   and addrs[i + count] == start + count):
                count += 1
            reads.append((table, start, count))
            i += count
    return reads
