"""What a loaded command map (PI30) is: plain immutable records, built by command_map only.

A command map describes a device that answers ASCII queries with space-separated fields
(Voltronic "PI30"): which queries exist and what each field of the reply means (`commands`), and
which settings can be changed, by which setter command, within which values, and where the new
value reads back (`settings`). Field indexes are 0-based token indexes after the leading "(".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from solartui.registers.overview import Overview
    from solartui.registers.publish_spec import PublishSpec

FIELD_TYPES = ("float", "int", "text", "enum", "bits", "flags", "flag", "datetime", "list")
NUMERIC_TYPES = ("float", "int", "list")
ROLES = ("identity", "live", "settings", "clock", "info")
FLAG_CLASSES = ("warning", "fault", "conditional")


class Alarm(NamedTuple):
    """One set position of a warning/fault string (QPIWS)."""

    index: int
    name: str
    severity: str           # warning | fault | unknown


@dataclass(frozen=True)
class FlagSpec:
    """A named position of a flags string: its label and class (conditional = a fault only
    while the field's `fault_with` position is set, otherwise a warning)."""

    label: str
    cls: str


@dataclass(frozen=True)
class BitSpec:
    name: str
    label: str


@dataclass(frozen=True, eq=False)
class CommandField:
    """One field of one command's reply. Compared and hashed by identity."""

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    name: str
    command: str
    index: int
    type: str
    doc: str = ""
    unit: str = ""
    scale: float = 1
    group: str = "Other"
    enum: dict | None = None                 # raw (int or text) -> label
    bits: dict[int, BitSpec] | None = None   # bit number -> spec
    first_bit: int = 0                       # bit number of the first character (counting down)
    last_bit: int = 0                        # bit number of the last character
    flags: dict[int, FlagSpec] | None = None  # character index -> spec
    fault_with: int | None = None            # index that turns conditional flags into faults
    letter: str = ""                         # type flag: the QFLAG letter
    format: str = ""                         # type datetime: strptime format
    strip: str = ""                          # type text: prefix removed from the value
    trust: str = "generated"
    source: str = ""
    note: str = ""
    line: int = 0


@dataclass(frozen=True)
class Command:
    command: str
    fields: tuple[CommandField, ...]
    doc: str = ""
    role: str = "info"          # identity | live | settings | clock | info
    optional: bool = False      # many units answer NAK: not an error
    timeout_ms: int | None = None
    note: str = ""
    line: int = 0

    def field(self, name: str) -> CommandField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


@dataclass(frozen=True)
class Rule:
    """Allowed values of a numeric setting: a range with a step, or a list, plus specials."""

    range: tuple[float, float] | None = None
    step: float | None = None
    values: tuple[float, ...] | None = None
    special: dict = field(default_factory=dict)     # value -> label, allowed besides the rest

    def describe(self, unit: str = "") -> str:
        u = f" {unit}" if unit else ""
        parts = []
        if self.values is not None:
            parts.append("one of " + ", ".join(_num(v) for v in self.values) + u)
        if self.range is not None:
            parts.append(f"{_num(self.range[0])}-{_num(self.range[1])}{u}"
                         + (f" in steps of {_num(self.step)}" if self.step else ""))
        parts += [f"{_num(k)}{u} ({v})" for k, v in self.special.items()]
        return ", or ".join(parts)


def _num(v: float) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


@dataclass(frozen=True)
class Relation:
    """A condition the current value of another field puts on a setting's new value (the
    inverter's menu refuses the pair otherwise): the field must hold one of `within`, or the new
    value must stand `op` (<, <=, >, >=) to the field's value. `void` lists values of the field
    that mean "no voltage" (its setting's specials, like 00.0 = when full): no comparison then."""

    field: str
    why: str
    within: tuple = ()
    op: str = ""
    void: tuple = ()
    line: int = 0


@dataclass(frozen=True)
class ReadBack:
    command: str
    field: str          # name of the CommandField that shows the setting


@dataclass(frozen=True, eq=False)
class Setting:
    """A value a person may change: kind choice (an enum), number or flag (enable/disable)."""

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    name: str
    kind: str                                   # choice | number | flag
    reads_back: ReadBack
    doc: str = ""
    setter: str = ""                            # str.format pattern with one field
    setter_from: tuple[tuple[float, str], ...] = ()   # (threshold, pattern): value >= threshold
    setter_enable: str = ""
    setter_disable: str = ""
    value_type: str = "int"                     # int | float | bool
    unit: str = ""
    choices: dict[int, str] | None = None
    rule: Rule | None = None
    depends_on: str | None = None               # field whose value picks one of `variants`
    variants: dict[float, Rule] = field(default_factory=dict)
    allowed_from: str | None = None             # list field: the device's own allowed values
    requires: tuple[Relation, ...] = ()         # conditions other fields' values put on it
    group: str = "Settings"
    confirm: bool = False                       # destructive or mode-changing
    trust: str = "generated"
    source: str = ""
    note: str = ""
    line: int = 0

    def pattern_for(self, value) -> str:
        """The setter pattern that writes `value` (setter_from picks by threshold)."""
        chosen = self.setter
        for threshold, pattern in self.setter_from:
            if value >= threshold:
                chosen = pattern
        return chosen


@dataclass(frozen=True)
class IdField:
    """An identification value: one token of one query's reply."""

    command: str
    index: int = 0
    strip: str = ""                  # prefix removed ("VERFW:")
    expect: tuple[str, ...] = ()     # accepted values (QPI: PI30); empty = any


@dataclass(frozen=True)
class ClockCommand:
    """Where the device clock reads (a datetime field) and the setter forms to try in order."""

    command: str
    field: str
    format: str                      # strptime format of the read-back field
    setters: tuple[str, ...]         # strftime patterns, e.g. "DAT%y%m%d%H%M%S"
    tolerance_s: float = 2.0


@dataclass(frozen=True)
class CommandLinkSpec:
    baudrates: tuple[int, ...] = (2400,)
    parity: str = "N"
    min_period_ms: int = 0
    timeout_ms: int = 3000
    readback_delay_ms: int = 1000
    usb: tuple[int, int] | None = None       # (vendor id, product id)

    @property
    def min_period(self) -> float:
        return self.min_period_ms / 1000

    @property
    def timeout(self) -> float:
        return self.timeout_ms / 1000


@dataclass(frozen=True)
class CommandMap:
    path: str
    id: str
    vendor: str
    name: str
    families: tuple[str, ...]
    source: dict
    trust: str
    link: CommandLinkSpec
    commands: tuple[Command, ...]
    settings: tuple[Setting, ...]
    identify: dict[str, IdField] = field(default_factory=dict)
    clock: ClockCommand | None = None
    protocol: str = "pi30"
    overview: "Overview | None" = None      # the map's `overview:`; see registers/overview.py
    publish: "PublishSpec | None" = None    # the map's `publish:`; see registers/publish_spec.py

    def command(self, name: str) -> Command:
        for c in self.commands:
            if c.command == name:
                return c
        raise KeyError(name)

    def setting(self, name: str) -> Setting:
        for s in self.settings:
            if s.name == name:
                return s
        raise KeyError(name)

    def field(self, name: str) -> CommandField:
        for c in self.commands:
            for f in c.fields:
                if f.name == name:
                    return f
        raise KeyError(name)

    @property
    def fields(self) -> tuple[CommandField, ...]:
        return tuple(f for c in self.commands for f in c.fields)
