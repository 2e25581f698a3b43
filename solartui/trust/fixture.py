"""Verification fixtures: known-true raw values and what they mean, written by hand from the
protocol documents, for `solartui maps verify`.

Why a file of its own, apart from the map: a map checked against numbers derived from itself
proves nothing. A fixture states, from the document, where a value lives (table and address, or
the query whose reply carries it), the raw words or reply text the device would send and the value
in engineering units; the map must decode one into the other through the real code path.

Register maps (Modbus, GivEnergy):

    schema: 1
    map: growatt-protocol-ii
    source: "Growatt Modbus RTU Protocol II V1.24, worked by hand"
    points:
      vpv1: {table: input, address: 3, words: [0x0929], expect: 234.5}
    identify:                            # optional, same shape (identification values)
      serial: {table: holding, address: 23, words: [...], expect: "AB12345678"}
    clock: {table: holding, address: 45, words: [2026, 3, 14, 9, 26, 53], expect: "2026-03-14 09:26:53"}

Command maps (PI30):

    schema: 1
    map: voltronic-pi30
    source: "..."
    commands:
      QPIGS: {response: "230.0 49.9 ...", fields: {ac_input_voltage: 230.0}}
    settings:
      output_source_priority: {expect: SBU, setter: POP02}
    identify: {protocol: PI30}          # optional

Every problem is a line "FILE:LINE: what is wrong" (all of them, like the map loader), raised as
FixtureError; two entries seeding one register differently is such a problem, never a silent
overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from solartui.errors import MapError, SolartuiError
from solartui.registers import catalog
from solartui.registers.command_model import CommandMap
from solartui.registers.model import TABLES, DeviceMap
from solartui.registers.yaml_lines import Findings, is_int, key_line, parse_yaml
from solartui.user_paths import PathRefused, read_text

REGISTER_TOP = {"schema", "map", "source", "points", "identify", "clock"}
COMMAND_TOP = {"schema", "map", "source", "commands", "settings", "identify"}
SEED_KEYS = {"table", "address", "words", "expect", "note"}
COMMAND_KEYS = {"response", "fields", "note"}
SETTING_KEYS = {"expect", "setter", "note"}


class FixtureError(SolartuiError):
    """A fixture file is unusable; carries every finding, the first one is the message."""

    def __init__(self, path: str, findings: list[str]):
        self.path = path
        self.findings = findings
        more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
        super().__init__(f"{findings[0] if findings else 'invalid fixture'}{more}")


@dataclass(frozen=True)
class Seed:
    """Raw words at a place, and what they mean (one point, identification value or clock)."""

    name: str
    table: str
    address: int
    words: tuple[int, ...]
    expect: Any
    line: int = 0


@dataclass(frozen=True)
class FieldExpect:
    """What one field of a seeded reply means; `command` is the query the document puts it in."""

    name: str
    command: str
    expect: Any
    line: int = 0


@dataclass(frozen=True)
class SettingExpect:
    """A setting's value as its read-back shows it, and the setter that writes that value."""

    name: str
    expect: Any
    setter: str | None
    line: int = 0


@dataclass(frozen=True)
class RegisterFixture:
    path: str
    map_id: str
    source: str
    points: dict[str, Seed]
    identify: dict[str, Seed] = field(default_factory=dict)
    clock: Seed | None = None

    @property
    def seeds(self) -> list[Seed]:
        return [*self.points.values(), *self.identify.values(),
                *([self.clock] if self.clock else [])]


@dataclass(frozen=True)
class CommandFixture:
    path: str
    map_id: str
    source: str
    responses: dict[str, str]
    fields: dict[str, FieldExpect]
    settings: dict[str, SettingExpect] = field(default_factory=dict)
    identify: dict[str, Any] = field(default_factory=dict)


Fixture = RegisterFixture | CommandFixture


# --- finding and loading -----------------------------------------------------------------------

def fixtures_dir() -> Path:
    return catalog.maps_dir() / "fixtures"


def fixture_path_for(device_map) -> Path:
    """Where the shipped fixture of a map lives: maps/fixtures/<map id>.yaml."""
    return fixtures_dir() / f"{device_map.id}.yaml"


def shipped_fixtures() -> list[Path]:
    d = fixtures_dir()
    return sorted(d.glob("*.yaml")) if d.is_dir() else []


def load_fixture(path: str | Path) -> Fixture:
    p = Path(path)
    try:
        text = read_text(p)
    except PathRefused as exc:
        raise FixtureError(str(p), [f"{p}: cannot read fixture: {exc}"]) from None
    return parse_fixture(text, str(p))


def parse_fixture(text: str, path: str = "<fixture>") -> Fixture:
    try:
        data, duplicates = parse_yaml(text, path)
    except MapError as exc:     # the YAML reader speaks of maps; the finding names the file
        raise FixtureError(path, exc.findings) from None
    f = Findings(path)
    if not isinstance(data, dict):
        raise FixtureError(path, [f"{path}:1: a fixture is a mapping with schema, map, source "
                                  "and points (or commands)"])
    for ln, key, _ in duplicates:
        f.add(ln, f"duplicate key '{key}'")
    command = "commands" in data or "settings" in data
    allowed = COMMAND_TOP if command else REGISTER_TOP
    for key in data:
        if key not in allowed:
            f.add(key_line(data, key), f"unknown key '{key}' in the fixture")
    if data.get("schema") != 1:
        f.add(key_line(data, "schema"), f"schema {data.get('schema')!r} is not supported (expected 1)")
    for key in ("map", "source"):
        if not isinstance(data.get(key), str) or not data.get(key):
            f.add(key_line(data, key), f"the fixture needs a text '{key}'")
    out = _commands(data, f, path) if command else _registers(data, f, path)
    if f.items:
        raise FixtureError(path, f.items)
    return out


def _registers(data: dict, f: Findings, path: str) -> RegisterFixture:
    points = _seeds(data.get("points"), f, "point", key_line(data, "points"), required=True)
    identify = _seeds(data.get("identify"), f, "identify", key_line(data, "identify"))
    clock = None
    if data.get("clock") is not None:
        clock = _seed("clock", data["clock"], f, "clock", key_line(data, "clock"))
    fx = RegisterFixture(path, str(data.get("map")), str(data.get("source")), points, identify,
                         clock)
    _conflicts(fx.seeds, f)
    return fx


def _seeds(d: Any, f: Findings, what: str, line: int, required: bool = False) -> dict:
    if d is None:
        if required:
            f.add(line, f"the fixture needs '{what}s'")
        return {}
    if not isinstance(d, dict):
        f.add(line, f"'{what}s' must map names to {{table, address, words, expect}}")
        return {}
    out = {}
    for name, entry in d.items():
        seed = _seed(str(name), entry, f, what, key_line(d, name, line))
        if seed is not None:
            out[str(name)] = seed
    return out


def _seed(name: str, d: Any, f: Findings, what: str, line: int) -> Seed | None:
    label = f"{what} {name}" if what != "clock" else "clock"
    if not isinstance(d, dict):
        f.add(line, f"{label}: needs {{table, address, words, expect}}")
        return None
    line = key_line(d, default=line)
    ok = True
    for key in d:
        if key not in SEED_KEYS:
            f.add(key_line(d, key, line), f"{label}: unknown key '{key}'")
            ok = False
    for key in ("table", "address", "words", "expect"):
        if key not in d:
            f.add(line, f"{label}: missing '{key}'")
            ok = False
    if "table" in d and d["table"] not in TABLES:
        f.add(line, f"{label}: table must be input or holding, not {d['table']!r}")
        ok = False
    if "address" in d and not (is_int(d["address"]) and 0 <= d["address"] <= 65535):
        f.add(line, f"{label}: address must be an integer 0-65535")
        ok = False
    words = d.get("words")
    if "words" in d and not (isinstance(words, list) and words
                             and all(is_int(w) and 0 <= w <= 0xFFFF for w in words)):
        f.add(line, f"{label}: words must be a list of register values 0-65535 (0x0929 or 2345)")
        ok = False
    elif is_int(d.get("address")) and isinstance(words, list) and d["address"] + len(words) > 65536:
        f.add(line, f"{label}: the words run past register 65535")
        ok = False
    if "expect" in d and d["expect"] is None:
        f.add(line, f"{label}: 'expect' is empty (say what the words mean)")
        ok = False
    if not ok:
        return None
    return Seed(name, d["table"], d["address"], tuple(words), d["expect"], line)


def _conflicts(seeds: list[Seed], f: Findings) -> None:
    """Two entries over one register must agree on its word: the simulator holds one value."""
    owner: dict[tuple[str, int], tuple[int, Seed]] = {}
    reported: set[tuple[str, str]] = set()
    for s in seeds:
        for i, w in enumerate(s.words):
            key = (s.table, s.address + i)
            prev = owner.get(key)
            if prev is None:
                owner[key] = (w, s)
            elif prev[0] != w and (prev[1].name, s.name) not in reported:
                reported.add((prev[1].name, s.name))
                f.add(s.line, f"{s.name} seeds {s.table} {s.address + i} = 0x{w:04X}, but "
                              f"{prev[1].name} (line {prev[1].line}) seeds it 0x{prev[0]:04X}: "
                              "conflicting seeds")


def _commands(data: dict, f: Findings, path: str) -> CommandFixture:
    responses: dict[str, str] = {}
    fields: dict[str, FieldExpect] = {}
    cmds = data.get("commands")
    if cmds is not None and not isinstance(cmds, dict):
        f.add(key_line(data, "commands"), "'commands' must map a query to {response, fields}")
        cmds = None
    for cmd, entry in (cmds or {}).items():
        ln = key_line(cmds, cmd)
        if not isinstance(entry, dict):
            f.add(ln, f"command {cmd}: needs {{response, fields}}")
            continue
        for key in entry:
            if key not in COMMAND_KEYS:
                f.add(key_line(entry, key, ln), f"command {cmd}: unknown key '{key}'")
        resp = entry.get("response")
        if not isinstance(resp, str):
            f.add(ln, f"command {cmd}: 'response' must be the reply text between '(' and the CRC")
            continue
        if "\r" in resp or "(" in resp[:1]:
            f.add(ln, f"command {cmd}: give the response without '(', CRC and CR")
            continue
        responses[str(cmd)] = resp
        flds = entry.get("fields") or {}
        if not isinstance(flds, dict):
            f.add(ln, f"command {cmd}: 'fields' must map field names to expected values")
            continue
        for name, expect in flds.items():
            fln = key_line(flds, name, ln)
            if expect is None:
                f.add(fln, f"field {name}: the expected value is empty (write \"unknown\" for "
                           "a '-' token)")
                continue
            if str(name) in fields:
                f.add(fln, f"field {name}: expected under both {fields[str(name)].command} "
                           f"and {cmd}")
                continue
            fields[str(name)] = FieldExpect(str(name), str(cmd), expect, fln)
    settings: dict[str, SettingExpect] = {}
    sets = data.get("settings")
    if sets is not None and not isinstance(sets, dict):
        f.add(key_line(data, "settings"), "'settings' must map names to {expect, setter}")
        sets = None
    for name, entry in (sets or {}).items():
        ln = key_line(sets, name)
        if not isinstance(entry, dict):
            f.add(ln, f"setting {name}: needs {{expect, setter}}")
            continue
        for key in entry:
            if key not in SETTING_KEYS:
                f.add(key_line(entry, key, ln), f"setting {name}: unknown key '{key}'")
        if entry.get("expect") is None:
            f.add(ln, f"setting {name}: missing 'expect'")
            continue
        setter = entry.get("setter")
        if setter is not None and not isinstance(setter, str):
            f.add(ln, f"setting {name}: 'setter' must be the command text, e.g. POP02")
            continue
        settings[str(name)] = SettingExpect(str(name), entry["expect"], setter, ln)
    ident = data.get("identify") or {}
    if not isinstance(ident, dict):
        f.add(key_line(data, "identify"), "'identify' must map identification names to values")
        ident = {}
    if not responses:
        f.add(key_line(data, "commands"), "the fixture needs 'commands' with at least one response")
    return CommandFixture(path, str(data.get("map")), str(data.get("source")), responses, fields,
                          settings, dict(ident))


# --- the fixture against its map ---------------------------------------------------------------

def check_against(fx: Fixture, device_map) -> None:
    """Names the map does not have, or a fixture for another map or kind: FixtureError."""
    f = Findings(fx.path)
    if fx.map_id != device_map.id:
        f.add(1, f"this fixture is for map '{fx.map_id}', not '{device_map.id}'")
    if isinstance(device_map, CommandMap) != isinstance(fx, CommandFixture):
        kind = "commands" if isinstance(device_map, CommandMap) else "points"
        f.add(1, f"map '{device_map.id}' needs a fixture with {kind}")
    elif isinstance(fx, RegisterFixture):
        assert isinstance(device_map, DeviceMap)
        for s in fx.points.values():
            if not device_map.has_point(s.name):
                f.add(s.line, f"point {s.name}: not in map {device_map.id}")
        for s in fx.identify.values():
            if s.name not in device_map.identify:
                f.add(s.line, f"identify {s.name}: map {device_map.id} identifies no '{s.name}'")
        if fx.clock is not None and device_map.clock is None:
            f.add(fx.clock.line, f"clock: map {device_map.id} has no clock")
    else:
        names = {fl.name for fl in device_map.fields}
        for fe in fx.fields.values():
            if fe.name not in names:
                f.add(fe.line, f"field {fe.name}: not in map {device_map.id}")
        settings = {s.name for s in device_map.settings}
        for se in fx.settings.values():
            if se.name not in settings:
                f.add(se.line, f"setting {se.name}: not in map {device_map.id}")
        for name in fx.identify:
            if name not in device_map.identify:
                f.add(1, f"identify {name}: map {device_map.id} identifies no '{name}'")
    if f.items:
        raise FixtureError(fx.path, f.items)


def fixture_for(device_map, path: str | Path | None = None) -> Fixture:
    """The fixture named, or the shipped one for this map; checked against the map."""
    p = Path(path) if path is not None else fixture_path_for(device_map)
    if path is None and not p.is_file():
        raise SolartuiError(f"map {device_map.id} has no fixture ({p} does not exist); "
                            "name one with --fixture")
    fx = load_fixture(p)
    check_against(fx, device_map)
    return fx
