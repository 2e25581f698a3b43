"""A map's `publish:` section: which values leave the machine over MQTT, as which Home Assistant
entity, and which settings Home Assistant may change (with --mqtt-writes).

Why data in the map: a 300-point map would make 300 entities nobody reads; the map knows which of
its points a household watches (PV, grid, battery, load, today's energy) and which settings are
safe to change from a phone (an export limit, a battery reserve), as against ones that must
never be (a grid-protection trip, a reboot, the Modbus address). Classes follow from units, so an
entry is usually just a name:

    publish:
      points:                                   # published, in this order
        - ppv
        - {point: soc, device_class: battery}
        - {point: fault_main_code, entity_category: diagnostic, icon: "mdi:alert"}
      remote_safe: [export_limit_power_rate, battery_first_stop_soc]

A map without the section publishes every readable value with inferred classes and offers no
setting. Works for register maps (points) and command maps (PI30 fields and settings). No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from solartui.registers.model import TEXT_TYPES
from solartui.registers.overview import POLLED_ROLES
from solartui.registers.suggest import did_you_mean
from solartui.registers.yaml_lines import Findings, key_line

SECTION_KEYS = {"points", "remote_safe"}
ENTRY_KEYS = {"point", "label", "device_class", "state_class", "entity_category", "icon"}
SAFE_KEYS = {"point", "label", "icon"}
STATE_CLASSES = ("measurement", "total", "total_increasing")
CATEGORIES = ("diagnostic",)
MAX_LABEL = 40

#: Home Assistant sensor device classes a map may name, with the units each accepts
DEVICE_CLASSES: dict[str, tuple[str, ...]] = {
    "power": ("W", "kW"), "apparent_power": ("VA", "kVA"), "reactive_power": ("var",),
    "energy": ("Wh", "kWh"), "energy_storage": ("Wh", "kWh"),
    "voltage": ("V", "mV"), "current": ("A", "mA"), "frequency": ("Hz",),
    "temperature": ("°C",), "battery": ("%",), "power_factor": ("%", ""),
    "duration": ("s", "ms", "min", "h"), "enum": ("",),
}
#: unit -> inferred device class (kWh also gets total_increasing; % is battery only for SOC)
UNIT_CLASS = {"W": "power", "kW": "power", "VA": "apparent_power", "kVA": "apparent_power",
              "var": "reactive_power", "Wh": "energy", "kWh": "energy", "V": "voltage",
              "mV": "voltage", "A": "current", "mA": "current", "Hz": "frequency",
              "°C": "temperature"}
#: groups whose values are technical: shown under the device's Diagnostic heading
DIAGNOSTIC_GROUPS = ("Identity", "Settings", "Clock", "Other")
DIAGNOSTIC_WORDS = ("fault", "warning", "alarm", "error", "code", "bus", "firmware", "version")
#: groups of settings that are never remote-safe, and why
UNSAFE_GROUPS = {"Grid": "a grid-protection setting (group Grid)",
                 "Clock": "the device clock (group Clock; `solartui time` sets it)",
                 "Identity": "an identity value (group Identity)"}
#: command-map field types that have no single state Home Assistant can show
UNPUBLISHABLE = ("list", "datetime")


@dataclass(frozen=True)
class Published:
    """One value published as a Home Assistant sensor; `point` is its key in the state JSON."""

    point: str
    label: str
    unit: str = ""
    device_class: str | None = None
    state_class: str | None = None
    entity_category: str | None = None
    icon: str | None = None
    options: tuple[str, ...] | None = None      # enum words (device_class enum)


@dataclass(frozen=True)
class RemoteSetting:
    """A writable setting offered to Home Assistant: a `number` (min/max/step) or a `select`."""

    name: str               # the point or setting the gate writes (the command topic's last part)
    state: str              # the key in the state JSON that shows its current value
    kind: str               # number | select
    label: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    options: tuple[str, ...] | None = None
    icon: str | None = None


@dataclass(frozen=True)
class PublishSpec:
    points: tuple[Published, ...]
    remote_safe: tuple[RemoteSetting, ...] = ()
    inferred: bool = False      # no `publish:` section: every readable value, no setting

    def setting(self, name: str) -> RemoteSetting | None:
        return next((s for s in self.remote_safe if s.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.point for p in self.points)

    @property
    def state_names(self) -> tuple[str, ...]:
        """Every value the state JSON should carry when the reading has it: the published points
        and the current value of each remote-safe setting (its number/select shows it)."""
        return tuple(dict.fromkeys([*self.names, *(s.state for s in self.remote_safe)]))


# --- what a map offers ---------------------------------------------------------------------------

def _is_command_map(device_map) -> bool:
    return hasattr(device_map, "commands")


def publishable(device_map) -> tuple[dict[str, Any], dict[str, str]]:
    """(name -> point or field that may be published, name -> why another may not)."""
    if not _is_command_map(device_map):
        ok = {p.name: p for p in device_map.points if p.readable}
        why = {p.name: "is write-only: it has no value to publish"
               for p in device_map.points if not p.readable}
        return ok, why
    ok, why = {}, {}
    for c in device_map.commands:
        for fl in c.fields:
            if c.role not in POLLED_ROLES:
                why[fl.name] = f"is answered by {c.command} (role {c.role}), which is not polled"
            elif fl.type in UNPUBLISHABLE:
                why[fl.name] = f"is of type {fl.type}: no single value Home Assistant can show"
            else:
                ok[fl.name] = fl
    return ok, why


def _settings(device_map) -> dict[str, Any]:
    if _is_command_map(device_map):
        return {s.name: s for s in device_map.settings}
    return {p.name: p for p in device_map.points if p.access in ("rw", "w")}


# --- inference -----------------------------------------------------------------------------------

def _options(value) -> tuple[str, ...] | None:
    enum = getattr(value, "enum", None)
    if not enum or getattr(value, "type", "") in ("bits", "flags"):
        return None
    labels = [*enum.values(), *(getattr(value, "special", None) or {}).values()]
    return tuple(dict.fromkeys(str(x) for x in labels))


def _numeric(value) -> bool:
    typ = getattr(value, "type", "")
    if typ in ("float", "int"):
        return True
    return (typ in ("u16", "s16", "u32", "s32", "f32") and not getattr(value, "enum", None)
            and not getattr(value, "bits", None))


def _soc_like(value) -> bool:
    name = value.name.lower()
    return "soc" in name or (getattr(value, "group", "") == "Battery" and "capacity" in name)


def infer(value, label: str | None = None) -> Published:
    """A value's entity from its unit, type, group and name (no `publish:` entry says otherwise)."""
    unit = getattr(value, "unit", "") or ""
    name = value.name.lower()
    options = _options(value)
    diagnostic = (getattr(value, "group", "") in DIAGNOSTIC_GROUPS
                  or any(w in name for w in DIAGNOSTIC_WORDS))
    dc = sc = None
    if options:
        dc = "enum"
    elif _numeric(value):
        dc = UNIT_CLASS.get(unit)
        if unit == "%" and _soc_like(value):
            dc = "battery"
        if dc == "energy":
            sc = "total_increasing"
        elif unit:
            sc = "measurement"
    return Published(point=value.name, label=label or value.name.replace("_", " "), unit=unit,
                     device_class=dc, state_class=sc,
                     entity_category="diagnostic" if diagnostic else None, options=options)


def _infer_setting(s, state_values: dict[str, Any]) -> RemoteSetting | str:
    """The entity for a writable setting, or why it cannot be one."""
    label = s.name.replace("_", " ")
    if hasattr(s, "kind"):                                  # a command-map setting
        state = s.reads_back.field
        if s.confirm:
            return "asks for a confirmation (destructive or mode-changing): never remote-safe"
        if state not in state_values:
            return f"reads back from '{state}', which is not polled"
        if s.kind == "choice" and s.choices:
            return RemoteSetting(s.name, state, "select", label,
                                 options=tuple(str(v) for v in s.choices.values()))
        if s.kind == "number" and s.rule is not None and s.rule.range is not None \
                and not s.variants:
            return RemoteSetting(s.name, state, "number", label, unit=s.unit,
                                 minimum=s.rule.range[0], maximum=s.rule.range[1],
                                 step=s.rule.step or 1)
        if s.kind == "number":
            return ("has no fixed range (its allowed values depend on the device): "
                    "not offered to Home Assistant")
        return f"is a {s.kind} setting: only numbers with a range and choices are offered"
    # a register-map point
    if s.guard:
        return "is guarded: never remote-safe"
    if s.access != "rw":
        return "is write-only: Home Assistant could not show its value"
    if s.group in UNSAFE_GROUPS:
        return f"is {UNSAFE_GROUPS[s.group]}: never remote-safe"
    if s.type in TEXT_TYPES or s.bits:
        return f"is of type {s.type if s.type in TEXT_TYPES else 'bits'}: only numbers and " \
               "choices are offered"
    if s.enum:
        return RemoteSetting(s.name, s.name, "select", label, options=_options(s))
    if s.range is None:
        return "has no range: only settings with a range or choices are offered"
    step = s.step or (abs(s.scale) if s.type != "f32" else 0.1)
    return RemoteSetting(s.name, s.name, "number", label, unit=s.unit, minimum=s.range[0],
                         maximum=s.range[1], step=step)


def inferred_spec(device_map) -> PublishSpec:
    """Every readable value, classes inferred; no setting (remote writes are always opted in)."""
    values, _ = publishable(device_map)
    return PublishSpec(tuple(infer(v) for v in values.values()
                             if getattr(v, "alias_of", None) is None), (), inferred=True)


# --- the section ---------------------------------------------------------------------------------

def parse_publish(d: Any, f: Findings, line: int, device_map_parts: dict) -> PublishSpec | None:
    """Validate a `publish:` mapping. `device_map_parts`: {"values": name -> publishable value,
    "why": name -> why not, "settings": name -> writable point or setting}. Every problem is a
    finding naming the line and the entry."""
    if d is None:
        return None
    if not isinstance(d, dict):
        f.add(line, "'publish' must be a mapping with points (and remote_safe)")
        return None
    values, why, settings = (device_map_parts["values"], device_map_parts["why"],
                             device_map_parts["settings"])
    before = len(f.items)
    for key in d:
        if key not in SECTION_KEYS:
            f.add(key_line(d, key), f"publish: unknown key '{key}' (points or remote_safe)")
    items = [(n, getattr(v, "doc", "")) for n, v in values.items()]
    points: list[Published] = []
    raw = d.get("points")
    ln = key_line(d, "points")
    if not isinstance(raw, list) or not raw:
        f.add(ln, "publish.points must be a non-empty list of point names or "
                  "{point, device_class, state_class, entity_category, icon, label}")
    else:
        seen: set[str] = set()
        for item in raw:
            got = _entry(item, f, ln, values, why, items)
            if got is None:
                continue
            if got.point in seen:
                f.add(getattr(item, "line", ln), f"publish.points: '{got.point}' is listed twice")
                continue
            seen.add(got.point)
            points.append(got)
    safe: list[RemoteSetting] = []
    if "remote_safe" in d:
        safe = _remote_safe(d["remote_safe"], f, key_line(d, "remote_safe"), settings, values)
    if len(f.items) != before:
        return None
    return PublishSpec(tuple(points), tuple(safe))


def _entry(item: Any, f: Findings, ln: int, values: dict, why: dict, items: list
           ) -> Published | None:
    if isinstance(item, str):
        item = {"point": item}
    elif isinstance(item, dict):
        ln = getattr(item, "line", ln)
        unknown = [k for k in item if k not in ENTRY_KEYS]
        if unknown:
            f.add(ln, f"publish.points: unknown key '{unknown[0]}' (one of: "
                      f"{', '.join(sorted(ENTRY_KEYS))})")
            return None
    else:
        f.add(ln, f"publish.points: an entry is a point name or a mapping, not {item!r}")
        return None
    name = item.get("point")
    if not isinstance(name, str):
        f.add(ln, "publish.points: an entry needs point: a point name")
        return None
    if name in why:
        f.add(ln, f"publish.points: '{name}' {why[name]}")
        return None
    value = values.get(name)
    if value is None:
        f.add(ln, f"publish.points: no point '{name}' in this map{did_you_mean(name, items)}")
        return None
    for key in ("label", "icon", "device_class", "state_class", "entity_category"):
        if key in item and not isinstance(item[key], str):
            f.add(ln, f"publish.points: {key} of '{name}' must be text")
            return None
    base = infer(value, item.get("label"))
    unit = base.unit
    dc = item.get("device_class", base.device_class)
    if "device_class" in item:
        if dc not in DEVICE_CLASSES:
            f.add(ln, f"publish.points: '{name}': unknown device_class '{dc}' (one of: "
                      f"{', '.join(DEVICE_CLASSES)})")
            return None
        if unit not in DEVICE_CLASSES[dc]:
            shown = f"'{unit}'" if unit else "no unit"
            f.add(ln, f"publish.points: '{name}' has {shown}; device_class {dc} needs "
                      f"{' or '.join(repr(u) for u in DEVICE_CLASSES[dc]) or 'no unit'}")
            return None
        if dc == "enum" and not base.options:
            f.add(ln, f"publish.points: '{name}' has no enum labels: device_class enum needs them")
            return None
    sc = item.get("state_class", base.state_class if dc == base.device_class else None)
    if "state_class" in item:
        if sc not in STATE_CLASSES:
            f.add(ln, f"publish.points: '{name}': unknown state_class '{sc}' (one of: "
                      f"{', '.join(STATE_CLASSES)})")
            return None
        if dc == "enum" or not _numeric(value):
            f.add(ln, f"publish.points: '{name}' is not a number: it can have no state_class")
            return None
    if dc in ("energy", "energy_storage") and sc is None and "state_class" not in item:
        sc = "total_increasing" if dc == "energy" else "measurement"
    cat = item.get("entity_category", base.entity_category)
    if "entity_category" in item and cat not in CATEGORIES:
        f.add(ln, f"publish.points: '{name}': entity_category must be diagnostic (a sensor "
                  "cannot be a config entity)")
        return None
    label = base.label
    if len(label) > MAX_LABEL:
        f.add(ln, f"publish.points: label '{label}' is longer than {MAX_LABEL} characters")
        return None
    icon = item.get("icon")
    if icon is not None and not (icon.startswith("mdi:") and len(icon) > 4):
        f.add(ln, f"publish.points: icon of '{name}' must be an mdi: name, like mdi:solar-power")
        return None
    return Published(point=name, label=label, unit=unit, device_class=dc,
                     state_class=sc if dc != "enum" else None, entity_category=cat, icon=icon,
                     options=base.options if dc == "enum" else None)


def _remote_safe(raw: Any, f: Findings, ln: int, settings: dict, values: dict
                 ) -> list[RemoteSetting]:
    out: list[RemoteSetting] = []
    if not isinstance(raw, list):
        f.add(ln, "publish.remote_safe must be a list of writable settings ([] for none)")
        return out
    items = [(n, getattr(v, "doc", "")) for n, v in settings.items()]
    seen: set[str] = set()
    for item in raw:
        eln, label, icon = ln, None, None
        if isinstance(item, dict):
            eln = getattr(item, "line", ln)
            unknown = [k for k in item if k not in SAFE_KEYS]
            if unknown:
                f.add(eln, f"publish.remote_safe: unknown key '{unknown[0]}' (point, label, icon)")
                continue
            name, label, icon = item.get("point"), item.get("label"), item.get("icon")
            if not all(x is None or isinstance(x, str) for x in (label, icon)):
                f.add(eln, f"publish.remote_safe: label and icon of '{name}' must be text")
                continue
        else:
            name = item
        if not isinstance(name, str):
            f.add(eln, f"publish.remote_safe: an entry is a setting name, not {name!r}")
            continue
        s = settings.get(name)
        if s is None:
            f.add(eln, f"publish.remote_safe: no writable setting '{name}' in this map"
                       f"{did_you_mean(name, items)}")
            continue
        if name in seen:
            f.add(eln, f"publish.remote_safe: '{name}' is listed twice")
            continue
        seen.add(name)
        got = _infer_setting(s, values)
        if isinstance(got, str):
            f.add(eln, f"publish.remote_safe: '{name}' {got}")
            continue
        if label is not None or icon is not None:
            from dataclasses import replace
            got = replace(got, label=label or got.label, icon=icon)
        out.append(got)
    return out


def parts_for(device_map_like) -> dict:
    """What `parse_publish` checks names against, for a map being loaded (register points or a
    command map's commands and settings); the loaders build it before the map object exists."""
    values, why = publishable(device_map_like)
    return {"values": values, "why": why, "settings": _settings(device_map_like)}


# --- the map's spec ------------------------------------------------------------------------------

def publish_for(device_map) -> PublishSpec:
    """The map's own `publish:`, or one inferred from its values."""
    own = getattr(device_map, "publish", None)
    return own if own is not None else inferred_spec(device_map)
