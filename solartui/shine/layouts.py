"""Which register map decodes a datalogger's records: chosen per inverter from what its datalogger
announces and from the record's own shape, or "unknown layout" rather than a wrong guess.

Why: a data record is a verbatim dump of input-register groups (growatt-shine.md §2.4), and the
same input address means different things per Growatt generation. Decoded with the Protocol II
map, a legacy (V3.15) inverter's Pac 505.1 W at input 11–12 shows as "ipv3 505.1 A" and every
later value is wrong too. So the map is picked per inverter, and a record that fits no known
family is said to be of unknown layout and left undecoded.

The evidence, strongest first:

* the announce (0x03, holding registers): holding 43 = 34xx is an SPF off-grid unit
  (growatt-modbus.md §3.3); holding 88 (Protocol II's ModbusVersion, §3.1) reads 0 on the legacy
  unit of the sciurius capture and 207-style versions on Protocol II units; 125-register groups
  are Protocol II, 45-register groups the older loggers' shape.
* the record's group structure (what real dataloggers send, checked against real records):

    ====================  ==============================  ==================================
    family                input groups in a 0x04 record   evidence
    ====================  ==============================  ==================================
    legacy (V3.15)        0–44, 45–89                     grotttest QMB2823261, sciurius p02
    SPF off-grid          0–44, 45–89, 90–134             grott's T06NNNNSPF test record
    SPH / MIX (storage)   0–124, 1000–1124                growatt-shine.md §2.4 ("X" records)
    TL3 / MAX             0–124 (125–249)                 Protocol II §1.3 groups
    MIN TL-X / TL-XH      3000–3124 ...                   no shipped map: unknown layout
    ====================  ==============================  ==================================

A record's shape and the announce must agree; when they disagree (an SPF announce with 125-word
groups) the layout is unknown. Without an announce (the server restarted while the logger stayed
connected), two 45-word groups are the legacy shape: SPF loggers send a third group.
"""

from __future__ import annotations

from dataclasses import dataclass

from solartui.errors import SolartuiError
from solartui.registers import catalog
from solartui.registers.model import DeviceMap

LEGACY, SPF, PROTOCOL_II = "legacy", "spf", "protocol-ii"

MAP_IDS = {LEGACY: "growatt-legacy", SPF: "growatt-spf", PROTOCOL_II: "growatt-protocol-ii"}

# What a real datalogger sends per family (simulated datalogger and tests use the same table):
# family -> (map family, input groups of a data record, holding groups of an announce or None
# for every holding block of the map: no Protocol II announce capture is published)
RECORD_SHAPES: dict[str, tuple[str, tuple, tuple | None]] = {
    "legacy": (LEGACY, ((0, 44), (45, 89)), ((0, 44), (45, 89))),       # sciurius announce
    "spf": (SPF, ((0, 44), (45, 89), (90, 134)), ((0, 44), (45, 89), (90, 134))),
    "sph": (PROTOCOL_II, ((0, 124), (1000, 1124)), None),
    "tl3": (PROTOCOL_II, ((0, 124), (125, 249)), None),
}

SPF_DEVICE_TYPES = range(3400, 3500)        # holding 43, §3.3
_PROTOCOL_II_STARTS = {0, 125, 1000, 1125, 2000}  # 125-register input groups of §1.3


@dataclass(frozen=True)
class Layout:
    """The map a record is decoded with, or none (unknown layout), and why, in words."""

    family: str | None
    device_map: DeviceMap | None
    why: str

    @property
    def known(self) -> bool:
        return self.device_map is not None

    @property
    def text(self) -> str:
        if self.device_map is None:
            return f"unknown layout: {self.why}"
        return f"{self.device_map.id} ({self.why})"


def shape_text(groups) -> str:
    return ", ".join(f"{g.start}–{g.start + len(g.words) - 1}" for g in groups) or "no groups"


def _word(groups, address: int) -> int | None:
    for g in groups:
        if g.start <= address < g.start + len(g.words):
            return g.words[address - g.start]
    return None


def _all_45(groups) -> bool:
    return bool(groups) and all(len(g.words) == 45 and g.start % 45 == 0 for g in groups)


def _all_125(groups) -> bool:
    return bool(groups) and all(g.start in _PROTOCOL_II_STARTS and len(g.words) <= 125
                                for g in groups)


def from_announce(groups) -> tuple[str | None, str]:
    """(family, why) from an announce's holding-register groups; family None when it cannot tell."""
    dtc = _word(groups, 43)
    if dtc is not None and dtc in SPF_DEVICE_TYPES:
        return SPF, f"announce: holding 43 device type {dtc} (SPF)"
    version = _word(groups, 88)
    if _all_45(groups):
        if version == 0 or version is None:
            return LEGACY, "announce: 45-register groups, holding 88 protocol version 0"
        return None, f"announce: 45-register groups but holding 88 reads {version}"
    if _all_125(groups):
        return PROTOCOL_II, (f"announce: holding 88 protocol version {version}" if version
                             else "announce: 125-register groups")
    return None, f"announce groups {shape_text(groups)}"


def from_record(groups) -> tuple[str | None, str]:
    """(family, why) from a data record's input groups alone."""
    if any(g.start >= 3000 for g in groups):
        return None, (f"input groups {shape_text(groups)}: the MIN TL-X / TL-XH 3000+ block, "
                      "which no shipped map describes")
    if _all_45(groups):
        if any(g.start >= 90 for g in groups):
            return SPF, f"record groups {shape_text(groups)} (the SPF shape)"
        return LEGACY, f"record groups {shape_text(groups)} (the legacy shape)"
    if _all_125(groups):
        return PROTOCOL_II, f"record groups {shape_text(groups)} (Protocol II groups)"
    return None, f"input groups {shape_text(groups)} match no known Growatt record"


def resolve(family: str, default: DeviceMap | None = None) -> DeviceMap | None:
    """The map of a family; `default` (a server started with --map) stands in for Protocol II,
    unless it is another family's map: a legacy record never goes through a Protocol II map, nor
    the other way round."""
    if family == PROTOCOL_II and default is not None and default.id not in (
            MAP_IDS[LEGACY], MAP_IDS[SPF]):
        return default
    try:
        return catalog.resolve_register_map(MAP_IDS[family])
    except (KeyError, SolartuiError):
        return None


def choose(groups, announced: tuple[str | None, str] | None = None,
           default: DeviceMap | None = None) -> Layout:
    """The layout of a data record with input `groups`, given what the announce said (if any)."""
    fam, why = from_record(groups)
    if fam is None:
        return Layout(None, None, why)
    ann_fam, ann_why = announced if announced else (None, "")
    if ann_fam is not None and ann_fam != fam:
        if ann_fam == SPF and fam == LEGACY:
            fam, why = SPF, f"{ann_why}; {why}"         # an SPF logger sending two groups only
        else:
            return Layout(None, None, f"{ann_why}, but {why}")
    elif ann_fam is not None:
        why = f"{ann_why}; {why}"
    m = resolve(fam, default)
    if m is None:
        return Layout(None, None, f"{why}: the {MAP_IDS[fam]} map is not installed")
    return Layout(fam, m, why)


def announce_map(announced: tuple[str | None, str] | None,
                 default: DeviceMap | None) -> DeviceMap | None:
    """The map to read an announce's identity (and to talk to the inverter) with."""
    fam = announced[0] if announced else None
    if fam is None:
        return default
    return resolve(fam, default) or default
