"""The `commands:` section of a command map: each query and the fields of its reply.

Part of the command-map loader (command_map); findings follow the register-map loader's rules.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from solartui.registers.command_model import (
    FIELD_TYPES, FLAG_CLASSES, ROLES, BitSpec, Command, CommandField, FlagSpec,
)
from solartui.registers.loader import GROUPS, NAME_RE, _unknown_keys
from solartui.registers.model import RUNGS
from solartui.registers.yaml_lines import Findings, is_int, is_num
from solartui.registers.units import UNITS

COMMAND_KEYS = {"command", "doc", "role", "optional", "timeout_ms", "note", "fields"}
FIELD_KEYS = {"name", "index", "type", "doc", "unit", "scale", "group", "enum", "bits",
              "first_bit", "last_bit", "flags", "fault_with", "letter", "format", "strip", "trust", "source",
              "note"}
TYPE_KEYS = {"float": {"unit", "scale"}, "int": {"unit", "scale"}, "list": {"unit", "scale"},
             "enum": {"enum"}, "bits": {"bits", "first_bit", "last_bit"}, "flags": {"flags", "fault_with"},
             "flag": {"letter"}, "datetime": {"format"}, "text": {"strip"}}
COMMAND_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
SAMPLE_TIME = datetime(2025, 12, 31, 23, 59, 58)


def _mapping(d: Any, f: Findings, line: int, what: str, keys: set, point=None) -> bool:
    if not isinstance(d, dict):
        f.add(line, f"{what} must be a mapping", point)
        return False
    _unknown_keys(d, keys, f, what, point)
    return True


def parse_commands(items: Any, f: Findings, trust: str, line: int) -> list[Command]:
    if items is None:
        return []
    if not isinstance(items, list):
        f.add(line, "'commands' must be a list")
        return []
    out: list[Command] = []
    seen: dict[str, int] = {}
    names: dict[str, int] = {}
    for c in items:
        if not _mapping(c, f, line, "a command", COMMAND_KEYS):
            continue
        cmd = c.get("command")
        if not (isinstance(cmd, str) and COMMAND_RE.match(cmd)):
            f.add(c.line, f"command must be the query in letters and digits, not {cmd!r}")
            continue
        if cmd in seen:
            f.add(c.line, f"command {cmd} is declared twice (first at line {seen[cmd]})")
            continue
        seen[cmd] = c.line
        role = c.get("role", "info")
        if role not in ROLES:
            f.add(c.line, f"command {cmd}: role must be one of {', '.join(ROLES)}")
        if not isinstance(c.get("optional", False), bool):
            f.add(c.line, f"command {cmd}: optional must be true or false")
        tmo = c.get("timeout_ms")
        if tmo is not None and not (is_int(tmo) and 1 <= tmo <= 60000):
            f.add(c.line, f"command {cmd}: timeout_ms must be an integer 1-60000")
        raw = c.get("fields")
        if not isinstance(raw, list) or not raw:
            f.add(c.line, f"command {cmd}: fields must be a non-empty list")
            continue
        fields = []
        taken: dict[Any, str] = {}
        for item in raw:
            fl = _field(item, f, cmd, trust, c.line)
            if fl is None:
                continue
            if fl.name in names:
                f.add(fl.line, f"duplicate name (first at line {names[fl.name]})", fl.name)
                continue
            names[fl.name] = fl.line
            slot = ("letter", fl.letter) if fl.type == "flag" else fl.index
            if slot in taken:
                what = f"letter {fl.letter}" if fl.type == "flag" else f"index {fl.index}"
                f.add(fl.line, f"{cmd} {what} is already field '{taken[slot]}'", fl.name)
                continue
            taken[slot] = fl.name
            fields.append(fl)
        out.append(Command(cmd, tuple(fields), doc=str(c.get("doc", "")), role=role,
                           optional=c.get("optional", False) is True, timeout_ms=tmo,
                           note=str(c.get("note", "")), line=c.line))
    return out


def text_labels(v: Any, f: Findings, ln: int, key: str, name: str) -> dict | None:
    if not isinstance(v, dict) or not v:
        f.add(ln, f"{key} must map values to labels", name)
        return None
    for k, label in v.items():
        if not (is_int(k) and k >= 0 or isinstance(k, str) and k):
            f.add(ln, f"{key}: {k!r} must be a non-negative integer or a text", name)
            return None
        if not isinstance(label, str) or not label:
            f.add(ln, f"{key}: the label for {k!r} must be text (quote yes/no/on/off)", name)
            return None
    return dict(v)


def _field(d: Any, f: Findings, cmd: str, trust: str, line: int) -> CommandField | None:
    if not isinstance(d, dict):
        f.add(line, f"a field of {cmd} must be a mapping")
        return None
    ln, name = d.line, d.get("name")
    label = name if isinstance(name, str) else f"#{ln}"
    _unknown_keys(d, FIELD_KEYS, f, "field", label)
    missing = [k for k in ("name", "index", "type") if k not in d]
    if missing:
        f.add(ln, f"missing field(s): {', '.join(missing)}", label)
        return None
    before = len(f.items)
    if not (isinstance(name, str) and NAME_RE.match(name)):
        f.add(ln, "name must be snake_case (a-z, 0-9, _)", label)
    if not (is_int(d["index"]) and 0 <= d["index"] <= 255):
        f.add(ln, f"index must be an integer 0-255, not {d['index']!r}", label)
    typ = d["type"]
    if typ not in FIELD_TYPES:
        f.add(ln, f"unknown type {typ!r} (one of: {', '.join(FIELD_TYPES)})", label)
        return None
    for key in d:
        if key in set().union(*TYPE_KEYS.values()) - TYPE_KEYS[typ]:
            f.add(ln, f"'{key}' does not apply to type {typ}", label)
    unit = d.get("unit", "")
    if not isinstance(unit, str) or unit not in UNITS:
        f.add(ln, f"unknown unit {unit!r} (one of: {', '.join(u for u in UNITS if u)})", label)
    scale = d.get("scale", 1)
    if not (is_num(scale) and scale != 0):
        f.add(ln, f"scale must be a non-zero number, not {scale!r}", label)
    group = d.get("group", "Other")
    if group not in GROUPS:
        f.add(ln, f"unknown group {group!r} (one of: {', '.join(GROUPS)})", label)
    rung = d.get("trust", trust)
    if rung not in RUNGS:
        f.add(ln, f"unknown trust rung {rung!r}", label)
    for key in ("doc", "source", "note", "strip"):
        if key in d and not isinstance(d[key], str):
            f.add(ln, f"{key} must be text", label)
    extra: dict[str, Any] = {}
    if typ == "enum":
        extra["enum"] = text_labels(d.get("enum"), f, ln, "enum", label)
    elif typ == "bits":
        extra.update(_bits(d, f, ln, label))
    elif typ == "flags":
        extra.update(_flags(d, f, ln, label))
    elif typ == "flag":
        letter = d.get("letter")
        if not (isinstance(letter, str) and re.match(r"^[a-z]$", letter)):
            f.add(ln, "type flag needs letter: one lower-case letter", label)
        extra["letter"] = letter
    elif typ == "datetime":
        fmt = d.get("format")
        try:
            good = isinstance(fmt, str) and datetime.strptime(
                SAMPLE_TIME.strftime(fmt), fmt) == SAMPLE_TIME
        except ValueError:
            good = False
        if not good:
            f.add(ln, f"type datetime needs a format that keeps every part, like "
                      f"%Y%m%d%H%M%S (not {fmt!r})", label)
        extra["format"] = fmt
    if len(f.items) != before:
        return None
    return CommandField(name=name, command=cmd, index=d["index"], type=typ,
                        doc=d.get("doc", ""), unit=unit, scale=scale, group=group, trust=rung,
                        strip=d.get("strip", ""), source=d.get("source", ""),
                        note=d.get("note", ""), line=ln, **extra)


def _bits(d: dict, f: Findings, ln: int, label: str) -> dict:
    first, last, bits = d.get("first_bit"), d.get("last_bit", 0), d.get("bits")
    if not (is_int(first) and is_int(last) and 0 <= last <= first <= 63):
        f.add(ln, "type bits needs first_bit (and last_bit, default 0): the bit numbers of the "
                  "first and last characters, first >= last", label)
        return {}
    if not isinstance(bits, dict) or not bits:
        f.add(ln, "type bits needs bits: {bit: {name, label}}", label)
        return {}
    out, names = {}, set()
    for bit, spec in bits.items():
        if not (is_int(bit) and last <= bit <= first):
            f.add(ln, f"bits: {bit!r} is not a bit number {last}-{first}", label)
        elif not (isinstance(spec, dict) and set(spec) == {"name", "label"}
                  and isinstance(spec["name"], str) and NAME_RE.match(spec["name"])
                  and isinstance(spec["label"], str)):
            f.add(ln, f"bits: bit {bit} must be {{name: snake_case, label: text}}", label)
        elif spec["name"] in names:
            f.add(ln, f"bits: name {spec['name']} is used twice", label)
        else:
            names.add(spec["name"])
            out[bit] = BitSpec(spec["name"], spec["label"])
    return {"bits": out, "first_bit": first, "last_bit": last}


def _flags(d: dict, f: Findings, ln: int, label: str) -> dict:
    flags = d.get("flags")
    if not isinstance(flags, dict) or not flags:
        f.add(ln, "type flags needs flags: {index: {label, class}}", label)
        return {}
    out = {}
    for i, spec in flags.items():
        if not (is_int(i) and 0 <= i <= 255):
            f.add(ln, f"flags: {i!r} is not a character index 0-255", label)
        elif not (isinstance(spec, dict) and set(spec) == {"label", "class"}
                  and isinstance(spec["label"], str) and spec["class"] in FLAG_CLASSES):
            f.add(ln, f"flags: {i} must be {{label: text, class: "
                      f"{' | '.join(FLAG_CLASSES)}}}", label)
        else:
            out[i] = FlagSpec(spec["label"], spec["class"])
    fault_with = d.get("fault_with")
    if fault_with is not None and fault_with not in out:
        f.add(ln, f"fault_with {fault_with!r} must be one of the listed flag indexes", label)
    elif fault_with is None and any(s.cls == "conditional" for s in out.values()):
        f.add(ln, "conditional flags need fault_with: the index that makes them faults", label)
    return {"flags": out, "fault_with": fault_with}
