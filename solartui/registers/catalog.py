"""Where maps live and how a map is named on the command line (an id or a file path)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from solartui.errors import MapError, SolartuiError
from solartui.registers.command_map import CommandMap, parse_command_map
from solartui.registers.loader import parse_map, read_map_text
from solartui.registers.model import DeviceMap
from solartui.user_paths import PathRefused, exists, user_path

AnyMap = DeviceMap | CommandMap
# a command map says `protocol: pi30` at the top level; everything else is a register map
_COMMAND_PROTOCOL = re.compile(r"^protocol:[ \t]*[\"']?pi30[\"']?[ \t]*(#.*)?$", re.M)


def maps_dir() -> Path:
    """The shipped maps: `maps/` in a checkout, `solartui/_maps` inside an installed wheel."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_maps", here.parent / "maps"):
        if candidate.is_dir():
            return candidate
    raise SolartuiError("no maps folder found: the installation is incomplete")


def map_files() -> list[Path]:
    return sorted(maps_dir().glob("*.yaml"))


@lru_cache(maxsize=None)
def _load_cached(path: str, mtime: float) -> AnyMap:
    text = read_map_text(path)
    if _COMMAND_PROTOCOL.search(text):
        return parse_command_map(text, path)
    return parse_map(text, path)


def load(path: str | Path) -> AnyMap:
    p = Path(path)
    try:
        mtime = p.stat().st_mtime
    except OSError as exc:
        raise MapError(str(p), [f"{p}: cannot read map: {exc.strerror}"]) from None
    except ValueError:                  # a NUL byte
        raise MapError(str(p), [f"{p!r}: cannot read map: a path cannot contain a NUL byte"]) \
            from None
    return _load_cached(str(p), mtime)


def all_maps(protocol: str | None = "modbus") -> list:
    """Every shipped map that loads (a broken one is skipped here; `maps check` reports it).

    By default only register (Modbus) maps, which is what the Modbus scanners and the session
    can drive; `protocol=None` gives every map, `protocol="pi30"` the command maps."""
    out = []
    for f in map_files():
        try:
            m = load(f)
        except MapError:
            continue
        if protocol is None or m.protocol == protocol:
            out.append(m)
    return out


def resolve(name: str) -> AnyMap:
    """A map by id (`growatt-protocol-ii`, `voltronic-pi30`) or by path to a YAML file: a
    DeviceMap, or a CommandMap for a `protocol: pi30` file."""
    if not isinstance(name, str) or not name:
        raise SolartuiError("a map is named by its id or the path of a map file")
    if "/" in name or name.startswith("~") or name.endswith((".yaml", ".yml")):
        try:
            return load(user_path(name))
        except PathRefused as exc:
            raise SolartuiError(f"map {_shown(name)}: {exc}") from None
    if "\0" in name or len(name) > 128:
        raise SolartuiError(f"no map with id {_shown(name)}: an id is a short name such as "
                            "growatt-protocol-ii")
    if name == "sunspec":               # built from the SunSpec definitions, not a file
        from solartui.registers.sunspec import name_map
        return name_map()
    p = Path(name)
    if exists(p):
        return load(p)
    for f in map_files():
        try:
            m = load(f)
        except MapError:
            continue
        if m.id == name:
            return m
    known = ", ".join(m.id for m in all_maps(protocol=None))
    raise SolartuiError(f"no map with id {_shown(name)} (known: {known})")


def _shown(name: str) -> str:
    """A map name for a one-line message: quoted, control characters escaped, long ones cut."""
    text = repr(name)
    return text if len(text) <= 60 else text[:40] + "..." + text[-12:]


def resolve_register_map(name: str) -> DeviceMap:
    """`resolve` for the places that drive Modbus registers: a command map there is one clear line."""
    m = resolve(name)
    if not isinstance(m, DeviceMap):
        raise SolartuiError(f"map '{m.id}' describes {m.protocol.upper()} commands, not registers; "
                            "use it with a pi30://, hid:// or hidraw:// target")
    return m


def resolve_command_map(name: str | None) -> CommandMap:
    """The command map for a PI30 target: the one named, or the shipped PI30 map."""
    if name is None:
        maps = all_maps(protocol="pi30")
        if not maps:
            raise SolartuiError("no PI30 command map is shipped; name one with --map")
        return maps[0]
    m = resolve(name)
    if not isinstance(m, CommandMap):
        raise SolartuiError(f"map '{m.id}' describes Modbus registers; a PI30 target needs a "
                            "command map (protocol: pi30), e.g. voltronic-pi30")
    return m
