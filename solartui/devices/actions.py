"""Named actions: a few register writes that only make sense together ("set-charge-slot-1").

Why: an installer thinks "pause the charge schedule" or "eco mode", not "HR27 = 1, HR59 = 0,
HR110 = 4". An action expands its arguments into (point, value text) steps; every step is
validated by the map before anything is sent, the person confirms the whole list once, and the
steps are written in order. When one step fails the rest are not sent (a half-applied mode is
visible in the journal as exactly that). No Textual and no I/O here except through the device.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable

from solartui.devices.writes import WritePlan
from solartui.errors import CodecError, LinkError, SolartuiError, ValueRejected
from solartui.registers.codec import encode_value, parse_value
from solartui.registers.model import DeviceMap
from solartui.registers.suggest import no_such, point_items

KINDS = ("percent", "time", "choice", "text")
CURRENT = "current."        # steps see a point read at plan time as values["current.<point>"]

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_TIME = re.compile(r"^\d{1,2}:\d{2}$")


@dataclass(frozen=True)
class ActionArg:
    name: str
    doc: str
    kind: str                           # "percent" | "time" | "choice" | "text"
    choices: tuple[str, ...] = ()
    optional: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"argument {self.name}: kind must be one of {', '.join(KINDS)}")
        if (self.kind == "choice") != bool(self.choices):
            raise ValueError(f"argument {self.name}: choices go with kind 'choice' only")

    @property
    def shown(self) -> str:
        text = "|".join(self.choices) if self.kind == "choice" else self.name.upper()
        return f"[{text}]" if self.optional else text


@dataclass(frozen=True)
class Action:
    """`steps(values)` -> [(point name, value text)] in write order; pure, so it can be tested
    and shown without a device. `reads` names points read at plan time and handed to `steps` as
    values["current.<name>"] (absent when the read failed); `points` lists every point the action
    may write, so a map that lacks one is not offered the action. A `clock` action has no steps:
    callers use RegisterDevice.plan_clock / set_clock for it."""

    name: str
    doc: str
    args: tuple[ActionArg, ...]
    steps: Callable[[dict[str, str]], list[tuple[str, str]]]
    clock: bool = False
    reads: tuple[str, ...] = ()
    points: tuple[str, ...] = ()

    def __post_init__(self):
        seen_optional = False
        for a in self.args:
            if seen_optional and not a.optional:
                raise ValueError(f"action {self.name}: optional arguments must come last")
            seen_optional = seen_optional or a.optional

    def usage(self) -> str:
        """One line, e.g. "set-charge-slot-1 START END [TARGET]"."""
        return " ".join([self.name, *(a.shown for a in self.args)])


def actions_for(device_map) -> dict[str, Action]:
    """The actions a map supports, by name: the vendor's set (only those whose points the map
    has writable), plus set-clock when the map describes a clock. Other maps get {}."""
    if not isinstance(device_map, DeviceMap):
        return {}
    candidates: list[Action] = []
    if device_map.vendor.lower() == "givenergy":
        from solartui.givenergy.actions import givenergy_actions
        candidates = givenergy_actions()
    writable = {p.name for p in device_map.points if p.writable}
    readable = {p.name for p in device_map.points if p.readable}
    out = {}
    for a in candidates:
        if a.clock:
            if device_map.clock is not None:
                out[a.name] = a
        elif set(a.points) <= writable and set(a.reads) <= readable:
            out[a.name] = a
    return out


def bind(action: Action, arg_texts: list[str]) -> dict[str, str]:
    """Argument texts -> {arg name: text}; ValueRejected with the usage on a wrong count or a
    value of the wrong shape (ranges are the map's job, in plan_action)."""
    texts = [str(t).strip() for t in arg_texts]
    need = sum(1 for a in action.args if not a.optional)
    if not need <= len(texts) <= len(action.args):
        want = str(need) if need == len(action.args) else f"{need}-{len(action.args)}"
        raise ValueRejected(f"usage: {action.usage()} (takes {want} argument(s), got {len(texts)})")
    out: dict[str, str] = {}
    for arg, text in zip(action.args, texts):
        out[arg.name] = _check_arg(action, arg, text)
    return out


def _check_arg(action: Action, arg: ActionArg, text: str) -> str:
    def bad(why: str) -> ValueRejected:
        return ValueRejected(f"usage: {action.usage()} ({arg.name.upper()} {why})")

    if arg.kind == "percent":
        value = text[:-1].strip() if text.endswith("%") else text
        if not _NUMBER.match(value):
            raise bad(f"must be a number in %, not {text!r}")
        return value
    if arg.kind == "time":
        if not _TIME.match(text):
            raise bad(f"must be a time HH:MM, not {text!r}")
        return text
    if arg.kind == "choice":
        for c in arg.choices:
            if c.lower() == text.lower():
                return c
        raise bad(f"must be one of {', '.join(arg.choices)}, not {text!r}")
    if not text:
        raise bad("must not be empty")
    return text


def expand(action: Action, values: dict[str, str]) -> list[tuple[str, str]]:
    """The steps for bound values; an action without steps is refused (the clock has its own
    path), so an empty write list never reaches a confirmation."""
    if action.clock:
        raise ValueRejected(f"{action.name} sets the clock: use the clock commands")
    steps = list(action.steps(values))
    if not steps:
        raise ValueRejected(f"{action.name}: nothing to write")
    return steps


def check_step(device_map: DeviceMap, name: str, value_text: str) -> None:
    """The map's verdict on one step without any I/O (what plan_write checks first)."""
    try:
        point = device_map.point(name)
    except KeyError:
        raise SolartuiError(no_such("point", [name], device_map.id,
                                    point_items(device_map))) from None
    if point.guard:
        raise ValueRejected(f"{name}: guarded register ({point.doc}); solartui does not write it")
    if not point.writable:
        raise ValueRejected(f"{name} is read-only")
    try:
        encode_value(point, parse_value(point, value_text))
    except CodecError as exc:
        raise ValueRejected(f"{name}: {exc}") from None


async def plan_action(device, action: Action, arg_texts: list[str]) -> list[WritePlan]:
    """Bind, expand and validate every step against the map (a ValueRejected anywhere: nothing
    is sent, not even a read), then plan each write (reads old values) tagged with the action."""
    values = bind(action, arg_texts)
    if action.clock:
        raise ValueRejected(f"{action.name} sets the clock: use the clock commands")
    for name in action.reads:
        check_readable(device.map, name)
    current = await _read_current(device, action.reads)
    steps = expand(action, {**values, **current})
    for name, text in steps:
        check_step(device.map, name, text)
    plans = []
    for name, text in steps:
        plan = await device.plan_write(name, text)
        plans.append(replace(plan, action=action.name))
    return plans


def check_readable(device_map: DeviceMap, name: str) -> None:
    try:
        point = device_map.point(name)
    except KeyError:
        raise SolartuiError(no_such("point", [name], device_map.id,
                                    point_items(device_map))) from None
    if not point.readable:
        raise SolartuiError(f"{name} cannot be read")


async def _read_current(device, names: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            reading = await device.read_point(device.point(name))
        except LinkError:
            continue
        if reading.ok:
            out[CURRENT + name] = str(reading.decoded.value)
    return out
