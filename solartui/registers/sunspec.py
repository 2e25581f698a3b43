"""SunSpec model definitions become solartui's map model at load time.

Why: the SunSpec Alliance publishes every model as JSON (shipped inside the `pysunspec2` package,
`sunspec2/models/json/model_<id>.json`); re-typing them would copy their mistakes and miss their
fixes. Here the JSON is read as data and, once a device's model chain is known (id, address,
length of each model), turned into an ordinary DeviceMap of absolute holding-register Points,
plus a side table (`SunSpecPoint`) with what a plain Point cannot say: the SunSpec type (for its
not-implemented sentinel) and the scale-factor point that scales it. No I/O here.

Point names: `m<id>_<Point>` (`m103_W`, `m123_WMaxLimPct`); inside a group `m<id>_<group>_<Point>`,
a repeating group numbered from 1 (`m160_module2_DCA`); a second instance of one model id
`m<id>x2_...`. ID, L and pad registers are left out of the points (they are in the blocks).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources

from solartui.errors import SolartuiError
from solartui.registers.model import DeviceMap, LinkSpec, Point

MAP_ID = "sunspec"
END_ID = 0xFFFF
MARKER = (0x5375, 0x6E53)          # "SunS"
BASES = (40000, 0, 50000)
PERIOD_MS = 0                      # SunSpec devices take requests back to back (no Growatt gap)
PYSUNSPEC2_RANGE = ">=1.3,<1.4"    # pyproject pin; the JSON shape this module was tested with

# SunSpec type -> (codec type for Point.type, registers); sizes for strings come from the JSON
TYPES = {
    "int16": "s16", "uint16": "u16", "count": "u16", "acc16": "u16", "enum16": "u16",
    "bitfield16": "u16", "sunssf": "s16", "pad": "u16", "int32": "s32", "uint32": "u32",
    "acc32": "u32", "enum32": "u32", "bitfield32": "u32", "ipaddr": "u32", "float32": "f32",
    "string": "ascii", "int64": "ascii", "uint64": "ascii", "acc64": "ascii",
    "float64": "ascii", "ipv6addr": "ascii", "eui48": "ascii",
}
# the codec cannot write these: shown by the SunSpec decoder only, never writable
READ_ONLY_TYPES = {"int64", "uint64", "acc64", "float64", "ipv6addr", "eui48", "string",
                   "pad", "sunssf", "count", "acc16", "acc32", "ipaddr", "float32"}

# Writable controls need a range the gate can hold a value to. Enums carry their own (the
# symbols); these units give one; any other RW point stays guarded ("no range known").
UNIT_RANGES = {"Pct": (0, 100), "% WMax": (0, 100), "Secs": (0, 3600), "cos()": (-1, 1)}
SIGNED_PCT = (-100, 100)


class SunSpecDefsMissing(SolartuiError):
    """pysunspec2's model definitions are not installed."""


@dataclass(frozen=True)
class SunSpecPoint:
    """What a Point cannot say: the SunSpec type and where its scale factor comes from."""

    name: str                   # the Point's name
    sstype: str
    size: int
    sf: str | int | None        # the SF point's (map) name, a fixed exponent, or none
    model: int
    model_name: str


@dataclass(frozen=True)
class ModelHeader:
    """One model found on the device: its id, where it starts (the ID register) and its L."""

    id: int
    address: int
    length: int


@dataclass(frozen=True)
class SunSpecMap:
    device_map: DeviceMap
    points: dict[str, SunSpecPoint]
    models: tuple[ModelHeader, ...]
    base: int
    notes: tuple[str, ...] = ()


# --- the definitions ---------------------------------------------------------------------------

def _json_dir():
    try:
        return resources.files("sunspec2") / "models" / "json"
    except ModuleNotFoundError:
        raise SunSpecDefsMissing("the SunSpec model definitions come from the pysunspec2 "
                                 "package, which is not installed") from None


@lru_cache(maxsize=None)
def model_def(model_id: int) -> dict | None:
    """The model's JSON definition (None: not a model the definitions know, e.g. vendor 64xxx)."""
    f = _json_dir() / f"model_{int(model_id)}.json"
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


@lru_cache(maxsize=1)
def known_models() -> tuple[tuple[int, str, str, int], ...]:
    """(id, name, label, fixed length) of every model the definitions carry, by id."""
    out = []
    for f in _json_dir().iterdir():
        n = f.name
        if n.startswith("model_") and n.endswith(".json") and n[6:-5].isdigit():
            d = model_def(int(n[6:-5]))
            g = d["group"]
            out.append((d["id"], g.get("name", ""), g.get("label", g.get("name", "")),
                        fixed_length(g) - 2))
    return tuple(sorted(out))


def fixed_length(group: dict) -> int:
    """Registers of a group's points and fixed-count subgroups (repeating ones count 0)."""
    n = sum(int(p.get("size", 1)) for p in group.get("points", ()))
    for sub in group.get("groups", ()):
        c = sub.get("count", 1)
        if isinstance(c, int) and c > 0:
            n += c * fixed_length(sub)
    return n


def _one_each_length(group: dict) -> int:
    """fixed_length with one instance of every repeating group (the name map's layout)."""
    n = sum(int(p.get("size", 1)) for p in group.get("points", ()))
    for sub in group.get("groups", ()):
        c = sub.get("count", 1)
        n += (c if isinstance(c, int) and c > 0 else 1) * _one_each_length(sub)
    return n


def model_label(model_id: int) -> str:
    d = model_def(model_id)
    if d is None:
        return f"model {model_id} (not in the SunSpec definitions)"
    return d["group"].get("label") or d["group"].get("name", str(model_id))


# --- building a map ----------------------------------------------------------------------------

def _doc(p: dict, model_id: int) -> str:
    label, desc = p.get("label", p["name"]), p.get("desc", "")
    text = f"{label}: {desc}" if desc and desc != label else label
    return f"[{model_id}] {text}"


def _ranges(p: dict) -> tuple[float, float] | None:
    units = p.get("units", "")
    if units in UNIT_RANGES:
        lo, hi = UNIT_RANGES[units]
        if units in ("Pct", "% WMax") and p["type"].startswith("int"):
            lo, hi = SIGNED_PCT
        return (lo, hi)
    if units.startswith("% ") and p["type"] == "int16":
        return SIGNED_PCT
    return None


class _Builder:
    def __init__(self, prefix: str, model_id: int, label: str, words: dict[int, int] | None,
                 one_each: bool = False):
        self.prefix, self.model_id, self.label = prefix, model_id, label
        self.one_each = one_each            # name map: one instance of every repeating group
        self.words = words or {}            # address -> word, where the body was read
        self.points: list[Point] = []
        self.info: dict[str, SunSpecPoint] = {}
        self.notes: list[str] = []

    def group(self, g: dict, addr: int, end: int, path: str, scopes: list[dict]) -> int:
        """Lay out group `g` from `addr`; return the next free address. `scopes` maps the point
        names visible here (this group's and its parents') to map names, for `sf` lookups."""
        scope: dict[str, str] = {}
        scopes = [scope, *scopes]
        pts = g.get("points", ())
        # names first, so an SF declared after the value (models 121, 123) still resolves
        a = addr
        layout = []
        for p in pts:
            size = int(p.get("size", 1))
            name = f"{self.prefix}{path}_{p['name']}"
            scope[p["name"]] = name
            layout.append((p, a, size, name))
            a += size
        for p, a0, size, name in layout:
            if a0 + size - 1 > end:
                self.notes.append(f"model {self.model_id}: {p['name']} lies past the model's "
                                  "length; not shown")
                return a0
            if path == "" and p["name"] in ("ID", "L") or p["type"] == "pad":
                continue
            self._add(p, a0, size, name, scopes)
        addr = a
        for sub in g.get("groups", ()):
            count = self._count(sub, scopes, addr, end)
            for i in range(count):
                suffix = f"_{sub['name']}{i + 1}" if _repeats(sub) else f"_{sub['name']}"
                addr = self.group(sub, addr, end, path + suffix, scopes)
        return addr

    def _count(self, sub: dict, scopes: list[dict], addr: int, end: int) -> int:
        c = sub.get("count", 1)
        if isinstance(c, int) and c > 0:
            return c
        size = fixed_length(sub)
        room = max(0, (end - addr + 1) // size) if size else 0
        if self.one_each:
            return min(1, room)
        if isinstance(c, str):              # the count is a point's value (N, NCrv, NPt...)
            name = next((s[c] for s in scopes if c in s), None)
            p = next((q for q in self.points if q.name == name), None)
            if p is not None and p.address in self.words and self.words[p.address] != 0xFFFF:
                n = self.words[p.address]
                if n > room:
                    self.notes.append(f"model {self.model_id}: {c} = {n} but only {room} "
                                      f"{sub['name']} groups fit its length; showing {room}")
                return min(n, room)
            self.notes.append(f"model {self.model_id}: {sub['name']} groups counted by {c}, "
                              "which was not read: not shown")
            return 0
        return room                         # count 0: as many as the length holds

    def _add(self, p: dict, address: int, size: int, name: str, scopes) -> None:
        sstype = p["type"]
        sf = p.get("sf")
        if isinstance(sf, str) and not _is_int_text(sf):
            sf = next((s[sf] for s in scopes if sf in s), None)
        elif sf is not None:
            sf = int(sf)
        symbols = {int(s["value"]): s["name"] for s in p.get("symbols", ())}
        enum = symbols if sstype.startswith("enum") and symbols else None
        bits = symbols if sstype.startswith("bitfield") and symbols else None
        access = "rw" if p.get("access") == "RW" else "r"
        rng = None
        guard = False
        if access == "rw":
            rng = None if enum else _ranges(p)
            guard = sstype in READ_ONLY_TYPES or (enum is None and rng is None)
        note = "SunSpec: not-implemented registers read as 'not implemented'"
        if guard:
            note = ("writable in SunSpec, but no range is known to hold a value to: guarded "
                    "(write it with --map and a map file that gives a range)")
        self.points.append(Point(
            table="holding", address=address, type=TYPES.get(sstype, "u16"), count=size,
            name=name, doc=_doc(p, self.model_id), unit=p.get("units", ""),
            group=_group(self.model_id, p, access), access=access, range=rng, enum=enum,
            bits=bits, guard=guard, trust="generated",
            source=f"SunSpec model {self.model_id} ({p['name']})", note=note,
            write_function=16))
        self.info[name] = SunSpecPoint(name, sstype, size, sf, self.model_id, self.label)


_ENERGY_UNITS = ("Wh", "VAh", "varh", "Varh", "Ah")
_GRID_MODELS = set(range(201, 215)) | {220}
_BATTERY_MODELS = {124, 713} | set(range(801, 810))
_SETTINGS_MODELS = {121, 123, 126, 127, 128, 129, 130, 131, 132, 134, 135, 136, 137, 138, 139,
                    140, 141, 142, 143, 144, 145} | set(range(702, 713)) | {715}


def _group(model_id: int, p: dict, access: str) -> str:
    """One of the map model's groups (registers/loader.py GROUPS), from the model and the point."""
    name, units, typ = p["name"], p.get("units", ""), p["type"]
    if model_id in (1, 120):
        return "Identity"
    if typ == "sunssf":
        return "Other"
    if access == "rw" or model_id in _SETTINGS_MODELS:
        return "Settings"
    if model_id in _BATTERY_MODELS:
        return "Battery"
    if name in ("St", "StVnd", "DCSt", "InvSt", "ConnSt", "Alrm") or name.startswith("Evt") \
            or name.endswith("Conn") or typ.startswith("bitfield"):
        return "Status"
    if units in _ENERGY_UNITS or typ.startswith("acc"):
        return "Energy"
    if units == "C":
        return "Temperature"
    if model_id in _GRID_MODELS:
        return "Grid"
    if name.startswith("DC") or model_id in (160, 714):
        return "PV"
    if 101 <= model_id <= 113 or model_id in (122, 701):
        return "AC"
    return "Other"


def _repeats(sub: dict) -> bool:
    c = sub.get("count", 1)
    return not (isinstance(c, int) and c == 1)


def _is_int_text(s: str) -> bool:
    try:
        int(s)
        return True
    except ValueError:
        return False


def build_map(models: list[ModelHeader], base: int, words: dict[int, int] | None = None,
              unit: int = 1, one_each: bool = False) -> SunSpecMap:
    """The DeviceMap for one device's model chain. `words` (address -> word) lets repeating
    groups whose count is a point (N) be laid out; without them they fill the model's length."""
    points: list[Point] = []
    info: dict[str, SunSpecPoint] = {}
    notes: list[str] = []
    seen: dict[int, int] = {}
    blocks = [(base, base + 1)]
    for h in models:
        blocks.append((h.address, h.address + h.length + 1))
        seen[h.id] = seen.get(h.id, 0) + 1
        prefix = f"m{h.id}" + (f"x{seen[h.id]}" if seen[h.id] > 1 else "")
        d = model_def(h.id)
        if d is None:
            notes.append(f"model {h.id} at {h.address} (L {h.length}) is not in the SunSpec "
                         "definitions: skipped")
            continue
        b = _Builder(prefix, h.id, model_label(h.id), words, one_each)
        b.group(d["group"], h.address, h.address + h.length + 1, "", [])
        want = fixed_length(d["group"]) - 2
        if h.length < want:
            notes.append(f"model {h.id}: non-standard length {h.length} (the definition has "
                         f"{want}); decoding what fits")
        points += b.points
        info.update(b.info)
        notes += b.notes
    ids = ",".join(str(h.id) for h in models)
    dm = DeviceMap(
        path="<sunspec>", id=MAP_ID, vendor="SunSpec", name=f"SunSpec device (models {ids})",
        families=("SunSpec",), source={"document": "SunSpec model definitions (pysunspec2)"},
        trust="generated", protocol="modbus",
        link=LinkSpec(unit=unit, units=(1, 247), min_period_ms=PERIOD_MS, timeout_ms=1000,
                      max_read=125, max_write=123, functions=(3, 6, 16)),
        points=tuple(points), blocks={"holding": tuple(blocks)}, identify={})
    return SunSpecMap(dm, info, tuple(models), base, tuple(notes))


@lru_cache(maxsize=1)
def name_map() -> DeviceMap:
    """Every point name a SunSpec device can have, at made-up addresses: what `map: sunspec` in a
    site file (or `--map sunspec` before connecting) is checked against. The device's own map is
    built when it is reached; points are matched by name (`m103_W`), never by address."""
    headers, addr = [], 40002
    for mid, _name, _label, _length in known_models():
        length = _one_each_length(model_def(mid)["group"]) - 2
        headers.append(ModelHeader(mid, addr, length))
        addr += length + 2
        if addr > 60000:                # the name map never meets a wire
            addr = 40002
    sm = build_map(headers, 40000, one_each=True)
    return replace(sm.device_map, name="SunSpec device (any model the definitions know; the "
                   "device's own map is built when it is reached)")
