"""Load a register map from YAML and validate it strictly.

Every problem becomes a finding "FILE:LINE: point NAME: what is wrong"; all findings are gathered
before a MapError is raised, so a person fixes the file in one pass. Nothing here raises anything
else at a caller, whatever the file holds.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from solartui.errors import MapError
from solartui.registers.model import (
    INTEGER_TYPES, RUNGS, TABLES, TEXT_TYPES, TYPE_WIDTH, ClockSpec, DeviceMap, Field, LinkSpec,
    Point,
)
from solartui.registers.clock_words import fields_problem, is_packed
from solartui.registers.identify_spec import parse_models, parse_probe
from solartui.registers.overview import parse_overview
from solartui.registers import publish_spec
from solartui.registers.units import UNITS
from solartui.registers import checks_spec
from solartui.registers.yaml_lines import Findings, is_int, is_num, key_line, parse_yaml
from solartui.registers.yaml_lines import unknown_keys as _unknown_keys
from solartui.user_paths import PathRefused, read_text

GROUPS = ("Status", "PV", "AC", "Grid", "Battery", "Energy", "Temperature", "Identity",
          "Settings", "Clock", "Other")

# register maps: plain Modbus (RTU/TCP), or Modbus inside GivEnergy's TCP 8899 envelope
REGISTER_PROTOCOLS = ("modbus", "givenergy")
TOP_KEYS = {"schema", "device", "protocol", "link", "blocks", "holes", "identify", "clock",
            "points", "overview", "checks", "publish"}
DEVICE_KEYS = {"id", "vendor", "name", "families", "source", "trust"}
LINK_KEYS = {"baudrates", "parity", "unit", "units", "min_period_ms", "timeout_ms", "max_read",
             "max_write", "functions"}
FIELD_KEYS = {"table", "address", "type", "count", "words", "scale"}
CLOCK_KEYS = {"table", "address", "fields", "year", "function"}
POINT_KEYS = {"name", "doc", "table", "address", "type", "count", "words", "scale", "offset", "unit",
              "group", "access", "range", "step", "enum", "bits", "special", "write", "guard",
              "trust", "source", "note", "alias_of"}
POINT_REQUIRED = ("name", "doc", "table", "address", "type")
WRITE_KEYS = {"function", "delay_ms"}
RAW_LIMITS = {"u16": (0, 0xFFFF), "s16": (-0x8000, 0x7FFF), "u32": (0, 0xFFFFFFFF),
              "s32": (-0x80000000, 0x7FFFFFFF), "hhmm": (0, 0xFFFF),
              "hhmm_dec": (0, 0xFFFF)}
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def read_map_text(path: str | Path) -> str:
    """A map file's text; an unreadable file is a MapError like any other finding."""
    p = Path(path)
    try:
        return read_text(p)
    except PathRefused as exc:
        raise MapError(str(p), [f"{p}: cannot read map: {exc}"]) from None


def load_map(path: str | Path) -> DeviceMap:
    """Read and validate one map file; raise MapError listing every problem."""
    return parse_map(read_map_text(path), str(path))


def check_top_level(data: dict, duplicates, owners: dict, f: Findings, top_keys: set,
                    required: tuple[str, ...], protocol: str | tuple[str, ...],
                    wrong_protocol: str) -> None:
    """What every map file must get right at the top: no duplicate or unknown keys, the
    required sections, schema 1 and its protocol (shared by register and command maps)."""
    for ln, key, mapping in duplicates:
        owner = owners.get(id(mapping))
        f.add(ln, f"duplicate key '{key}'", owner if isinstance(owner, str) else None)
    _unknown_keys(data, top_keys, f, "the map")
    for key in required:
        if data.get(key) is None:
            f.add(data.line, f"missing '{key}'")
    if data.get("schema") is not None and data["schema"] != 1:
        f.add(data.line, f"schema {data['schema']!r} is not supported (expected 1)")
    allowed = (protocol,) if isinstance(protocol, str) else protocol
    if data.get("protocol") is not None and data["protocol"] not in allowed:
        f.add(data.line, f"protocol {data['protocol']!r} {wrong_protocol} "
                         f"(expected {' or '.join(allowed)})")


def parse_map(text: str, path: str = "<map>") -> DeviceMap:
    data, duplicates = parse_yaml(text, path)
    f = Findings(path)
    if not isinstance(data, dict):
        raise MapError(path, [f"{path}:1: a map is a mapping with schema, device, link and points"])
    owners = {id(p): p.get("name") for p in data.get("points") or () if isinstance(p, dict)} \
        if isinstance(data.get("points"), list) else {}
    check_top_level(data, duplicates, owners, f, TOP_KEYS,
                    ("schema", "device", "protocol", "link", "points"), REGISTER_PROTOCOLS,
                    "is not supported")

    device = _device(data.get("device"), f)
    link = _link(data.get("link"), f, data.line)
    blocks = _ranges_by_table(data.get("blocks"), f, "blocks", data.line)
    holes = _ranges_by_table(data.get("holes"), f, "holes", data.line)
    identify = _identify(data.get("identify"), f, data.line)
    models = parse_models(data.get("identify"), identify, f)
    probe = parse_probe(data.get("identify"), identify, f)
    clock = _clock(data.get("clock"), f, data.line)
    points = _points(data.get("points"), f, device.get("trust", "generated"), data.line, blocks)
    checks = checks_spec.parse_checks(data.get("checks"), f, {p.name for p in points},
                                      set(identify), clock is not None, data.line)
    overview = parse_overview(
        data.get("overview"), f, key_line(data, "overview"),
        {p.name: p for p in points if p.readable},
        {p.name: "is write-only: it has no value to show" for p in points if not p.readable})
    publish = publish_spec.parse_publish(
        data.get("publish"), f, key_line(data, "publish"),
        publish_spec.parts_for(SimpleNamespace(points=points)))
    if f.items:
        raise MapError(path, f.items)
    return checks_spec.attached(checks, DeviceMap(
        path=path, id=device["id"], vendor=device["vendor"], name=device["name"],
        families=tuple(device.get("families", ())), source=dict(device.get("source") or {}),
        trust=device.get("trust", "generated"), protocol=data["protocol"], link=link,
        points=tuple(points), blocks=blocks, holes=holes, identify=identify, clock=clock,
        overview=overview, publish=publish, probe=probe, models=models))


def _device(d: Any, f: Findings) -> dict:
    if not isinstance(d, dict):
        if d is not None:
            f.add(0, "'device' must be a mapping")
        return {}
    _unknown_keys(d, DEVICE_KEYS, f, "device")
    for key in ("id", "vendor", "name"):
        if not isinstance(d.get(key), str) or not d.get(key):
            f.add(d.line, f"device needs a text '{key}'")
    if isinstance(d.get("id"), str) and not ID_RE.match(d["id"]):
        f.add(d.line, f"device id '{d['id']}' must be lower-case letters, digits and '-'")
    if "families" in d and not (isinstance(d["families"], list)
                                and all(isinstance(x, str) for x in d["families"])):
        f.add(d.line, "device families must be a list of names")
    if "source" in d and not isinstance(d["source"], dict):
        f.add(d.line, "device source must be a mapping {document, version}")
    if d.get("trust", "generated") not in RUNGS:
        f.add(d.line, f"unknown trust rung '{d.get('trust')}' (one of: {', '.join(RUNGS)})")
    return d


def _link(d: Any, f: Findings, line: int) -> LinkSpec:
    if not isinstance(d, dict):
        if d is not None:
            f.add(line, "'link' must be a mapping")
        return LinkSpec()
    _unknown_keys(d, LINK_KEYS, f, "link")
    ok = True

    def want(cond: bool, msg: str):
        nonlocal ok
        if not cond:
            f.add(d.line, f"link: {msg}")
            ok = False

    bauds = d.get("baudrates", [9600])
    want(isinstance(bauds, list) and bauds and all(is_int(b) and b > 0 for b in bauds),
         "baudrates must be a list of positive integers")
    want(d.get("parity", "N") in ("N", "E", "O"), "parity must be N, E or O")
    units = d.get("units", [1, 247])
    want(isinstance(units, list) and len(units) == 2 and all(is_int(u) for u in units)
         and 0 <= units[0] <= units[1] <= 255, "units must be [lowest, highest] within 0-255")
    unit = d.get("unit", 1)
    want(is_int(unit) and 0 <= unit <= 255, "unit must be an integer 0-255")
    for key, default, lo, hi in (("min_period_ms", 0, 0, 60000), ("timeout_ms", 1000, 1, 60000),
                                 ("max_read", 125, 1, 125), ("max_write", 123, 1, 123)):
        v = d.get(key, default)
        want(is_int(v) and lo <= v <= hi, f"{key} must be an integer {lo}-{hi}")
    fns = d.get("functions", [3, 4, 6, 16])
    want(isinstance(fns, list) and all(is_int(x) and x in (3, 4, 6, 16) for x in fns),
         "functions must be a list drawn from 3, 4, 6, 16")
    if not ok:
        return LinkSpec()
    return LinkSpec(baudrates=tuple(bauds), parity=d.get("parity", "N"), unit=unit,
                    units=(units[0], units[1]), min_period_ms=d.get("min_period_ms", 0),
                    timeout_ms=d.get("timeout_ms", 1000), max_read=d.get("max_read", 125),
                    max_write=d.get("max_write", 123), functions=tuple(fns))


def _ranges_by_table(d: Any, f: Findings, what: str, line: int) -> dict:
    if d is None:
        return {}
    if not isinstance(d, dict):
        f.add(line, f"'{what}' must map a table to a list of [first, last]")
        return {}
    out = {}
    for table, ranges in d.items():
        if table not in TABLES:
            f.add(d.line, f"{what}: unknown table '{table}' (input or holding)")
            continue
        good = isinstance(ranges, list) and all(
            isinstance(r, list) and len(r) == 2 and all(is_int(x) for x in r)
            and 0 <= r[0] <= r[1] <= 65535 for r in ranges)
        if not good:
            f.add(d.line, f"{what}.{table} must be a list of [first, last] addresses 0-65535")
            continue
        spans = sorted((r[0], r[1]) for r in ranges)
        for a, b in zip(spans, spans[1:]):
            if b[0] <= a[1]:
                f.add(d.line, f"{what}.{table}: {list(a)} and {list(b)} overlap")
        out[table] = tuple(spans)
    return out


def _field(d: Any, f: Findings, what: str, line: int, point: str | None = None) -> dict | None:
    """Check table/address/type/count/words/scale common to identify fields and points."""
    if not isinstance(d, dict):
        f.add(line, f"{what} must be a mapping", point)
        return None
    ln = d.line
    ok = True
    if d.get("table") not in TABLES:
        f.add(ln, f"table must be input or holding, not {d.get('table')!r}", point)
        ok = False
    addr = d.get("address")
    if not (is_int(addr) and 0 <= addr <= 65535):
        f.add(ln, f"address must be an integer 0-65535, not {addr!r}", point)
        ok = False
    typ = d.get("type")
    if not isinstance(typ, str) or typ not in TYPE_WIDTH:
        f.add(ln, f"unknown type {typ!r} (one of: {', '.join(TYPE_WIDTH)})", point)
        return None
    count = d.get("count")
    if typ == "ascii":
        if not (is_int(count) and 1 <= count <= 125):
            f.add(ln, "type ascii needs count: number of registers (1-125)", point)
            ok = False
    elif count is not None and count != TYPE_WIDTH[typ]:
        f.add(ln, f"type {typ} is {TYPE_WIDTH[typ]} register(s) wide, but count is {count}", point)
        ok = False
    words = d.get("words", "big")
    if words not in ("big", "little"):
        f.add(ln, f"words must be big or little, not {words!r}", point)
        ok = False
    elif "words" in d and TYPE_WIDTH[typ] != 2:
        f.add(ln, f"words (word order) only applies to 32-bit types, not {typ}", point)
        ok = False
    scale = d.get("scale", 1)
    if not (is_num(scale) and scale != 0):
        f.add(ln, f"scale must be a non-zero number, not {scale!r}", point)
        ok = False
    elif scale != 1 and typ in TEXT_TYPES:
        f.add(ln, f"type {typ} cannot have a scale", point)
        ok = False
    width = count if typ == "ascii" else TYPE_WIDTH[typ]
    if ok and addr + width - 1 > 65535:
        f.add(ln, "registers run past address 65535", point)
        ok = False
    if not ok:
        return None
    return dict(table=d["table"], address=addr, type=typ, count=width, words=words,
                scale=float(scale) if isinstance(scale, float) else scale)


def _identify(d: Any, f: Findings, line: int) -> dict[str, Field]:
    if d is None:
        return {}
    if not isinstance(d, dict):
        f.add(line, "'identify' must map names to fields")
        return {}
    out = {}
    for name, spec in d.items():
        if name == "probe":             # the identification hint, not a field (_probe)
            continue
        if isinstance(spec, dict):
            _unknown_keys(spec, FIELD_KEYS | {"models"}, f, f"identify.{name}")
        got = _field(spec, f, f"identify.{name}", d.line)
        if got:
            out[str(name)] = Field(**got)
    return out


def _clock(d: Any, f: Findings, line: int) -> ClockSpec | None:
    if d is None:
        return None
    if not isinstance(d, dict):
        f.add(line, "'clock' must be a mapping")
        return None
    _unknown_keys(d, CLOCK_KEYS, f, "clock")
    ok = True
    if d.get("table") != "holding":
        f.add(d.line, "clock: table must be holding (the clock is written)")
        ok = False
    if not (is_int(d.get("address")) and 0 <= d["address"] <= 65530):
        f.add(d.line, "clock: address must be an integer")
        ok = False
    fields = d.get("fields")
    problem = fields_problem(fields)
    if problem:
        f.add(d.line, f"clock: {problem}")
        ok = False
    elif is_packed(fields) and d.get("year", "auto") == "full":
        f.add(d.line, "clock: a packed year holds one byte: year must be offset2000 or auto")
        ok = False
    if d.get("year", "auto") not in ("full", "offset2000", "auto"):
        f.add(d.line, "clock: year must be full, offset2000 or auto")
        ok = False
    if d.get("function", 16) not in (6, 16):
        f.add(d.line, "clock: function must be 6 or 16")
        ok = False
    if not ok:
        return None
    return ClockSpec(table="holding", address=d["address"], fields=tuple(fields),
                     year=d.get("year", "auto"), function=d.get("function", 16))


def _labels(v: Any, f: Findings, ln: int, key: str, name: str, lo: int, hi: int) -> dict | None:
    if not isinstance(v, dict) or not v:
        f.add(ln, f"{key} must map integers to labels", name)
        return None
    out = {}
    for k, label in v.items():
        if not is_int(k) or not lo <= k <= hi:
            f.add(ln, f"{key}: {k!r} is not an integer in {lo}-{hi}", name)
            return None
        if not isinstance(label, (str, int, float)) or isinstance(label, bool):
            f.add(ln, f"{key}: the label for {k} must be text (quote yes/no/on/off)", name)
            return None
        out[k] = str(label)
    return out


def _points(items: Any, f: Findings, default_trust: str, line: int, blocks: dict) -> list[Point]:
    if items is None:
        return []
    if not isinstance(items, list):
        f.add(line, "'points' must be a list (an empty list describes a device with no known points)")
        return []
    points: list[Point] = []
    names: dict[str, int] = {}
    for item in items:
        if not isinstance(item, dict):
            f.add(line, f"a point must be a mapping, not {type(item).__name__}")
            continue
        pt = _point(item, f, default_trust, blocks)
        if pt is None:
            continue
        if pt.name in names:
            f.add(pt.line, f"duplicate name (first at line {names[pt.name]})", pt.name)
            continue
        names[pt.name] = pt.line
        points.append(pt)
    _check_aliases_and_overlaps(points, f)
    return points


def _point(d: dict, f: Findings, default_trust: str, blocks: dict) -> Point | None:
    ln = d.line
    name = d.get("name")
    label = name if isinstance(name, str) else f"#{ln}"
    _unknown_keys(d, POINT_KEYS, f, "point", label)
    missing = [k for k in POINT_REQUIRED if k not in d]
    if missing:
        f.add(ln, f"missing field(s): {', '.join(missing)}", label)
        return None
    before = len(f.items)
    if not (isinstance(name, str) and NAME_RE.match(name)):
        f.add(ln, "name must be snake_case (a-z, 0-9, _)", label)
    if not isinstance(d["doc"], str) or not d["doc"]:
        f.add(ln, "doc must be the document's name for the point", label)
    base = _field(d, f, "point", ln, label)
    if base is None:
        return None
    typ, scale = base["type"], base["scale"]
    unit = d.get("unit", "")
    if not isinstance(unit, str) or unit not in UNITS:
        f.add(ln, f"unknown unit {unit!r} (one of: {', '.join(u for u in UNITS if u)})", label)
    group = d.get("group", "Other")
    if group not in GROUPS:
        f.add(ln, f"unknown group {group!r} (one of: {', '.join(GROUPS)})", label)
    access = d.get("access", "r")
    if access not in ("r", "rw", "w"):
        f.add(ln, f"access must be r, rw or w, not {access!r}", label)
    trust = d.get("trust", default_trust)
    if trust not in RUNGS:
        f.add(ln, f"unknown trust rung {trust!r}", label)
    for key in ("source", "note", "alias_of"):
        if key in d and not isinstance(d[key], str):
            f.add(ln, f"{key} must be text", label)
    guard = d.get("guard", False)
    if not isinstance(guard, bool):
        f.add(ln, "guard must be true or false", label)

    integer_type = typ in INTEGER_TYPES
    limits = RAW_LIMITS.get(typ, (0, 0))
    offset = d.get("offset", 0)
    if offset != 0 and not (is_int(offset) and integer_type and typ not in ("hhmm", "hhmm_dec")
                            and not {"enum", "bits", "special"} & set(d)):
        f.add(ln, "offset must be a whole number of raw units, on a numeric integer type "
                  "without enum, bits or special", label)
        offset = 0
    enum = bits = special = None
    if "enum" in d:
        if not integer_type or scale != 1:
            f.add(ln, f"enum needs an integer type with scale 1 (this is {typ}, scale {scale})",
                  label)
        else:
            enum = _labels(d["enum"], f, ln, "enum", label, *limits)
    if "bits" in d:
        if typ not in ("u16", "u32"):
            f.add(ln, f"bits need an unsigned integer type, not {typ}", label)
        else:
            bits = _labels(d["bits"], f, ln, "bits", label, 0, 16 * base["count"] - 1)
    if "special" in d:
        if not integer_type:
            f.add(ln, f"special values need an integer type, not {typ}", label)
        else:
            special = _labels(d["special"], f, ln, "special", label, *limits)

    rng = None
    if "range" in d:
        r = d["range"]
        if not (isinstance(r, list) and len(r) == 2 and all(is_num(x) for x in r) and r[0] <= r[1]):
            f.add(ln, "range must be [min, max] with min <= max", label)
        elif typ in TEXT_TYPES:
            f.add(ln, f"range does not apply to type {typ}", label)
        else:
            rng = (r[0], r[1])
            if integer_type:
                try:
                    raw_lo, raw_hi = (round(r[0] / scale) + offset,
                                      round(r[1] / scale) + offset)
                except OverflowError:       # beyond any float once scaled: cannot fit
                    raw_lo, raw_hi = -math.inf, math.inf
                if scale < 0:
                    raw_lo, raw_hi = raw_hi, raw_lo
                if raw_lo < limits[0] or raw_hi > limits[1]:
                    f.add(ln, f"range {r} does not fit type {typ} at scale {scale} "
                              f"(raw {raw_lo}..{raw_hi}, type holds {limits[0]}..{limits[1]})",
                          label)
    step = d.get("step")
    if step is not None and not (is_num(step) and step > 0):
        f.add(ln, "step must be a positive number", label)

    write_fn, delay = None, 1000
    if "write" in d:
        w = d["write"]
        if not isinstance(w, dict):
            f.add(ln, "write must be a mapping {function, delay_ms}", label)
        else:
            _unknown_keys(w, WRITE_KEYS, f, "write", label)
            write_fn = w.get("function")
            if write_fn not in (6, 16, None):
                f.add(ln, "write.function must be 6 or 16", label)
            elif write_fn == 6 and base["count"] != 1:
                f.add(ln, "write.function 6 writes one register; this point has "
                          f"{base['count']}", label)
            delay = w.get("delay_ms", 1000)
            if not (is_int(delay) and 0 <= delay <= 600000):
                f.add(ln, "write.delay_ms must be an integer 0-600000", label)
    if access in ("rw", "w") and not guard and typ not in TEXT_TYPES and bits is None \
            and rng is None and enum is None:
        f.add(ln, "a writable point needs a range or an enum (or guard: true)", label)
    if blocks.get(base["table"]):
        if not any(a <= base["address"] and base["address"] + base["count"] - 1 <= b
                   for a, b in blocks[base["table"]]):
            f.add(ln, f"registers {base['address']}-{base['address'] + base['count'] - 1} "
                      f"are not inside one declared {base['table']} block", label)
    if len(f.items) != before:
        return None
    return Point(**base, name=name, doc=d["doc"], unit=unit, offset=offset, group=group,
                 access=access,
                 range=rng, step=step, enum=enum, bits=bits, special=special,
                 write_function=write_fn, readback_delay_ms=delay, guard=guard, trust=trust,
                 source=d.get("source", ""), note=d.get("note", ""),
                 alias_of=d.get("alias_of"), line=ln)


def _check_aliases_and_overlaps(points: list[Point], f: Findings) -> None:
    by_name = {p.name: p for p in points}
    for p in points:
        if p.alias_of is None:
            continue
        other = by_name.get(p.alias_of)
        if other is None:
            f.add(p.line, f"alias_of names an unknown point '{p.alias_of}'", p.name)
        elif other.alias_of is not None:
            f.add(p.line, f"alias_of must name a primary point; '{other.name}' is an alias", p.name)
        elif other.table != p.table:
            f.add(p.line, f"alias_of '{other.name}' is in another table", p.name)
    for table in TABLES:
        spans = sorted(((p.address, p.end, p) for p in points
                        if p.table == table and p.alias_of is None), key=lambda s: s[:2])
        reach: Point | None = None       # the earlier point that reaches furthest
        for a0, a1, pa in spans:
            if reach is not None and a0 <= reach.end:
                f.add(pa.line, f"{table} registers {a0}-{a1} overlap point '{reach.name}' "
                               f"({reach.address}-{reach.end}, line {reach.line})", pa.name)
            if reach is None or a1 > reach.end:
                reach = pa
