"""Convert a Home Assistant ha-solarman inverter definition into a solartui register map.

Users already have these files (`requests:` and `parameters:` groups of `items:`), so the import
turns what it can into points at the `generated` rung and says, item by item, what it could not.
Facts of the format (our reading of the integration's documentation; no code is carried over):

- `requests:` give `start`/`end`/`mb_functioncode`: FC03 → holding table, FC04 → input table.
  An item whose first register is in no request is taken from the holding table (FC03, the
  integration's default) and says so in its note.
- `rule`: 1 U16, 2 U32, 3 S16, 4 S32, 5 ASCII, 6 bit field, 7 version, 8 date-time, 9 time of
  day (hour × 100 + minute). 32-bit values list their registers low word first: `[0x10, 0x11]`
  is 0x11:0x10 (`words: little`), `[0x11, 0x10]` is high word first (`words: big`).
- value = (raw − `offset`) × `scale`; `lookup` {raw: label} → enum; `mask` keeps some bits.
- `range: {min, max}` bounds the raw value, `validation: {min, max}` the scaled value;
  `configurable: {min, max, step}` (or `platform: number/select/switch/time`) marks an item
  writable, with limits in engineering units.

An `offset` carries over as the point's `offset` (the same meaning: raw units, taken before the
scale) on 16- and 32-bit numbers; on text, times or with a lookup it is reported.

Not representable (reported, left out): offsets that are not whole raw units, multi-bit masks,
date-times, values wider than 32 bits, registers that are not adjacent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from solartui.errors import MapError
from solartui.registers.loader import parse_map
from solartui.registers.units import UNITS
from solartui.registers.yaml_lines import is_int, is_num, parse_yaml

RULE_TYPES = {1: "u16", 2: "u32", 3: "s16", 4: "s32"}
WRITABLE_PLATFORMS = ("number", "select", "switch", "time")
UOM = {"kwh": "kWh", "wh": "Wh", "w": "W", "kw": "kW", "v": "V", "mv": "mV", "a": "A",
       "ma": "mA", "hz": "Hz", "%": "%", "°c": "°C", "ºc": "°C", "c": "°C", "va": "VA",
       "kva": "kVA", "var": "var", "ah": "Ah", "s": "s", "ms": "ms", "min": "min", "h": "h",
       "ω": "Ω", "kω": "kΩ", "kohm": "kΩ", "ohm": "Ω"}
GROUP_WORDS = (("pv", "PV"), ("solar", "PV"), ("battery", "Battery"), ("bms", "Battery"),
               ("grid", "Grid"), ("temperature", "Temperature"), ("energy", "Energy"),
               ("info", "Identity"), ("device", "Identity"), ("status", "Status"),
               ("alert", "Status"), ("fault", "Status"), ("setting", "Settings"),
               ("control", "Settings"), ("load", "AC"), ("inverter", "AC"), ("output", "AC"),
               ("upsload", "AC"))


@dataclass
class Imported:
    """The converted map (text and data) and what was left out or changed, item by item."""

    text: str
    data: dict
    skipped: list[tuple[str, str]] = field(default_factory=list)    # (item, why) not converted
    changed: list[tuple[str, str]] = field(default_factory=list)    # converted, but partly


def snake(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not s or not s[0].isalpha():
        s = "p_" + s
    return s


def _group(title: str) -> str:
    t = title.lower().replace(" ", "")
    for word, group in GROUP_WORDS:
        if word in t:
            return group
    return "Other"


def _table_of(address: int, requests: list[tuple[int, int, int]]) -> tuple[str, bool]:
    for start, end, fc in requests:
        if start <= address <= end:
            return ("input" if fc == 4 else "holding"), True
    return "holding", False


def _requests(data: dict, skipped: list) -> list[tuple[int, int, int]]:
    out = []
    for r in data.get("requests") or ():
        if not isinstance(r, dict):
            continue
        start, end, fc = r.get("start"), r.get("end"), r.get("mb_functioncode", 3)
        if is_int(start) and is_int(end) and fc in (3, 4):
            out.append((start, end, fc))
        else:
            skipped.append((f"request {start!r}-{end!r}", f"function {fc!r} or bounds not "
                                                            "usable (FC03/FC04 only)"))
    return out


def _number(v: Any) -> float | int | None:
    return v if is_num(v) else None


class _Converter:
    def __init__(self, requests):
        self.requests = requests
        self.points: list[dict] = []
        self.names: set[str] = set()
        self.spans: dict[tuple[str, int, int], str] = {}    # (table, first, last) -> primary
        self.skipped: list[tuple[str, str]] = []
        self.changed: list[tuple[str, str]] = []

    def skip(self, name, why):
        self.skipped.append((str(name), why))

    def item(self, it: Any, group: str) -> None:
        if not isinstance(it, dict):
            self.skip("?", "an item must be a mapping")
            return
        title = it.get("name")
        if not isinstance(title, str) or not title.strip():
            self.skip("?", "item has no name")
            return
        rule, regs = it.get("rule"), it.get("registers")
        if not (isinstance(regs, list) and regs and all(is_int(r) and 0 <= r <= 65535
                                                        for r in regs)):
            self.skip(title, "registers must be a list of addresses 0-65535")
            return
        offset = it.get("offset", 0) or 0
        if not is_int(offset):
            self.skip(title, f"offset {offset!r}: a solartui offset is a whole number of raw "
                             "units (the value would be wrong by the fraction × scale)")
            return
        p = self._shape(title, rule, regs)
        if p is None:
            return
        if offset:
            if p["type"] not in ("u16", "s16", "u32", "s32"):
                self.skip(title, f"offset {offset} on a {p['type']} value: only numbers take "
                                 "an offset")
                return
            p["offset"] = offset
        p = {"name": "", "doc": title, **p}
        table, inside = _table_of(p["address"], self.requests)
        p["table"] = table
        notes = [] if inside else [f"not inside any request of the definition: read from the "
                                   f"{table} table (FC03)"]
        scale = it.get("scale", 1)
        if not (is_num(scale) and scale != 0):
            self.skip(title, f"scale {scale!r} is not a non-zero number")
            return
        if it.get("scale_division") not in (None, 1):
            self.skip(title, "scale_division is not supported")
            return
        if scale != 1:
            if p["type"] in ("ascii", "hhmm_dec"):
                self.changed.append((title, f"scale {scale} ignored for a {p['type']} value"))
            else:
                p["scale"] = scale
        uom = it.get("uom")
        if isinstance(uom, str) and uom.strip():
            unit = UOM.get(uom.strip().lower(), uom.strip() if uom.strip() in UNITS else None)
            if unit:
                p["unit"] = unit
            else:
                self.changed.append((title, f"unit {uom!r} is not in solartui's vocabulary: "
                                            "converted without a unit"))
        p["group"] = group
        if not self._mask(it, p, title, regs):
            return
        self._lookup(it, p, title)
        self._access(it, p, title)
        p["source"] = "ha-solarman rule {} registers [{}]".format(
            rule, ", ".join(f"0x{r:04X}" for r in regs))
        if notes:
            p["note"] = "; ".join(notes)
        self._place(p, title)

    def _shape(self, title, rule, regs) -> dict | None:
        n = len(regs)
        if rule in (1, 3) or (rule in (6, 7) and n == 1):
            if n != 1:
                self.skip(title, f"rule {rule} is one register, {n} are listed")
                return None
            p = {"address": regs[0], "type": "s16" if rule == 3 else "u16"}
            if rule == 6:
                self.changed.append((title, "bit field shown as its raw number"))
            elif rule == 7:
                self.changed.append((title, "version shown as its raw number"))
            return p
        if rule in (2, 4):
            if n == 1:      # the integration reads one register as such
                return {"address": regs[0], "type": RULE_TYPES[rule - 1]}
            if n != 2:
                self.skip(title, f"{16 * n}-bit values are not supported (at most 32 bits)")
                return None
            typ = RULE_TYPES[rule]
            if regs[1] == regs[0] + 1:
                return {"address": regs[0], "type": typ, "words": "little"}
            if regs[0] == regs[1] + 1:
                return {"address": regs[1], "type": typ, "words": "big"}
            self.skip(title, f"registers 0x{regs[0]:04X} and 0x{regs[1]:04X} are not adjacent")
            return None
        if rule == 5:
            if regs != list(range(regs[0], regs[0] + n)):
                self.skip(title, "ASCII registers are not consecutive ascending")
                return None
            return {"address": regs[0], "type": "ascii", "count": n}
        if rule == 9:
            if n != 1:
                self.skip(title, f"rule 9 (time) is one register, {n} are listed")
                return None
            return {"address": regs[0], "type": "hhmm_dec"}
        if rule == 8:
            self.skip(title, "rule 8 (date-time) is not converted: a map's clock: section "
                             "describes the device clock")
            return None
        if rule in (6, 7):
            self.skip(title, f"rule {rule} over {n} registers is not supported")
            return None
        self.skip(title, f"rule {rule!r} is not supported (1-7 and 9 are)")
        return None

    def _mask(self, it, p, title, regs) -> bool:
        mask = it.get("mask")
        if mask is None:
            return True
        if not (is_int(mask) and mask > 0 and mask & (mask - 1) == 0 and mask <= 0xFFFF
                and p["type"] == "u16"):
            shown = f"0x{mask:04X}" if is_int(mask) else repr(mask)
            self.skip(title, f"mask {shown}: only a single-bit mask on a 16-bit unsigned "
                             "value converts (to a named bit)")
            return False
        bit = mask.bit_length() - 1
        p["bits"] = {bit: title}
        p.pop("scale", None)
        if p.pop("offset", None):
            self.changed.append((title, "offset ignored for a masked bit"))
        if "lookup" in it:
            self.changed.append((title, "lookup ignored for a masked bit: the bit is shown "
                                        "by name when set"))
        return True

    def _lookup(self, it, p, title) -> None:
        lookup = it.get("lookup")
        if lookup is None or "bits" in p:
            return
        if p["type"] not in ("u16", "s16", "u32", "s32") or "scale" in p or "offset" in p:
            self.changed.append((title, "lookup needs an integer value with scale 1 and no "
                                        "offset: left out"))
            return
        if not isinstance(lookup, dict) or not all(is_int(k) for k in lookup):
            self.changed.append((title, "lookup keys are not all integers: left out"))
            return
        p["enum"] = {k: str(v) for k, v in lookup.items()}

    def _access(self, it, p, title) -> None:
        conf = it.get("configurable")
        platform = it.get("platform")
        if not (conf not in (None, False) or platform in WRITABLE_PLATFORMS):
            return
        if "bits" in p or p["type"] == "ascii":
            self.changed.append((title, "writable in the definition, imported read-only "
                                        "(a masked bit or text is not written alone)"))
            return
        scale = p.get("scale", 1)
        rng = None
        conf = conf if isinstance(conf, dict) else {}
        lo, hi = _number(conf.get("min")), _number(conf.get("max"))
        if lo is not None and hi is not None:
            rng = [lo, hi]
        offset = p.get("offset", 0)
        for key, factor, shift in (("range", scale, offset), ("validation", 1, 0)):
            spec = it.get(key)
            if rng is None and isinstance(spec, dict):
                lo, hi = _number(spec.get("min")), _number(spec.get("max"))
                if lo is not None and hi is not None:      # range: raw; validation: the value
                    rng = sorted([_tidy((lo - shift) * factor), _tidy((hi - shift) * factor)])
        if p["type"] == "hhmm_dec":
            p["access"] = "rw"
        elif "enum" in p:
            p["access"] = "rw"
        elif rng is not None and rng[0] <= rng[1]:
            p["access"] = "rw"
            p["range"] = rng
            step = _number(conf.get("step"))
            if step and step > 0 and step != scale:
                p["step"] = step
        else:
            self.changed.append((title, "writable in the definition but without limits "
                                        "(configurable/range min and max): imported read-only"))
            return
        p["group"] = "Settings"

    def _place(self, p, title) -> None:
        base = snake(title)
        name, i = base, 2
        while name in self.names:
            name, i = f"{base}_{i}", i + 1
        p["name"] = name
        width = p.get("count", 2 if p["type"] in ("u32", "s32") else 1)
        key = (p["table"], p["address"], p["address"] + width - 1)
        for (table, a, b), primary in self.spans.items():
            if table != key[0] or b < key[1] or a > key[2]:
                continue
            if (a, b) == key[1:]:
                p["alias_of"] = primary
                if "access" in p:
                    p.pop("access")
                    p.pop("range", None)
                    p.pop("step", None)
                    self.changed.append((title, f"shares its registers with "
                                                f"'{primary}': imported read-only"))
                break
            self.skip(title, f"registers overlap '{primary}' (a different width)")
            return
        else:
            self.spans[key] = name
        self.names.add(name)
        order = ("name", "doc", "table", "address", "type", "count", "words", "scale", "offset",
                 "unit", "group", "access", "range", "step", "enum", "bits", "alias_of", "source",
                 "note")
        self.points.append({k: p[k] for k in order if k in p})


def _tidy(x):
    return round(x, 6) if isinstance(x, float) else x


def convert(text: str, path: str, map_id: str | None = None) -> Imported:
    """Convert a definition's text; MapError (its first line says why) when the file is not a
    definition at all. The result is checked by the normal loader before it is returned."""
    data, _ = parse_yaml(text, path)
    if not isinstance(data, dict) or not isinstance(data.get("parameters"), list):
        raise MapError(path, [f"{path}: not an ha-solarman definition (no 'parameters:' list "
                              "of groups)"])
    conv = _Converter([])
    conv.requests = _requests(data, conv.skipped)
    for grp in data["parameters"]:
        if not isinstance(grp, dict) or not isinstance(grp.get("items"), list):
            conv.skip(str(grp.get("group", "?")) if isinstance(grp, dict) else "?",
                      "a group needs an 'items:' list")
            continue
        group = _group(str(grp.get("group", "")))
        for it in grp["items"]:
            conv.item(it, group)
    stem = re.sub(r"\.ya?ml$", "", path.replace("\\", "/").rsplit("/", 1)[-1])
    mid = map_id or ("ha-" + (re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "import"))
    info = data.get("info") if isinstance(data.get("info"), dict) else {}
    out = {
        "schema": 1,
        "device": {"id": mid, "vendor": str(info.get("manufacturer") or "unknown"),
                   "name": str(info.get("model") or f"imported from {stem}"),
                   "families": [], "source": {"document": f"ha-solarman definition {stem}",
                                              "version": "imported"},
                   "trust": "generated"},
        "protocol": "modbus",
        "link": {"baudrates": [9600], "unit": 1, "max_read": 125,
                 "functions": sorted({3, 6, 16} | {4 for *_, fc in conv.requests if fc == 4})},
        "points": conv.points,
    }
    header = (f"# Imported by `solartui maps import ha-solarman` from {stem}.\n"
              "# Rung: generated. Nothing here has been checked against a document or a "
              "device.\n")
    for _ in range(len(conv.points) + 1):
        text_out = header + yaml.safe_dump(out, sort_keys=False, allow_unicode=True, width=100)
        try:
            parse_map(text_out, f"{mid}.yaml")      # the loader's own checks
            break
        except MapError as exc:
            bad = _refused(exc.findings, out["points"], conv)
            if not bad:
                raise
            out["points"] = [p for p in out["points"] if p["name"] not in bad]
    return Imported(text_out, out, conv.skipped, conv.changed)


def _refused(findings: list[str], points: list[dict], conv: _Converter) -> set[str]:
    """Points the loader refused (and aliases of them), each reported with the loader's why."""
    docs = {p["name"]: p["doc"] for p in points}
    bad: set[str] = set()
    for line in findings:
        m = re.search(r": point ([a-z0-9_]+): (.*)$", line)
        if m and m.group(1) in docs and m.group(1) not in bad:
            bad.add(m.group(1))
            conv.skip(docs[m.group(1)], m.group(2))
    for p in points:
        if p.get("alias_of") in bad and p["name"] not in bad:
            bad.add(p["name"])
            conv.skip(p["doc"], "shares registers with a point that was left out")
    return bad
