"""Where maps live and how a map is named on the command line (an id or a file path)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from solartui.errors import MapError, SolartuiError
from solartui.registers.loader import load_map
from solartui.registers.model import DeviceMap


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
def _load_cached(path: str, mtime: float) -> DeviceMap:
    return load_map(path)


def load(path: str | Path) -> DeviceMap:
    p = Path(path)
    try:
        mtime = p.stat().st_mtime
    except OSError as exc:
        raise MapError(str(p), [f"{p}: cannot read map: {exc.strerror}"]) from None
    return _load_cached(str(p), mtime)


def all_maps() -> list[DeviceMap]:
    """Every shipped map that loads (a broken one is skipped here; `maps check` reports it)."""
    out = []
    for f in map_files():
        try:
            out.append(load(f))
        except MapError:
            continue
    return out


def resolve(name: str) -> DeviceMap:
    """A map by id (`growatt-protocol-ii`) or by path to a YAML file."""
    p = Path(name)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return load(p)
    for f in map_files():
        try:
            m = load(f)
        except MapError:
            continue
        if m.id == name:
            return m
    known = ", ".join(m.id for m in all_maps())
    raise SolartuiError(f"no map with id '{name}' (known: {known})")
