"""Which GivEnergy family a device is, from its device type code (HR0), and which map reads it.

Why: every GivEnergy unit answers HR(0,60) and IR(0,60) at 0x11, so "it answered" proves
nothing — an EMS, a Gateway or a three-phase inverter keeps its live data elsewhere (IR 2040+,
1600+, 1000+; protocols/givenergy.md §6.1) and shows zeros or unrelated numbers in the
single-phase map's registers. So the map is chosen from HR0 (§8.2) and a code no shipped map
is known to fit is refused in one line, never read with a map that merely answers.

The codes a family covers are the ones the notes and the captures document: single-phase
hybrids 2xxx, AC-coupled 3xxx (capture 3001), three-phase hybrids 4xxx (capture 4004; 41xx is
the commercial AIO, no capture), EMS 5xxx (capture 5001; 51xx commercial EMS, no capture),
Gateway 7xxx (capture 7001) and All-in-One 80xx (captures 8001). Refused: three-phase AC 6xxx,
41xx, 51xx, and 81xx/82xx/83xx (HV Gen3, AIO hybrid, Gen4: the library polls an 8102 at IR 1000+
like a three-phase unit, so neither layout is established for them).
"""

from __future__ import annotations

from dataclasses import dataclass

from solartui.errors import SolartuiError


@dataclass(frozen=True)
class Family:
    key: str                    # the simulator's --family name
    name: str                   # words for people
    map_id: str | None          # the shipped map that reads it; None: not supported yet
    write_model: str            # the write-safe list its link applies (givenergy/write_safe.py)


HYBRID = Family("hybrid", "single-phase hybrid", "givenergy-hybrid", "single-phase")
AC = Family("ac", "AC-coupled", "givenergy-ac", "ac")
AIO = Family("aio", "All-in-One", "givenergy-ac", "aio")
THREE_PHASE = Family("three-phase", "three-phase hybrid", "givenergy-three-phase", "three-phase")
EMS = Family("ems", "EMS", "givenergy-ems", "none")
GATEWAY = Family("gateway", "Gateway", "givenergy-gateway", "none")
SUPPORTED = (HYBRID, AC, AIO, THREE_PHASE, EMS, GATEWAY)

# first hex digit / two-digit prefix -> family; a prefix listed with None is named but refused
_BY_PREFIX: dict[str, Family | str] = {
    "41": "AIO commercial", "51": "EMS commercial", "81": "HV Gen3 hybrid",
    "82": "AIO hybrid", "83": "Gen4 hybrid",
}
_BY_DIGIT: dict[str, Family | str] = {
    "2": HYBRID, "3": AC, "4": THREE_PHASE, "5": EMS, "6": "three-phase AC", "7": GATEWAY,
}

# the device type code each simulated family presents (the captures' own codes)
SIM_CODES = {"hybrid": 0x2001, "ac": 0x3001, "aio": 0x8001, "three-phase": 0x4004,
             "ems": 0x5001, "gateway": 0x7001}


class UnsupportedFamily(SolartuiError):
    """HR0 names a family no shipped map reads (or no family at all)."""

    def __init__(self, device_type: int, name: str | None):
        self.device_type = device_type
        what = f" ({name})" if name else ""
        super().__init__(f"GivEnergy device type 0x{device_type:04X}{what} is not supported yet; "
                         "name a map with --map")


def classify(device_type: int) -> Family | str | None:
    """The Family for a code, the family's name where it is known but not supported, or None."""
    code = f"{device_type & 0xFFFF:04X}"
    if code[:2] in _BY_PREFIX:
        return _BY_PREFIX[code[:2]]
    if code[0] == "8":
        return AIO if code[1] == "0" else "All-in-One variant"
    return _BY_DIGIT.get(code[0])


def family_for(device_type: int) -> Family:
    """The supported Family for HR0, or UnsupportedFamily (one line, with the code)."""
    found = classify(device_type)
    if isinstance(found, Family):
        return found
    raise UnsupportedFamily(device_type, found)


def write_model_for_map(map_id: str) -> str:
    """The write-safe list for a named map (a map named with --map, not identified): the
    family whose map it is; an unknown GivEnergy map gets the single-phase list."""
    for fam in SUPPORTED:
        if fam.map_id == map_id:
            return "ac" if fam is AIO else fam.write_model
    return "single-phase"
