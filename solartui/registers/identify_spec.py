"""A map's `identify:` extras: which model each device-type code names (`FIELD.models`) and
where the map stands in identification (`probe`, used by devices/identify.py: order, a `first`
field read alone with the values it must `expect`, `exclusive`, `why`). Kept apart from the
loader, which parses the identify fields themselves."""

from __future__ import annotations

from typing import Any

from solartui.registers.model import INTEGER_TYPES, Field, ProbeHint
from solartui.registers.yaml_lines import Findings, is_int, is_num, unknown_keys


def parse_models(d: Any, fields: dict[str, Field], f: Findings) -> dict[str, dict[int, str]]:
    """`identify.FIELD.models: {code: name}`: the model each device-type code stands for."""
    out: dict[str, dict[int, str]] = {}
    if not isinstance(d, dict):
        return out
    for name, spec in d.items():
        if name == "probe" or not isinstance(spec, dict) or "models" not in spec:
            continue
        table = spec["models"]
        line = getattr(table, "line", getattr(spec, "line", d.line))
        fld = fields.get(str(name))
        if fld is not None and fld.type not in INTEGER_TYPES:
            f.add(line, f"identify.{name}.models needs an integer type, not {fld.type}")
            continue
        if not isinstance(table, dict) or not table:
            f.add(line, f"identify.{name}.models must map codes to model names")
            continue
        codes: dict[int, str] = {}
        for code, label in table.items():
            if not is_int(code) or isinstance(code, bool) or code < 0:
                f.add(line, f"identify.{name}.models: code {code!r} is not a non-negative integer")
            elif not isinstance(label, str) or not label.strip():
                f.add(line, f"identify.{name}.models: code {code} needs a model name")
            else:
                codes[int(code)] = label.strip()
        out[str(name)] = codes
    return out


PROBE_KEYS = {"order", "first", "expect", "exclusive", "why"}


def parse_probe(d: Any, fields: dict, f: Findings) -> ProbeHint | None:
    """`identify.probe`: where this map stands in identification (devices/identify.py)."""
    if not isinstance(d, dict) or "probe" not in d:
        return None
    p = d["probe"]
    line = getattr(p, "line", d.line)
    if not isinstance(p, dict):
        f.add(line, "identify.probe must be a mapping {order, first, expect, exclusive, why}")
        return None
    unknown_keys(p, PROBE_KEYS, f, "identify.probe")
    order = p.get("order", 100)
    if not (is_int(order) and 0 <= order <= 999):
        f.add(line, f"identify.probe.order must be an integer 0-999, not {order!r}")
        order = 100
    first = p.get("first")
    if first is not None and first not in fields:
        f.add(line, f"identify.probe.first names no identify field: {first!r}")
        first = None
    expect: dict = {}
    raw = p.get("expect") or {}
    if not isinstance(raw, dict):
        f.add(line, "identify.probe.expect must map identify fields to lists of values")
        raw = {}
    for name, values in raw.items():
        if name not in fields:
            f.add(line, f"identify.probe.expect names no identify field: {name!r}")
            continue
        values = values if isinstance(values, list) else [values]
        ok = []
        for v in values:
            if isinstance(v, list) and len(v) == 2 and all(is_num(x) for x in v) and v[0] <= v[1]:
                ok.append((v[0], v[1]))
            elif isinstance(v, str) or (is_num(v) and not isinstance(v, bool)):
                ok.append(v)
            else:
                f.add(line, f"identify.probe.expect.{name}: {v!r} is not a value, text or "
                            "[low, high]")
        expect[str(name)] = tuple(ok)
    exclusive = p.get("exclusive", False)
    if not isinstance(exclusive, bool):
        f.add(line, "identify.probe.exclusive must be true or false")
        exclusive = False
    why = p.get("why", "")
    if not isinstance(why, str):
        f.add(line, "identify.probe.why must be text")
        why = ""
    return ProbeHint(order=order, first=first, expect=expect, exclusive=exclusive, why=why)
