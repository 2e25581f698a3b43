"""What a loaded register map is: plain immutable records, built by the loader only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from solartui.registers.overview import Overview
    from solartui.registers.publish_spec import PublishSpec

TABLES = ("input", "holding")
READ_FUNCTION = {"input": 4, "holding": 3}

TYPE_WIDTH = {"u16": 1, "s16": 1, "hhmm": 1, "hhmm_dec": 1, "u32": 2, "s32": 2, "f32": 2,
              "ascii": None}
INTEGER_TYPES = ("u16", "s16", "u32", "s32")
# types whose value is text: no scale, range or enum; written as typed ("06:30", a serial)
TEXT_TYPES = ("ascii", "hhmm", "hhmm_dec")
# a time of day as one register: hhmm = hour in the high byte, minute in the low byte;
# hhmm_dec = hour * 100 + minute (GivEnergy slots: 430 is 04:30)
TIME_TYPES = ("hhmm", "hhmm_dec")

RUNGS = ("generated", "structure-verified", "interop-verified", "simulator-verified",
         "hardware-verified")


def rung_index(rung: str) -> int:
    return RUNGS.index(rung)


@dataclass(frozen=True)
class Field:
    """A value at an address: enough to decode it (used by identify and by points)."""

    table: str
    address: int
    type: str
    count: int = 1          # registers
    words: str = "big"      # order of 32-bit halves
    scale: float = 1.0

    @property
    def end(self) -> int:
        """Last register address (inclusive)."""
        return self.address + self.count - 1


@dataclass(frozen=True, eq=False)
class Point(Field):
    """A named value of a map. Compared and hashed by identity: each is one entry of one map."""

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    name: str = ""
    doc: str = ""
    unit: str = ""
    offset: int = 0         # raw units: value = (raw − offset) × scale (Deye: +100 °C as 1000)
    group: str = "Other"
    access: str = "r"
    range: tuple[float, float] | None = None
    step: float | None = None
    enum: dict[int, str] | None = None
    bits: dict[int, str] | None = None
    special: dict[int, str] | None = None
    write_function: int | None = None
    readback_delay_ms: int = 1000
    guard: bool = False
    trust: str = "generated"
    source: str = ""
    note: str = ""
    alias_of: str | None = None
    line: int = 0

    @property
    def writable(self) -> bool:
        return self.access in ("rw", "w") and not self.guard

    @property
    def readable(self) -> bool:
        return self.access in ("r", "rw")


@dataclass(frozen=True)
class LinkSpec:
    baudrates: tuple[int, ...] = (9600,)
    parity: str = "N"
    unit: int = 1
    units: tuple[int, int] = (1, 247)
    min_period_ms: int = 0
    timeout_ms: int = 1000
    max_read: int = 125
    max_write: int = 123
    functions: tuple[int, ...] = (3, 4, 6, 16)


@dataclass(frozen=True)
class ClockSpec:
    table: str
    address: int
    fields: tuple[str, ...]
    year: str = "auto"          # full | offset2000 | auto
    function: int = 16


@dataclass(frozen=True)
class ProbeHint:
    """How identification may probe this map (`identify.probe`; devices/identify.py)."""

    order: int = 100
    first: str | None = None
    expect: dict = field(default_factory=dict)     # field -> tuple of accepted values
    exclusive: bool = False
    why: str = ""


@dataclass(frozen=True)
class DeviceMap:
    path: str
    id: str
    vendor: str
    name: str
    families: tuple[str, ...]
    source: dict
    trust: str
    protocol: str
    link: LinkSpec
    points: tuple[Point, ...]
    blocks: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    holes: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    identify: dict[str, Field] = field(default_factory=dict)
    clock: ClockSpec | None = None
    overview: "Overview | None" = None      # the map's `overview:`; see registers/overview.py
    publish: "PublishSpec | None" = None    # the map's `publish:`; see registers/publish_spec.py
    probe: ProbeHint | None = None          # `identify.probe`: order and safety of identification
    # identify field -> {code: model name}: a device-type code read at identification names the
    # model (Sungrow input 4999); the name shows as the identity's `model`
    models: dict[str, dict[int, str]] = field(default_factory=dict)

    def point(self, name: str) -> Point:
        for p in self.points:
            if p.name == name:
                return p
        raise KeyError(name)

    def has_point(self, name: str) -> bool:
        return any(p.name == name for p in self.points)

    def blocks_for(self, table: str) -> tuple[tuple[int, int], ...]:
        return self.blocks.get(table) or ((0, 65535),)

    def holes_for(self, table: str) -> tuple[tuple[int, int], ...]:
        return self.holes.get(table, ())
