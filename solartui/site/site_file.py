"""Load and validate a site file (YAML): the devices of one site, the points to log, the period.

Why strict and complete: a logger runs unattended for months, so every mistake must be found
before it starts, all at once, each as "FILE:LINE: what is wrong" (like the map loader), and a
SiteError carries them all. Nothing opens a port here; the result is plain dataclasses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from solartui.errors import MapError, SolartuiError
from solartui.links.target import Target, parse_target
from solartui.mqtt.site_section import parse_mqtt_section
from solartui.registers import catalog
from solartui.registers.command_model import CommandField, CommandMap
from solartui.registers.model import DeviceMap, Point
from solartui.registers.page_map import PageMap, resolve_page_map
from solartui.registers.suggest import no_such
from solartui.registers.yaml_lines import Findings, is_num, key_line, parse_yaml
from solartui.user_paths import PathRefused, absolute, read_text, user_path

TOP_KEYS = ("schema", "site", "period", "error_log", "devices", "mqtt")
TOP_REQUIRED = ("schema", "site", "period", "devices")
DEVICE_KEYS = ("name", "target", "map", "unit", "points", "csv", "period", "intended",
               "export_limit_w")
DEVICE_REQUIRED = ("name", "target", "map")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SERIAL_SCHEMES = ("rtu", "pi30", "hidraw", "broadcast")
LIVE_ROLES = ("live", "settings")       # PI30 "all": what `read` shows by default


class SiteError(SolartuiError):
    """A site file is unusable; the message is every finding, one `FILE:LINE: ...` a line."""

    def __init__(self, path: str, findings: list[str]):
        self.path = path
        self.findings = findings
        super().__init__("\n".join(findings) if findings else f"{path}: invalid site file")


@dataclass(frozen=True)
class SiteDevice:
    """One device to log: where it is, how to read it, what to read, where its rows go."""

    name: str
    target: Target                      # with the effective unit (Modbus) set
    target_text: str                    # as written in the file
    map: DeviceMap | CommandMap
    unit: int | None                    # None for PI30 (no unit address)
    points: tuple                       # Points (register maps) or CommandFields (PI30)
    csv: Path
    period: float                       # seconds
    line: int                           # where the device starts in the site file
    target_line: int = 0
    csv_line: int = 0
    intended: dict = field(default_factory=dict)    # point -> the value the site wants (checks)
    export_limit_w: float | None = None             # the site's export limit (checks)

    @property
    def is_pi30(self) -> bool:
        return self.target.is_pi30

    @property
    def is_broadcast(self) -> bool:
        return self.target.is_broadcast


@dataclass(frozen=True)
class Channel:
    """One physical link (a serial port, a TCP endpoint): its devices share one scheduler."""

    key: str
    target: Target                      # the link's target: the slowest pacing of its devices
    devices: tuple[SiteDevice, ...]

    @property
    def period_s(self) -> float:
        return (self.target.period_ms or 0) / 1000


@dataclass(frozen=True)
class Site:
    path: Path
    name: str
    period: float
    error_log: Path
    devices: tuple[SiteDevice, ...]
    channels: tuple[Channel, ...]
    mqtt: dict | None = None            # the `mqtt:` section, checked (cli/mqtt_options.py)

    def summary(self) -> str:
        periods = sorted({d.period for d in self.devices})
        every = " / ".join(f"{p:g} s" for p in periods)
        return (f"site {self.name}: {len(self.devices)} device{'s' * (len(self.devices) != 1)} "
                f"on {len(self.channels)} channel{'s' * (len(self.channels) != 1)}, "
                f"every {every}")





def _period(value: Any, f: Findings, line: int, device: str | None) -> float | None:
    if not is_num(value):
        f.add(line, f"period must be a number of seconds, got {value!r}", device)
        return None
    if value <= 0:
        f.add(line, f"period must be more than 0 seconds, got {value!r}", device)
        return None
    return float(value)


def read_site_text(path: Path) -> str:
    try:
        return read_text(path)
    except PathRefused as exc:
        raise SiteError(str(path), [f"{path}: cannot read site file: {exc}"]) from None


def _file_path(value: Any, folder: Path, f: Findings, line: int, key: str,
               device: str | None) -> Path | None:
    """A csv or error_log path as written (relative to the site file's folder), or None with a
    finding: empty, not text, a NUL byte, ~nosuchuser, a name too long."""
    if not (isinstance(value, str) and value.strip()):
        f.add(line, f"{key} must be a file path", device)
        return None
    try:
        return user_path(value, folder)
    except PathRefused as exc:
        f.add(line, f"{key}: {exc}", device)
        return None


def load_site(path: str | Path) -> Site:
    """Read and validate a site file; SiteError lists every problem."""
    if isinstance(path, str):
        try:
            p = user_path(path)
        except PathRefused as exc:
            raise SiteError(path, [f"{path!r}: cannot read site file: {exc}"]) from None
    else:
        p = path
    return parse_site(read_site_text(p), p)


def parse_site(text: str, path: Path) -> Site:
    shown = str(path)
    try:
        data, duplicates = parse_yaml(text, shown)
    except MapError as exc:
        raise SiteError(shown, exc.findings) from None
    f = Findings(shown, "device")
    if not isinstance(data, dict):
        raise SiteError(shown, [f"{shown}:1: a site file is a mapping with schema, site, period "
                                "and devices"])
    for ln, key, _ in duplicates:
        f.add(ln, f"duplicate key '{key}'")
    for key in data:
        if key not in TOP_KEYS:
            f.add(key_line(data, key), f"unknown key '{key}' (allowed: {', '.join(TOP_KEYS)})")
    for key in TOP_REQUIRED:
        if data.get(key) is None:
            f.add(key_line(data), f"missing '{key}'")
    if data.get("schema") is not None and data["schema"] != 1:
        f.add(key_line(data, "schema"), f"schema {data['schema']!r} is not supported (expected 1)")
    name = data.get("site")
    if name is not None and not (isinstance(name, str) and NAME_RE.match(name)):
        f.add(key_line(data, "site"), f"site name {name!r} must be letters, digits, '.', '_' or "
                                   "'-' (it names the state file)")
    period = None
    if data.get("period") is not None:
        period = _period(data["period"], f, key_line(data, "period"), None)
    folder = path.parent
    error_log = folder / f"{path.stem}.errors.log"
    if data.get("error_log") is not None:
        error_log = _file_path(data["error_log"], folder, f, key_line(data, "error_log"),
                               "error_log", None) or error_log
    devices: list[SiteDevice] = []
    raw_devices = data.get("devices")
    if raw_devices is not None:
        if not isinstance(raw_devices, list) or not raw_devices:
            f.add(key_line(data, "devices"), "devices must be a list of at least one device")
        else:
            seen: dict[str, int] = {}
            for d in raw_devices:
                dev = _device(d, f, folder, period or 1.0, seen, key_line(data, "devices"))
                if dev is not None:
                    devices.append(dev)
    mqtt = parse_mqtt_section(
        data.get("mqtt"), f, key_line(data, "mqtt"),
        lambda value, ln, key: _file_path(value, folder, f, ln, key, None)) \
        if "mqtt" in data else None
    channels = _channels(devices, f)
    _check_files(devices, error_log, f)
    if f.items:
        raise SiteError(shown, f.in_file_order())
    assert name is not None and period is not None
    return Site(path=path, name=name, period=period, error_log=error_log,
                devices=tuple(devices), channels=tuple(channels), mqtt=mqtt)


def _resolve_map(name: str, folder: Path):
    if name.endswith((".yaml", ".yml")) or "/" in name or name.startswith("~"):
        try:
            return catalog.resolve(str(user_path(name, folder)))
        except PathRefused as exc:
            raise SolartuiError(f"map: {exc}") from None
    return catalog.resolve(name)


def _device(d: Any, f: Findings, folder: Path, site_period: float, seen: dict[str, int],
            list_line: int) -> SiteDevice | None:
    if not isinstance(d, dict):
        f.add(list_line, f"each device is a mapping with name, target and map, got {d!r}")
        return None
    name = d.get("name")
    label = name if isinstance(name, str) else None
    bad = len(f.items)
    for key in d:
        if key not in DEVICE_KEYS:
            f.add(key_line(d, key), f"unknown key '{key}' (allowed: {', '.join(DEVICE_KEYS)})",
                  label)
    for key in DEVICE_REQUIRED:
        if d.get(key) is None:
            f.add(key_line(d), f"missing '{key}'", label)
    if name is not None:
        if not (isinstance(name, str) and NAME_RE.match(name)):
            f.add(key_line(d, "name"), f"device name {name!r} must be letters, digits, '.', '_' or "
                                    "'-'")
        elif name in seen:
            f.add(key_line(d, "name"), f"device name '{name}' is used twice (first on line "
                                    f"{seen[name]})")
        else:
            seen[name] = key_line(d, "name")
    target = None
    if isinstance(d.get("target"), str) and "\0" in d["target"]:
        f.add(key_line(d, "target"), "target: a URL cannot contain a NUL byte", label)
    elif isinstance(d.get("target"), str):
        try:
            target = parse_target(d["target"])
        except SolartuiError as exc:
            f.add(key_line(d, "target"), f"target: {exc}", label)
    elif d.get("target") is not None:
        f.add(key_line(d, "target"), "target must be a URL such as rtu:///dev/ttyUSB0?baud=9600",
              label)
    m = None
    if isinstance(d.get("map"), str) and target is not None and target.is_broadcast:
        try:
            m = resolve_page_map(d["map"])
        except MapError as exc:
            f.add(key_line(d, "map"), f"map '{d['map']}': {exc}", label)
        if m is not None and m.id != target.page_map:
            f.add(key_line(d, "map"), f"map '{m.id}' disagrees with the target's "
                                      f"map={target.page_map}", label)
    elif isinstance(d.get("map"), str):
        try:
            m = _resolve_map(d["map"], folder)
        except MapError as exc:
            f.add(key_line(d, "map"), f"map '{d['map']}' does not load: {exc}", label)
        except SolartuiError as exc:
            hint = ""
            if target is not None and _is_page_map(d["map"]):
                hint = (f"; {d['map']} is a listen-only page map: use it with "
                        f"broadcast://PORT?map={d['map']}")
            f.add(key_line(d, "map"), f"{exc}{hint}", label)
    elif d.get("map") is not None:
        f.add(key_line(d, "map"), "map must be a map id or a path to a map file", label)
    if target is not None and m is not None:
        _check_protocol(target, m, f, key_line(d, "map"), label)
    unit = _unit(d, target, m, f, label)
    points = _points(d, m, f, label) if m is not None else ()
    period = site_period
    if d.get("period") is not None:
        period = _period(d["period"], f, key_line(d, "period"), label) or site_period
    csv = folder / f"{name}.csv" if isinstance(name, str) else folder / "device.csv"
    if d.get("csv") is not None:
        csv = _file_path(d["csv"], folder, f, key_line(d, "csv"), "csv", label) or csv
    intended = _intended(d, m, f, label) if m is not None else {}
    limit = d.get("export_limit_w")
    if limit is not None and not (is_num(limit) and limit >= 0):
        f.add(key_line(d, "export_limit_w"), "export_limit_w must be a number of watts ≥ 0",
              label)
    if len(f.items) > bad or target is None or m is None:
        return None
    if not target.is_pi30:
        target = target.with_unit(unit)
    return SiteDevice(name=name, target=target, target_text=d["target"], map=m,
                      unit=None if target.is_pi30 else unit, points=points, csv=csv,
                      period=period, line=key_line(d), target_line=key_line(d, "target"),
                      csv_line=key_line(d, "csv"), intended=intended,
                      export_limit_w=None if limit is None else float(limit))


def _is_page_map(name: str) -> bool:
    try:
        resolve_page_map(name)
    except MapError:
        return False
    return True


def _intended(d: dict, m, f: Findings, label) -> dict:
    """The settings the site wants (`solartui check` lists any that differ): point -> value."""
    v = d.get("intended")
    if v is None:
        return {}
    if not isinstance(v, dict):
        f.add(key_line(d, "intended"), "intended must map point names to values", label)
        return {}
    if isinstance(m, PageMap):
        f.add(key_line(d, "intended"), f"intended: {m.id} is listen-only: it has no settings "
                                       "to check", label)
        return {}
    names = ({fl.name for c in m.commands for fl in c.fields} if isinstance(m, CommandMap)
             else {p.name for p in m.points})
    for name, value in v.items():
        if name not in names:
            f.add(key_line(v, name), f"intended: no point '{name}' in map {m.id}", label)
        elif not (is_num(value) or isinstance(value, str)):
            f.add(key_line(v, name), f"intended: {name} must be a number or a label", label)
    return dict(v)


def _check_protocol(target: Target, m, f: Findings, line: int, label) -> None:
    if isinstance(m, PageMap) or target.is_broadcast:
        if not (isinstance(m, PageMap) and target.is_broadcast):
            f.add(line, f"map '{m.id}' and a {target.scheme}:// target do not go together: a "
                        "broadcast page map needs a broadcast:// target and the other way round",
                  label)
        return
    if target.is_pi30 and not isinstance(m, CommandMap):
        f.add(line, f"map '{m.id}' describes Modbus registers; a {target.scheme}:// target "
                    "needs a command map (protocol: pi30), e.g. voltronic-pi30", label)
    elif not target.is_pi30 and isinstance(m, CommandMap):
        f.add(line, f"map '{m.id}' describes {m.protocol.upper()} commands, not registers; use "
                    "it with a pi30://, hid:// or hidraw:// target", label)
    elif target.scheme == "givenergy" and m.protocol != "givenergy":
        f.add(line, f"map '{m.id}' is a plain Modbus map; a givenergy:// target needs a "
                    "GivEnergy map, e.g. givenergy-hybrid", label)
    elif target.scheme == "solarman" and m.protocol == "givenergy":
        f.add(line, f"map '{m.id}' is a GivEnergy map; a solarman:// logger carries plain "
                    "Modbus RTU: use a Modbus map, e.g. growatt-protocol-ii", label)


def _unit(d: dict, target: Target | None, m, f: Findings, label) -> int | None:
    """The unit address: the `unit:` key, else the URL's unit=, else the map's default."""
    if d.get("unit") is not None:
        u = d["unit"]
        if target is not None and (target.is_pi30 or target.is_broadcast):
            f.add(key_line(d, "unit"), f"a {target.scheme}:// target has no unit address",
                  label)
            return None
        if not (isinstance(u, int) and not isinstance(u, bool) and 1 <= u <= 255):
            f.add(key_line(d, "unit"), f"unit must be a whole number 1-255, got {u!r}", label)
            return None
    if target is None or target.is_pi30 or not isinstance(m, DeviceMap):
        return None
    unit = d.get("unit") if d.get("unit") is not None else \
        target.unit if target.unit is not None else m.link.unit
    lo, hi = m.link.units
    if not lo <= unit <= hi:
        f.add(key_line(d, "unit" if d.get("unit") is not None else "target"),
              f"unit {unit} is outside map {m.id}'s unit range {lo}-{hi}", label)
    return unit


def _points(d: dict, m, f: Findings, label) -> tuple:
    """The points (or PI30 fields) named, in order; omitted or "all": every readable one."""
    spec = d.get("points", "all")
    if isinstance(m, PageMap):
        every = list(m.fields)
        by_name = {fl.name: fl for fl in m.fields}
        what = "field"
    elif isinstance(m, CommandMap):
        every: list = [fl for c in m.commands if c.role in LIVE_ROLES for fl in c.fields]
        by_name = {fl.name: fl for fl in m.fields}
        what = "field"
    else:
        every = [p for p in m.points if p.readable]
        by_name = {p.name: p for p in m.points}
        what = "point"
    if spec is None or spec == "all":
        if not every:
            f.add(key_line(d, "map"), f"map {m.id} has no readable {what}s to log", label)
        return tuple(every)
    line = key_line(d, "points")
    if not (isinstance(spec, list) and spec and all(isinstance(x, str) for x in spec)):
        f.add(line, f"points must be a list of {what} names, or \"all\"", label)
        return ()
    out: list[Point | CommandField] = []      # or PageFields
    for name in spec:
        item = by_name.get(name)
        if item is None:
            items = [(k, getattr(v, "doc", "")) for k, v in by_name.items()]
            f.add(line, no_such(what, [name], m.id, items), label)
        elif isinstance(item, Point) and not item.readable:
            f.add(line, f"point '{name}' of map {m.id} is write-only: it cannot be logged", label)
        elif item in out:
            f.add(line, f"{what} '{name}' is listed twice", label)
        else:
            out.append(item)
    return tuple(out)


def physical_key(target: Target) -> str:
    """The port or endpoint itself, whatever protocol is spoken on it."""
    if target.scheme in SERIAL_SCHEMES:
        return target.path
    if target.scheme == "hid":
        return str(target)              # VID:PID, and bus/address when pinned
    return f"{target.host}:{target.port}"


def _serial_settings(dev: SiteDevice) -> tuple:
    t, m = dev.target, dev.map
    if t.scheme not in ("rtu", "pi30"):
        return ()
    parity = (t.parity or getattr(m.link, "parity", "N")) if t.scheme == "rtu" else "N"
    return (t.baud or m.link.baudrates[0], parity, t.stopbits)


def _channels(devices: list[SiteDevice], f: Findings) -> list[Channel]:
    """Group devices by physical link; refuse what cannot share one; take the slowest pacing."""
    groups: dict[str, list[SiteDevice]] = {}
    for dev in devices:
        groups.setdefault(physical_key(dev.target), []).append(dev)
    out = []
    for key, devs in groups.items():
        first = devs[0]
        where = first.target.link_key
        ok = True
        seen_units: dict = {}
        for dev in devs:
            if dev.target.scheme != first.target.scheme:
                f.add(dev.target_line, f"{key} is also used by device {first.name} with "
                                f"{first.target.scheme}://: one port speaks one protocol", dev.name)
                ok = False
                continue
            if dev.target.serial != first.target.serial:
                f.add(dev.target_line, f"{key} is a Solarman logger with serial "
                                f"{first.target.serial} for device {first.name}; one logger has "
                                f"one serial, not {dev.target.serial}", dev.name)
                ok = False
                continue
            if _serial_settings(dev) != _serial_settings(first):
                b, p, s = _serial_settings(dev)
                b0, p0, s0 = _serial_settings(first)
                f.add(dev.target_line, f"{where} runs at {b}/8{p}{s} here but at {b0}/8{p0}{s0} for "
                                f"device {first.name}: devices on one bus share its settings",
                      dev.name)
                ok = False
            ident = None if dev.is_pi30 or dev.is_broadcast else dev.unit
            if ident in seen_units:
                why = (f"{where} is a listen-only port already logged as device "
                       f"{seen_units[ident]} (one device per port for now)" if dev.is_broadcast
                       else f"{where} is a PI30 port already logged as device {seen_units[ident]} "
                       "(one inverter per port)" if dev.is_pi30 else
                       f"{where} unit {dev.unit} is already logged as device {seen_units[ident]}")
                f.add(dev.target_line, why, dev.name)
                ok = False
            seen_units.setdefault(ident, dev.name)
        if not ok:
            continue
        if first.is_broadcast:          # nothing is sent: no pacing to agree on
            out.append(Channel(first.target.link_key, first.target, tuple(devs)))
            continue
        pacing = [d.target.pacing_ms(d.map.link.min_period_ms, d.map.link.timeout_ms)
                  for d in devs]
        baud = _serial_settings(first)
        target = replace(first.target, period_ms=max(p for p, _ in pacing),
                         timeout_ms=max(t for _, t in pacing),
                         **({"baud": baud[0], "parity": baud[1]}
                            if first.target.scheme == "rtu" else {}))
        out.append(Channel(key if first.target.scheme == "hid" else first.target.link_key,
                           target, tuple(devs)))
    return out


def _check_files(devices: list[SiteDevice], error_log: Path, f: Findings) -> None:
    """Two devices writing one CSV would mix columns; the error log is not a CSV either."""
    owner: dict[Path, str] = {absolute(error_log): "the error log"}
    for dev in devices:
        p = absolute(dev.csv)
        if p in owner:
            f.add(dev.csv_line, f"csv {dev.csv} is also written by {owner[p]}", dev.name)
        else:
            owner[p] = f"device {dev.name}"
