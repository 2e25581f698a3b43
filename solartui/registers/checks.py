"""Structure checks beyond what the loader enforces, and the rung a map earns by them.

The loader refuses a map that cannot work (bad types, overlaps, unknown units). These checks look
for maps that load but are probably wrong: a voltage in amps, a 32-bit value written as two
16-bit halves, a point the planner cannot read, decodes that are not finite. A map with no
problem-level finding has earned `structure-verified`; with one, only `generated`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from solartui.registers.codec import decode
from solartui.registers.model import RUNGS, TEXT_TYPES, DeviceMap, Point, rung_index
from solartui.registers.planner import PlanError, plan_for_map
from solartui.registers.units import NAME_HINTS, quantity


@dataclass(frozen=True)
class Finding:
    level: str     # "problem" or "note"
    line: int
    point: str
    text: str

    def __str__(self) -> str:
        where = f"point {self.point}: " if self.point else ""
        return f"{self.level}: line {self.line}: {where}{self.text}"


@dataclass(frozen=True)
class CheckReport:
    device_map: DeviceMap
    findings: tuple[Finding, ...]

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "problem"]

    @property
    def earned(self) -> str:
        return "structure-verified" if not self.problems else "generated"


def _words_in_name(name: str) -> set[str]:
    return set(re.split(r"[_\d]+", name.lower())) | {name.lower()}


def check_map(m: DeviceMap) -> CheckReport:
    out: list[Finding] = []
    by_addr = {(p.table, p.address): p for p in m.points if p.alias_of is None}
    for p in m.points:
        out.extend(_unit_hint(p))
        out.extend(_split_pair(p, by_addr))
        out.extend(_finite(p))
        if p.enum is not None and p.unit:
            out.append(Finding("note", p.line, p.name, f"an enum with a unit ({p.unit})"))
        if rung_index(p.trust) > rung_index("structure-verified") and p.trust != m.trust:
            out.append(Finding("note", p.line, p.name,
                               f"claims {p.trust}; structure alone cannot earn more than "
                               "structure-verified"))
    try:
        plan_for_map(m, [p for p in m.points if p.readable])
    except PlanError as exc:
        out.append(Finding("problem", 0, "", f"cannot plan reads: {exc}"))
    for name, fld in m.identify.items():
        clash = by_addr.get((fld.table, fld.address))
        if clash and (clash.type != fld.type or clash.count != fld.count):
            out.append(Finding("problem", clash.line, clash.name,
                               f"identify.{name} reads the same registers as {fld.type} x"
                               f"{fld.count}, the point says {clash.type} x{clash.count}"))
    if rung_index(m.trust) > rung_index("structure-verified"):
        out.append(Finding("note", 0, "", f"the map declares {m.trust}; this check can only "
                                          "confirm structure-verified"))
    return CheckReport(m, tuple(sorted(out, key=lambda f: (f.level != "problem", f.line))))


def _unit_hint(p: Point) -> list[Finding]:
    words = _words_in_name(p.name)
    for hints, expected in NAME_HINTS:
        if words & set(hints):
            got = quantity(p.unit)
            if p.enum is not None or p.bits is not None:
                return []
            if got != expected:
                return [Finding("problem", p.line, p.name,
                                f"the name suggests a {expected} but the unit is "
                                f"{p.unit or 'none'} ({got})")]
            return []
    return []


def _split_pair(p: Point, by_addr: dict) -> list[Finding]:
    """A 16-bit point documented as a high word, followed by its low word: one 32-bit value."""
    if p.count != 1 or p.alias_of is not None:
        return []
    if not re.search(r"(\bH\b|_H$)", p.doc):
        return []
    nxt = by_addr.get((p.table, p.address + 1))
    if nxt is not None and re.search(r"(\bL\b|_L$)", nxt.doc):
        return [Finding("problem", p.line, p.name,
                        f"'{p.doc}' and '{nxt.doc}' look like the halves of one 32-bit value")]
    return []


def _finite(p: Point) -> list[Finding]:
    if p.type in TEXT_TYPES:
        return []
    bad = []
    for fill in (0x0000, 0xFFFF, 0x7FFF, 0x8000):
        try:
            d = decode(p, [fill] * p.count)
        except Exception as exc:  # a decode that raises is exactly what this check looks for
            bad.append(f"decoding {fill:#06x} fails: {exc}")
            continue
        if isinstance(d.value, float) and not math.isfinite(d.value) and p.type != "f32":
            bad.append(f"decoding {fill:#06x} is not finite")
    return [Finding("problem", p.line, p.name, b) for b in bad]


def rung_label(rung: str) -> str:
    return rung if rung in RUNGS else "unknown"
