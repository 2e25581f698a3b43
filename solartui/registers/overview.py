"""Which values a live screen shows first: a map's `overview:` section, or one inferred.

An installer checks the same few things on every device (status and faults in words, PV, grid
voltage, frequency and import/export, battery SOC and power, load, today's energy), and they are
pages apart in a 300-point map. The map names them (it knows its own point names), grouped in
fixed sections, with a short label each, and names the powers whose trend is drawn. A map without
the section still gets one, inferred from groups, units and names, so every new map has an
overview. Clock drift and link health are the app's own and are not in the map.

Works for register maps (points) and command maps (PI30 fields) alike: the caller hands the
parser the named values it may use. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from solartui.registers.suggest import did_you_mean
from solartui.registers.yaml_lines import Findings

#: the sections, in the order shown, and the words they are shown under
SECTIONS = ("status", "faults", "pv", "grid", "battery", "load", "energy")
TITLES = {"status": "Status", "faults": "Faults", "pv": "PV", "grid": "Grid",
          "battery": "Battery", "load": "Load", "energy": "Today"}
OVERVIEW_KEYS = set(SECTIONS) | {"trend"}
ENTRY_KEYS = {"point", "label"}
#: at 80×24 every section must fit on one or two lines and the trends under them
MAX_ENTRIES = 5
MAX_TRENDS = 4
MAX_LABEL = 16


@dataclass(frozen=True)
class OverviewEntry:
    point: str          # a point (register map) or field (command map) name
    label: str          # the words shown before its value ("" = the value alone)


@dataclass(frozen=True)
class Overview:
    sections: tuple[tuple[str, tuple[OverviewEntry, ...]], ...]   # (section, entries), in order
    trend: tuple[OverviewEntry, ...] = ()
    inferred: bool = False        # made from the points, not written in the map

    @property
    def names(self) -> tuple[str, ...]:
        """Every point the overview shows or draws, once each."""
        seen: dict[str, None] = {}
        for _, entries in self.sections:
            for e in entries:
                seen.setdefault(e.point)
        for e in self.trend:
            seen.setdefault(e.point)
        return tuple(seen)

    def section(self, name: str) -> tuple[OverviewEntry, ...]:
        return dict(self.sections).get(name, ())


def is_numeric(value: Any) -> bool:
    """A point or field whose value is a number (a trend can be drawn of it)."""
    typ = getattr(value, "type", "")
    if typ in ("float", "int"):                         # command-map fields
        return True
    return (typ in ("u16", "s16", "u32", "s32", "f32")
            and not getattr(value, "enum", None) and not getattr(value, "bits", None))


def parse_overview(d: Any, f: Findings, line: int, values: dict[str, Any],
                   reason: dict[str, str] | None = None) -> Overview | None:
    """Validate an `overview:` mapping against the map's `values` (name -> point or field).

    `reason` names values that exist but may not be used, with why (a write-only point, a field
    the live screen does not poll). Every problem is a finding naming the line and the entry."""
    if d is None:
        return None
    if not isinstance(d, dict):
        f.add(line, "'overview' must map sections (" + ", ".join(SECTIONS) +
              ", trend) to lists of points")
        return None
    before = len(f.items)
    items = [(n, v.doc if hasattr(v, "doc") else "") for n, v in values.items()]
    reason = reason or {}
    for key in d:
        if key not in OVERVIEW_KEYS:
            ln = getattr(d, "key_lines", {}).get(key, d.line)
            f.add(ln, f"overview: unknown section '{key}' (one of: {', '.join(SECTIONS)}, trend)")
    parsed: dict[str, tuple[OverviewEntry, ...]] = {}
    for key in [*SECTIONS, "trend"]:
        if key not in d:
            continue
        ln = getattr(d, "key_lines", {}).get(key, d.line)
        raw = d[key]
        if not isinstance(raw, list) or not raw:
            f.add(ln, f"overview.{key} must be a non-empty list of point names or "
                      "{point, label}")
            continue
        limit = MAX_TRENDS if key == "trend" else MAX_ENTRIES
        if len(raw) > limit:
            f.add(ln, f"overview.{key} lists {len(raw)} entries; at most {limit} fit the "
                      "first screen at 80×24")
        entries = []
        seen: set[str] = set()
        for item in raw:
            entry = _entry(item, f, ln, key, values, items, reason)
            if entry is None:
                continue
            if entry.point in seen:
                f.add(ln, f"overview.{key}: '{entry.point}' is listed twice")
                continue
            seen.add(entry.point)
            entries.append(entry)
        parsed[key] = tuple(entries)
    if len(f.items) != before:
        return None
    if not any(k in parsed for k in SECTIONS):
        f.add(d.line, "overview: name at least one section (" + ", ".join(SECTIONS) + ")")
        return None
    return Overview(tuple((k, parsed[k]) for k in SECTIONS if k in parsed),
                    parsed.get("trend", ()))


def _entry(item: Any, f: Findings, ln: int, key: str, values: dict[str, Any],
           items: list, reason: dict[str, str]) -> OverviewEntry | None:
    if isinstance(item, str):
        name, label = item, None
    elif isinstance(item, dict):
        ln = getattr(item, "line", ln)
        unknown = [k for k in item if k not in ENTRY_KEYS]
        if unknown:
            f.add(ln, f"overview.{key}: unknown key '{unknown[0]}' (an entry is a point name "
                      "or {point, label})")
            return None
        name, label = item.get("point"), item.get("label")
        if not isinstance(name, str):
            f.add(ln, f"overview.{key}: an entry needs point: a point name")
            return None
        if label is not None and not isinstance(label, str):
            f.add(ln, f"overview.{key}: the label of '{name}' must be text (quote it)")
            return None
    else:
        f.add(ln, f"overview.{key}: an entry is a point name or {{point, label}}, "
                  f"not {item!r}")
        return None
    if label is not None and len(label) > MAX_LABEL:
        f.add(ln, f"overview.{key}: label '{label}' is longer than {MAX_LABEL} characters")
        return None
    if name in reason:
        f.add(ln, f"overview.{key}: '{name}' {reason[name]}")
        return None
    value = values.get(name)
    if value is None:
        f.add(ln, f"overview.{key}: no point '{name}' in this map{did_you_mean(name, items)}")
        return None
    if key == "trend" and not is_numeric(value):
        f.add(ln, f"overview.trend: '{name}' is not a number (an enum, bits or text): no "
                  "trend can be drawn of it")
        return None
    return OverviewEntry(name, label if label is not None else default_label(value))


def default_label(value: Any) -> str:
    """Words for a value with no label: its friendly name without underscores."""
    return getattr(value, "name", "").replace("_", " ")


# --- the overview of a map that has none -----------------------------------------------------

def _has(name: str, *words: str) -> bool:
    return any(w in name for w in words)


def infer_overview(values: Iterable[Any]) -> Overview:
    """An overview from groups, units and names, for a map without an `overview:` section.

    `values`: the readable points (or polled fields) in map order. Guesses, kept small: the
    first enum of the Status group, faults/warnings/alarms by name, the first power and up to two
    voltages of PV, grid voltage, frequency and powers, battery SOC and powers, load power, and
    energies named today/day. Trends: the first power of PV, grid, battery and load."""
    vals = list(values)

    def pick(cond, n: int) -> list:
        return [v for v in vals if cond(v)][:n]

    def group(v) -> str:
        return getattr(v, "group", "")

    def unit(v) -> str:
        return getattr(v, "unit", "")

    def name(v) -> str:
        return v.name.lower()

    status = pick(lambda v: group(v) == "Status" and (getattr(v, "enum", None)
                                                     or name(v) in ("mode", "status")), 2)
    faults = pick(lambda v: getattr(v, "type", "") == "flags"
                  or (group(v) in ("Status", "Battery")
                      and _has(name(v), "fault", "warning", "alarm", "error")), 3)
    if not faults:
        faults = pick(lambda v: _has(name(v), "fault", "warning", "alarm", "error"), 3)
    pv_power = pick(lambda v: group(v) == "PV" and unit(v) in ("W", "kW"), 1)
    pv = pv_power + pick(lambda v: group(v) == "PV" and unit(v) == "V", 2)
    grid_v = pick(lambda v: group(v) in ("Grid", "AC") and unit(v) == "V"
                  and not _has(name(v), "eps", "output", "bus"), 1)
    grid_f = pick(lambda v: group(v) in ("Grid", "AC") and unit(v) == "Hz"
                  and not _has(name(v), "eps", "output"), 1)
    grid_p = pick(lambda v: group(v) == "Grid" and unit(v) in ("W", "kW")
                  and not _has(name(v), "_r", "_s", "_t", "ph2", "ph3"), 2)
    battery = pick(lambda v: group(v) == "Battery" and unit(v) == "%"
                   and _has(name(v), "soc", "capacity"), 1) \
        + pick(lambda v: group(v) == "Battery" and unit(v) in ("W", "kW"), 2)
    if len(battery) < 2:
        battery += pick(lambda v: group(v) == "Battery" and unit(v) in ("V", "A"), 2 - len(battery))
    load = pick(lambda v: unit(v) in ("W", "kW") and _has(name(v), "load")
                and not _has(name(v), "_r", "_s", "_t"), 1)
    energy = pick(lambda v: unit(v) in ("kWh", "Wh") and _has(name(v), "today", "day"), 3)
    sections = (("status", status), ("faults", faults), ("pv", pv),
                ("grid", grid_v + grid_f + grid_p), ("battery", battery), ("load", load),
                ("energy", energy))
    trend = [v for v in (pv_power + grid_p[:1] + [b for b in battery if unit(b) in ("W", "kW")][:1]
                         + load) if is_numeric(v)][:MAX_TRENDS]

    def entries(vs) -> tuple[OverviewEntry, ...]:
        return tuple(OverviewEntry(v.name, default_label(v)) for v in vs)

    return Overview(tuple((k, entries(vs)) for k, vs in sections if vs), entries(trend),
                    inferred=True)


# --- what a map may name, and its overview ------------------------------------------------------

#: command-map roles the live screen polls; an overview entry must be among their fields
POLLED_ROLES = ("live", "settings")


def overview_values(device_map) -> tuple[dict[str, Any], dict[str, str]]:
    """(name -> point or field an overview may show, name -> why another may not)."""
    if hasattr(device_map, "points"):
        usable = {p.name: p for p in device_map.points if p.readable}
        why = {p.name: "is write-only: it has no value to show" for p in device_map.points
               if not p.readable}
        return usable, why
    usable, why = {}, {}
    for c in device_map.commands:
        for fl in c.fields:
            if c.role in POLLED_ROLES:
                usable[fl.name] = fl
            else:
                why[fl.name] = (f"is answered by {c.command} (role {c.role}), which the live "
                                "screen does not poll")
    return usable, why


def overview_for(device_map) -> Overview:
    """The map's own overview, or one inferred from its points."""
    own = getattr(device_map, "overview", None)
    if own is not None:
        return own
    return infer_overview(overview_values(device_map)[0].values())
