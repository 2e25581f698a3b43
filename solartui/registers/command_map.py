"""Load a command map (`protocol: pi30`) from YAML and validate it strictly.

Same rules as the register-map loader (and its helpers): every problem is a finding
"FILE:LINE: point NAME: what is wrong", all are gathered, then one MapError is raised. The model
lives in command_model; its names are re-exported here for callers.
"""

from __future__ import annotations

import re
import string
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from solartui.errors import MapError
from solartui.registers.command_loader import (
    COMMAND_RE, SAMPLE_TIME, _mapping, parse_commands, text_labels,
)
from solartui.registers.command_model import (  # noqa: F401  (re-exported)
    FIELD_TYPES, FLAG_CLASSES, NUMERIC_TYPES, ROLES, Alarm, BitSpec, ClockCommand, Command,
    CommandField, CommandLinkSpec, CommandMap, FlagSpec, IdField, ReadBack, Relation, Rule,
    Setting,
)
from solartui.registers.loader import GROUPS, NAME_RE, _device, _unknown_keys, check_top_level, \
    read_map_text
from solartui.registers import checks_spec, publish_spec
from solartui.registers.model import RUNGS
from solartui.registers.units import UNITS
from solartui.registers.overview import POLLED_ROLES, parse_overview
from solartui.registers.yaml_lines import Findings, is_int, is_num, key_line, parse_yaml

TOP_KEYS = {"schema", "device", "protocol", "link", "identify", "clock", "commands", "settings",
            "overview", "checks", "publish"}
LINK_KEYS = {"baudrates", "parity", "min_period_ms", "timeout_ms", "readback_delay_ms", "usb"}
ID_KEYS = {"command", "index", "strip", "expect"}
CLOCK_KEYS = {"field", "set", "tolerance_s"}
SETTING_KEYS = {"name", "doc", "setter", "setter_from", "setter_enable", "setter_disable",
                "choices", "unit", "range", "step", "values", "special", "depends_on", "variants",
                "allowed_from", "requires", "reads_back", "group", "confirm", "trust", "source",
                "note"}
RELATION_KEYS = {"field", "in", "op", "why"}
RELATION_OPS = ("<", "<=", ">", ">=")
RULE_KEYS = {"range", "step", "values", "special"}
SPEC_RE = re.compile(r"^(0?)(\d*)(?:\.(\d+))?([df])$")
TOKEN_RE = re.compile(r"^\d+(\.\d+)?$")


def load_command_map(path: str | Path) -> CommandMap:
    """Read and validate one command map file; raise MapError listing every problem."""
    return parse_command_map(read_map_text(path), str(path))


def parse_command_map(text: str, path: str = "<map>") -> CommandMap:
    data, duplicates = parse_yaml(text, path)
    f = Findings(path)
    if not isinstance(data, dict):
        raise MapError(path, [f"{path}:1: a map is a mapping with schema, device, link, "
                              "commands and settings"])
    owners: dict[int, Any] = {}
    for key, sub in (("commands", "fields"), ("settings", None)):
        for item in data.get(key) if isinstance(data.get(key), list) else ():
            if not isinstance(item, dict):
                continue
            if sub is None:
                owners[id(item)] = item.get("name")
            elif isinstance(item.get(sub), list):
                owners.update({id(x): x.get("name") for x in item[sub] if isinstance(x, dict)})
    check_top_level(data, duplicates, owners, f, TOP_KEYS,
                    ("schema", "device", "protocol", "link", "commands"), "pi30",
                    "is not a command protocol")
    device = _device(data.get("device"), f)
    trust = device.get("trust", "generated")
    link = _link(data.get("link"), f, data.line)
    identify = _identify(data.get("identify"), f, data.line)
    commands = parse_commands(data.get("commands"), f, trust, data.line)
    fields = {fl.name: fl for c in commands for fl in c.fields}
    clock = _clock(data.get("clock"), f, data.line, fields)
    settings = _settings(data.get("settings"), f, trust, data.line, commands, fields)
    checks = checks_spec.parse_checks(data.get("checks"), f, set(fields), set(identify),
                                      clock is not None, data.line)
    polled = {fl.name: fl for c in commands if c.role in POLLED_ROLES for fl in c.fields}
    overview = parse_overview(
        data.get("overview"), f, key_line(data, "overview"), polled,
        {fl.name: f"is answered by {c.command} (role {c.role}), which the live screen does "
                  "not poll" for c in commands if c.role not in POLLED_ROLES for fl in c.fields})
    publish = publish_spec.parse_publish(
        data.get("publish"), f, key_line(data, "publish"),
        publish_spec.parts_for(SimpleNamespace(commands=commands, settings=settings)))
    if f.items:
        raise MapError(path, f.items)
    return checks_spec.attached(checks, CommandMap(
        path=path, id=device["id"], vendor=device["vendor"], name=device["name"],
        families=tuple(device.get("families", ())), source=dict(device.get("source") or {}),
        trust=trust, link=link, commands=tuple(commands), settings=tuple(settings),
        identify=identify, clock=clock, overview=overview, publish=publish))


def _link(d: Any, f: Findings, line: int) -> CommandLinkSpec:
    if d is None or not _mapping(d, f, line, "link", LINK_KEYS):
        return CommandLinkSpec()
    before = len(f.items)
    bauds = d.get("baudrates", [2400])
    if not (isinstance(bauds, list) and bauds and all(is_int(b) and b > 0 for b in bauds)):
        f.add(d.line, "link: baudrates must be a list of positive integers")
    if d.get("parity", "N") not in ("N", "E", "O"):
        f.add(d.line, "link: parity must be N, E or O")
    for key, lo, hi in (("min_period_ms", 0, 60000), ("timeout_ms", 1, 60000),
                        ("readback_delay_ms", 0, 600000)):
        if key in d and not (is_int(d[key]) and lo <= d[key] <= hi):
            f.add(d.line, f"link: {key} must be an integer {lo}-{hi}")
    usb = None
    if "usb" in d:
        m = re.match(r"^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$", str(d["usb"]))
        if m:
            usb = (int(m.group(1), 16), int(m.group(2), 16))
        else:
            f.add(d.line, "link: usb must be VID:PID in hex, like 0665:5161")
    if len(f.items) != before:
        return CommandLinkSpec()
    return CommandLinkSpec(baudrates=tuple(bauds), parity=d.get("parity", "N"),
                           min_period_ms=d.get("min_period_ms", 0),
                           timeout_ms=d.get("timeout_ms", 3000),
                           readback_delay_ms=d.get("readback_delay_ms", 1000), usb=usb)


def _identify(d: Any, f: Findings, line: int) -> dict[str, IdField]:
    if d is None or not _mapping(d, f, line, "identify", set(d) if isinstance(d, dict) else set()):
        return {}
    out = {}
    for name, spec in d.items():
        if not _mapping(spec, f, d.line, f"identify.{name}", ID_KEYS):
            continue
        ok = isinstance(spec.get("command"), str) and COMMAND_RE.match(spec["command"])
        if not ok:
            f.add(spec.line, f"identify.{name}: command must be the query, like QID")
        index = spec.get("index", 0)
        if not (is_int(index) and 0 <= index <= 255):
            f.add(spec.line, f"identify.{name}: index must be an integer 0-255")
            ok = False
        expect = spec.get("expect", [])
        if not (isinstance(expect, list) and all(isinstance(x, str) for x in expect)):
            f.add(spec.line, f"identify.{name}: expect must be a list of texts")
            ok = False
        if not isinstance(spec.get("strip", ""), str):
            f.add(spec.line, f"identify.{name}: strip must be text")
            ok = False
        if ok:
            out[str(name)] = IdField(spec["command"], index, spec.get("strip", ""), tuple(expect))
    return out


def _clock(d: Any, f: Findings, line: int, fields: dict) -> ClockCommand | None:
    if d is None or not _mapping(d, f, line, "clock", CLOCK_KEYS):
        return None
    fld = fields.get(d.get("field")) if isinstance(d.get("field"), str) else None
    ok = True
    if fld is None or fld.type != "datetime":
        f.add(d.line, f"clock: field must name a datetime field, not {d.get('field')!r}")
        ok = False
    setters = d.get("set")
    if not (isinstance(setters, list) and setters and all(isinstance(s, str) for s in setters)):
        f.add(d.line, "clock: set must list strftime patterns, like DAT%y%m%d%H%M%S")
        ok = False
    else:
        for s in setters:
            if "%" not in s or not COMMAND_RE.match(SAMPLE_TIME.strftime(s)):
                f.add(d.line, f"clock: set pattern {s!r} does not make a command of letters "
                              "and digits")
                ok = False
    tol = d.get("tolerance_s", 2)
    if not (is_num(tol) and tol >= 0):
        f.add(d.line, "clock: tolerance_s must be a number of seconds")
        ok = False
    if not ok:
        return None
    return ClockCommand(fld.command, fld.name, fld.format, tuple(setters), float(tol))


def _pattern(p: Any) -> tuple[str, int, int] | str:
    """(kind d|f, width or 0, decimals) of a setter pattern, or what is wrong with it."""
    if not isinstance(p, str):
        return "must be text"
    try:
        parts = list(string.Formatter().parse(p))
    except ValueError as exc:
        return f"is not a format: {exc}"
    slots = [x for x in parts if x[1] is not None]
    literal = "".join(x[0] for x in parts)
    if len(slots) != 1 or slots[0][1] != "" or slots[0][3] is not None or parts[-1][1] is None:
        return "needs exactly one {:...} at the end, like POP{:02d} or PBFT{:04.1f}"
    m = SPEC_RE.match(slots[0][2] or "")
    if not m or (m.group(4) == "d" and m.group(3)) or not COMMAND_RE.match(literal):
        return "must be letters and digits then {:0Nd} or {:0N.Mf}"
    return m.group(4), int(m.group(2) or 0), int(m.group(3) or 0)


def fill(pattern: str, value: int | float) -> str | None:
    """The command for `value`, or None when the value does not fit the pattern's width."""
    kind, width, _ = _pattern(pattern)
    if value < 0:
        return None
    text = pattern.format(int(value) if kind == "d" else float(value))
    token = text[len(pattern.split("{", 1)[0]):]
    if not TOKEN_RE.match(token) or (width and len(token) != width):
        return None
    return text


def _rule(d: dict, f: Findings, ln: int, label: str, what: str) -> Rule | None:
    before = len(f.items)
    rng, step, values, special = d.get("range"), d.get("step"), d.get("values"), d.get("special")
    if rng is not None and not (isinstance(rng, list) and len(rng) == 2
                                and all(is_num(x) for x in rng) and rng[0] <= rng[1]):
        f.add(ln, f"{what}range must be [min, max] with min <= max", label)
    if step is not None and not (is_num(step) and step > 0 and rng is not None):
        f.add(ln, f"{what}step must be a positive number, with a range", label)
    if values is not None and not (isinstance(values, list) and values
                                   and all(is_num(x) for x in values)):
        f.add(ln, f"{what}values must be a list of numbers", label)
    if special is not None and not (isinstance(special, dict) and all(
            is_num(k) and isinstance(v, str) for k, v in special.items())):
        f.add(ln, f"{what}special must map numbers to labels", label)
    if rng is None and values is None:
        f.add(ln, f"{what}a number setting needs a range or values", label)
    if len(f.items) != before:
        return None
    return Rule(tuple(rng) if rng else None, step, tuple(values) if values else None,
                dict(special or {}))


def _settings(items: Any, f: Findings, trust: str, line: int, commands: list[Command],
              fields: dict[str, CommandField]) -> list[Setting]:
    if items is None:
        return []
    if not isinstance(items, list):
        f.add(line, "'settings' must be a list")
        return []
    out, names = [], {}
    for d in items:
        if not isinstance(d, dict):
            f.add(line, f"a setting must be a mapping, not {type(d).__name__}")
            continue
        s = _setting(d, f, trust, commands, fields)
        if s is None:
            continue
        if s.name in names:
            f.add(s.line, f"duplicate setting name (first at line {names[s.name]})", s.name)
            continue
        names[s.name] = s.line
        out.append(s)
    return [_with_void(s, out) for s in out]


def _specials(s: Setting) -> tuple:
    rules = ([s.rule] if s.rule else []) + list(s.variants.values())
    return tuple(sorted({k for r in rules for k in r.special}))


def _with_void(s: Setting, settings: list[Setting]) -> Setting:
    """A comparison does not apply while the related field holds one of its setting's special
    values (PBDV 00.0 = "when full" is not a voltage to compare with)."""
    if not any(r.op for r in s.requires):
        return s
    requires = []
    for r in s.requires:
        other = next((o for o in settings if o.reads_back.field == r.field), None)
        requires.append(replace(r, void=_specials(other)) if r.op and other else r)
    return replace(s, requires=tuple(requires))


def _setting(d: dict, f: Findings, trust: str, commands: list[Command],
             fields: dict[str, CommandField]) -> Setting | None:
    ln, name = d.line, d.get("name")
    label = name if isinstance(name, str) else f"#{ln}"
    _unknown_keys(d, SETTING_KEYS, f, "setting", label)
    before = len(f.items)
    if not (isinstance(name, str) and NAME_RE.match(name)):
        f.add(ln, "name must be snake_case (a-z, 0-9, _)", label)
    kind = "flag" if {"setter_enable", "setter_disable"} & set(d) else \
        "choice" if "choices" in d else "number"
    common: dict[str, Any] = dict(
        doc=str(d.get("doc", "")), group=d.get("group", "Settings"), trust=d.get("trust", trust),
        confirm=d.get("confirm", False), source=str(d.get("source", "")),
        note=str(d.get("note", "")), line=ln)
    if common["group"] not in GROUPS:
        f.add(ln, f"unknown group {common['group']!r}", label)
    if common["trust"] not in RUNGS:
        f.add(ln, f"unknown trust rung {common['trust']!r}", label)
    if not isinstance(common["confirm"], bool):
        f.add(ln, "confirm must be true or false", label)
    back = _reads_back(d.get("reads_back"), f, ln, label, commands)
    if kind == "flag":
        spec = _flag_setting(d, f, ln, label, back)
    else:
        spec = _value_setting(d, f, ln, label, kind, back, fields)
    requires = _requires(d.get("requires"), f, ln, label, kind, spec, fields, back)
    if len(f.items) != before or spec is None or back is None:
        return None
    return Setting(name=name, kind=kind, reads_back=ReadBack(back.command, back.name),
                   requires=requires, **common, **spec)


def _requires(items: Any, f: Findings, ln: int, label: str, kind: str, spec: dict | None,
              fields: dict[str, CommandField], back) -> tuple[Relation, ...]:
    """`requires: [{field, in: [...], why}, {field, op: "<=", why}]`: what other fields' current
    values allow (checked at plan time against freshly read values)."""
    if items is None:
        return ()
    if not isinstance(items, list) or not items:
        f.add(ln, "requires must be a list of {field, in or op, why}", label)
        return ()
    out = []
    for r in items:
        if not _mapping(r, f, ln, "requires", RELATION_KEYS, label):
            continue
        rl = getattr(r, "line", ln)
        fld = fields.get(r.get("field"))
        why = r.get("why")
        ok = True
        if fld is None:
            f.add(rl, f"requires: field must name a field of the map, not {r.get('field')!r}",
                  label)
            ok = False
        elif back is not None and fld is back:
            f.add(rl, "requires: a setting cannot depend on its own read-back field", label)
            ok = False
        if not (isinstance(why, str) and why.strip()):
            f.add(rl, "requires: why must say, in words, why the device refuses otherwise", label)
            ok = False
        if ("in" in r) == ("op" in r):
            f.add(rl, "requires: give exactly one of in (allowed values of the field) or op "
                      f"({', '.join(RELATION_OPS)})", label)
            continue
        if "in" in r:
            within = r["in"]
            if not (isinstance(within, list) and within):
                f.add(rl, "requires: in must be a non-empty list of the field's values", label)
                continue
            if fld is not None and fld.type == "enum":
                bad = [v for v in within if v not in fld.enum]
                if bad:
                    f.add(rl, f"requires: {bad} are not values of {fld.name} "
                              f"({', '.join(str(k) for k in fld.enum)})", label)
                    ok = False
            if ok:
                out.append(Relation(fld.name, why.strip(), within=tuple(within), line=rl))
            continue
        op = r["op"]
        if op not in RELATION_OPS:
            f.add(rl, f"requires: op must be one of {', '.join(RELATION_OPS)}, not {op!r}", label)
            continue
        unit = (spec or {}).get("unit", "")
        if kind != "number":
            f.add(rl, "requires: op compares numbers; this setting is not a number", label)
            ok = False
        elif fld is not None and (fld.type not in ("float", "int") or fld.unit != unit):
            f.add(rl, f"requires: op compares with {fld.type} '{fld.name}' in "
                      f"{fld.unit or 'no unit'}; the setting is a number in {unit or 'no unit'}",
                  label)
            ok = False
        if ok:
            out.append(Relation(fld.name, why.strip(), op=op, line=rl))
    return tuple(out)


def _reads_back(rb: Any, f: Findings, ln: int, label: str,
                commands: list[Command]) -> CommandField | None:
    if not isinstance(rb, dict) or "command" not in rb or len({"index", "letter"} & set(rb)) != 1:
        f.add(ln, "reads_back must be {command, index} or {command, letter}", label)
        return None
    _unknown_keys(rb, {"command", "index", "letter"}, f, "reads_back", label)
    cmd = next((c for c in commands if c.command == rb["command"]), None)
    if cmd is None:
        f.add(ln, f"reads_back names an unknown command {rb['command']!r}", label)
        return None
    for fl in cmd.fields:
        if ("letter" in rb and fl.type == "flag" and fl.letter == rb["letter"]) or \
                ("index" in rb and fl.type != "flag" and fl.index == rb["index"]):
            return fl
    where = f"letter {rb['letter']!r}" if "letter" in rb else f"index {rb['index']!r}"
    f.add(ln, f"reads_back: {cmd.command} has no field at {where}", label)
    return None


def _flag_setting(d: dict, f: Findings, ln: int, label: str, back) -> dict | None:
    extra = set(d) & {"setter", "setter_from", "choices", "range", "step", "values", "special",
                      "variants", "depends_on", "allowed_from", "unit"}
    if extra:
        f.add(ln, f"an enable/disable setting cannot have {', '.join(sorted(extra))}", label)
    on, off = d.get("setter_enable"), d.get("setter_disable")
    if not all(isinstance(x, str) and COMMAND_RE.match(x) for x in (on, off)):
        f.add(ln, "setter_enable and setter_disable must both be commands, like PEa / PDa", label)
        return None
    if back is not None and back.type != "flag":
        f.add(ln, f"an enable/disable setting reads back from a flag, not {back.type} "
                  f"'{back.name}'", label)
    return dict(setter_enable=on, setter_disable=off, value_type="bool")


def _value_setting(d: dict, f: Findings, ln: int, label: str, kind: str, back,
                   fields: dict[str, CommandField]) -> dict | None:
    pat = _pattern(d.get("setter"))
    if isinstance(pat, str):
        f.add(ln, f"setter {d.get('setter')!r} {pat}", label)
        return None
    vtype = "int" if pat[0] == "d" else "float"
    setter_from = []
    for threshold, p in (d.get("setter_from") or {}).items():
        other = _pattern(p)
        if not is_num(threshold) or isinstance(other, str) or other[0] != pat[0]:
            f.add(ln, f"setter_from: {threshold!r}: {p!r} must be a pattern of the same "
                      "kind as setter", label)
        else:
            setter_from.append((threshold, p))
    out: dict[str, Any] = dict(setter=d["setter"], setter_from=tuple(sorted(setter_from)),
                               value_type=vtype, unit=d.get("unit", ""))
    if out["unit"] not in UNITS:
        f.add(ln, f"unknown unit {out['unit']!r}", label)
    rule_keys = RULE_KEYS & set(d)
    if kind == "choice":
        choices = text_labels(d["choices"], f, ln, "choices", label)
        if choices and (vtype != "int" or not all(is_int(k) for k in choices)):
            f.add(ln, "choices need integer keys and an integer setter ({:0Nd})", label)
            return None
        if rule_keys or "variants" in d:
            f.add(ln, "a choice setting has no range, values or variants", label)
        out["choices"] = choices
        candidates = list(choices or ())
        if back is not None:
            if back.type == "enum" and choices and not set(choices) <= set(back.enum):
                f.add(ln, f"choices {sorted(set(choices) - set(back.enum))} do not appear in "
                          f"the read-back field '{back.name}'", label)
            elif back.type not in ("enum", "int"):
                f.add(ln, f"reads back from {back.type} '{back.name}', not a number", label)
    else:
        rules: list[Rule | None] = []
        if "variants" in d or "depends_on" in d:
            dep = fields.get(d.get("depends_on"))
            if dep is None or dep.type not in ("float", "int"):
                f.add(ln, f"depends_on must name a number field, not {d.get('depends_on')!r}",
                      label)
            if rule_keys:
                f.add(ln, "give either variants or range/values, not both", label)
            variants = d.get("variants")
            if not isinstance(variants, dict) or not variants:
                f.add(ln, "variants must map values of depends_on to {range, step, values, "
                          "special}", label)
                return None
            vs = {}
            for key, spec in variants.items():
                if not is_num(key) or not _mapping(spec, f, ln, f"variants.{key}", RULE_KEYS,
                                                    label):
                    f.add(ln, f"variants: {key!r} must be a number with a mapping", label)
                    continue
                rules.append(_rule(spec, f, ln, label, f"variants.{key}: "))
                vs[key] = rules[-1]
            out.update(depends_on=d.get("depends_on"), variants=vs)
        else:
            rules.append(_rule(d, f, ln, label, ""))
            out["rule"] = rules[-1]
        if "allowed_from" in d:
            src = fields.get(d["allowed_from"])
            if src is None or src.type != "list":
                f.add(ln, f"allowed_from must name a list field, not {d['allowed_from']!r}",
                      label)
            out["allowed_from"] = d["allowed_from"]
        candidates = []
        for r in rules:
            if r is not None:
                candidates += list(r.values or ()) + list(r.range or ()) + list(r.special)
                if vtype == "int" and not all(is_int(x) for x in candidates + [r.step or 1]):
                    f.add(ln, "an integer setter needs integer ranges, steps and values", label)
        if back is not None and (back.type not in ("float", "int") or back.unit != out["unit"]):
            f.add(ln, f"reads back from {back.type} '{back.name}' in {back.unit or 'no unit'}; "
                      f"the setting is a number in {out['unit'] or 'no unit'}", label)
    setting = Setting(name="x", kind=kind, reads_back=ReadBack("", ""), **out)
    for value in candidates:
        if fill(setting.pattern_for(value), value) is None:
            f.add(ln, f"setter {setting.pattern_for(value)!r} cannot write {value!r} in its "
                      "width", label)
    return out
