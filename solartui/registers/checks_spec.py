"""A map's `checks:` section: which commissioning checks apply to its devices and which points
they read, validated like the rest of the map.

Why data in the map: every family gains the checks as its map declares the points (a CT-direction
check needs PV, load and grid power, whatever the registers are called), and the simulators read
the same roles, so the plant they model and the check that judges it name the same points.

    checks:
      apply: [identity, clock, ct_direction, export_limit, battery, settings]
      firmware: [firmware, control_firmware]       # identify fields that are firmware
      points:                                      # role -> point (a list is summed)
        pv_power: [ppv]
        grid_export_power: grid_export_power
        ...
      tolerance: {clock_s: 2, export_w: 50, export_percent: 2}
      defaults: {active_power_rate: 100, export_limit_enable: disabled}   # declared safe values

No I/O here; the loader calls `parse_checks` and `attach`, everything else calls `checks_for`.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from solartui.registers.yaml_lines import Findings, is_num, key_line

CHECKS = ("identity", "clock", "ct_direction", "export_limit", "battery", "settings")
# role -> what it means; signs: grid + export / − import, battery + discharge / − charge
ROLES = {
    "pv_power": "PV power (W); a list is summed",
    "load_power": "house load (W)",
    "grid_power": "grid power at the CT, + export / − import (W)",
    "grid_export_power": "grid export, unsigned (W)",
    "grid_import_power": "grid import, unsigned (W)",
    "battery_power": "battery power, + discharge / − charge (W)",
    "battery_charge_power": "battery charge, unsigned (W)",
    "battery_discharge_power": "battery discharge, unsigned (W)",
    "battery_soc": "battery state of charge (%)",
    "bms_soc": "state of charge the BMS reports (%)",
    "bms_error": "BMS error word (0 = none)",
    "battery_voltage": "battery voltage (V)",
    "export_limit_enable": "export limiting on (non-zero) or off (0)",
    "export_limit_w": "export limit (W)",
    "export_limit_percent": "export limit (% of rated_power)",
    "rated_power": "rated power (W or VA) the percentage is of",
}
TOLERANCES = {"clock_s": 2.0, "export_w": 50.0, "export_percent": 2.0}
SECTION_KEYS = {"apply", "firmware", "points", "tolerance", "defaults"}


@dataclass(frozen=True)
class ChecksSpec:
    apply: tuple[str, ...] = ()
    firmware: tuple[str, ...] = ()
    points: dict[str, tuple[str, ...]] = field(default_factory=dict)
    tolerance: dict[str, float] = field(default_factory=lambda: dict(TOLERANCES))
    defaults: dict[str, Any] = field(default_factory=dict)
    line: int = 0

    def applies(self, check: str) -> bool:
        return check in self.apply

    def role(self, name: str) -> tuple[str, ...]:
        return self.points.get(name, ())

    def one(self, name: str) -> str | None:
        names = self.points.get(name, ())
        return names[0] if names else None

    @property
    def has_grid(self) -> bool:
        return bool(self.role("grid_power") or
                    (self.role("grid_export_power") and self.role("grid_import_power")))

    @property
    def has_battery_power(self) -> bool:
        return bool(self.role("battery_power") or (self.role("battery_charge_power") and
                                                   self.role("battery_discharge_power")))


EMPTY = ChecksSpec()


def _needs(spec: ChecksSpec) -> dict[str, str | None]:
    """check -> what it lacks in this spec (None: nothing)."""
    return {
        "identity": None if spec.firmware else "a 'firmware' list",
        "clock": None,
        "ct_direction": None if spec.role("pv_power") and spec.role("load_power") and spec.has_grid
        else "points pv_power, load_power and grid_power (or grid_export_power and "
             "grid_import_power)",
        "export_limit": None if spec.has_grid
        else "points grid_power (or grid_export_power and grid_import_power)",
        "battery": None if spec.role("battery_soc") else "point battery_soc",
        "settings": None,
    }


def parse_checks(d: Any, f: Findings, names: set[str], identify: set[str],
                 has_clock: bool, line: int = 0) -> ChecksSpec:
    """The section as a ChecksSpec; every problem goes to `f` (the loader raises them all).
    `names`: the map's point (or field) names; `identify`: its identify names."""
    if d is None:
        return EMPTY
    if not isinstance(d, dict):
        f.add(line, "checks: a mapping with apply, points, firmware, tolerance, defaults")
        return EMPTY
    for key in d:
        if key not in SECTION_KEYS:
            f.add(key_line(d, key), f"unknown key '{key}' in checks "
                                    f"(expected {', '.join(sorted(SECTION_KEYS))})")
    apply = _name_list(d, "apply", f)
    for name in apply:
        if name not in CHECKS:
            f.add(key_line(d, "apply"), f"checks.apply: unknown check '{name}' "
                                        f"(known: {', '.join(CHECKS)})")
    firmware = _name_list(d, "firmware", f)
    for name in firmware:
        if name not in identify and name not in names:
            f.add(key_line(d, "firmware"), f"checks.firmware: '{name}' is neither an identify "
                                           "field nor a point of this map")
    points: dict[str, tuple[str, ...]] = {}
    raw_points = d.get("points") or {}
    if not isinstance(raw_points, dict):
        f.add(key_line(d, "points"), "checks.points: a mapping of role -> point name(s)")
        raw_points = {}
    for role, value in raw_points.items():
        ln = key_line(raw_points, role)
        if role not in ROLES:
            f.add(ln, f"checks.points: unknown role '{role}' (known: {', '.join(ROLES)})")
            continue
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(v, str) for v in items):
            f.add(ln, f"checks.points.{role}: a point name or a list of point names")
            continue
        for v in items:
            if v not in names:
                f.add(ln, f"checks.points.{role}: no point '{v}' in this map")
        points[role] = tuple(items)
    tolerance = dict(TOLERANCES)
    raw_tol = d.get("tolerance") or {}
    if not isinstance(raw_tol, dict):
        f.add(key_line(d, "tolerance"), "checks.tolerance: a mapping")
        raw_tol = {}
    for key, value in raw_tol.items():
        if key not in TOLERANCES:
            f.add(key_line(raw_tol, key), f"checks.tolerance: unknown key '{key}' "
                                          f"(known: {', '.join(TOLERANCES)})")
        elif not is_num(value) or value < 0:
            f.add(key_line(raw_tol, key), f"checks.tolerance.{key}: a number ≥ 0")
        else:
            tolerance[key] = float(value)
    defaults = d.get("defaults") or {}
    if not isinstance(defaults, dict):
        f.add(key_line(d, "defaults"), "checks.defaults: a mapping of point -> safe value")
        defaults = {}
    for name, value in defaults.items():
        if name not in names:
            f.add(key_line(defaults, name), f"checks.defaults: no point '{name}' in this map")
        elif not (is_num(value) or isinstance(value, str)):
            f.add(key_line(defaults, name), f"checks.defaults.{name}: a number or a label")
    spec = ChecksSpec(apply=tuple(apply), firmware=tuple(firmware), points=points,
                      tolerance=tolerance, defaults=dict(defaults), line=line)
    for check, lack in _needs(spec).items():
        if check in apply and lack:
            f.add(key_line(d, "apply"), f"checks.apply: '{check}' needs {lack}")
    if "clock" in apply and not has_clock:
        f.add(key_line(d, "apply"), "checks.apply: 'clock' needs the map's clock section")
    return spec


def _name_list(d: dict, key: str, f: Findings) -> list[str]:
    v = d.get(key) or []
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        f.add(key_line(d, key), f"checks.{key}: a list of names")
        return []
    return list(v)


# --- which spec belongs to which loaded map ----------------------------------------------------

_ATTACHED: dict[int, ChecksSpec] = {}
_BY_PATH: dict[str, ChecksSpec] = {}


def attach(device_map, spec: ChecksSpec) -> None:
    """Remember the spec the loader parsed for this map object (kept out of the map's dataclass
    so the loader's other sections stay as they are)."""
    key = id(device_map)
    _ATTACHED[key] = spec
    if spec is not EMPTY and device_map.path:
        _BY_PATH[str(device_map.path)] = spec
    weakref.finalize(device_map, _ATTACHED.pop, key, None)


def attached(spec: ChecksSpec, device_map):
    """`attach`, returning the map (the loader's one line)."""
    attach(device_map, spec)
    return device_map


def checks_for(device_map) -> ChecksSpec:
    """The map's checks section (EMPTY where it declares none)."""
    spec = _ATTACHED.get(id(device_map))
    if spec is not None:
        return spec
    path = str(getattr(device_map, "path", "") or "")
    if path in _BY_PATH:
        return _BY_PATH[path]
    if path and Path(path).is_file():       # a copy made with dataclasses.replace()
        from solartui.registers import catalog
        try:
            return checks_for(catalog.load(path))
        except Exception:       # noqa: BLE001 - the map loaded once; a re-read is best effort
            return EMPTY
    return EMPTY
