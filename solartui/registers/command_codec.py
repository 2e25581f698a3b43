"""Reply fields <-> values for command maps (PI30), and the structure check of a command map.

  decode_fields(command, fields)        the tokens of one reply -> {field name: DecodedField}
  encode_setting(setting, value, ctx)   a value -> the setter command, validated first
  readback_value(setting, decoded)      the value the read-back field shows for a setting

No I/O. A token that does not parse gives a DecodedField with `error` set, never an exception;
a value that does not pass the map raises ValueRejected and never becomes a command.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from solartui.errors import ValueRejected
from solartui.registers.checks import CheckReport, Finding
from solartui.registers.codec import decimals, scaled
from solartui.registers.command_map import fill
from solartui.registers.command_model import (
    Alarm, ClockCommand, Command, CommandField, CommandMap, IdField, Rule, Setting,
)
from solartui.registers.model import rung_index
from solartui.registers.units import NAME_HINTS, quantity

_INT = re.compile(r"^[+-]?\d+$")
_NUM = re.compile(r"^[+-]?\d+(\.\d*)?$")
_TRUE = {"1", "on", "enable", "enabled", "true", "yes"}
_FALSE = {"0", "off", "disable", "disabled", "false", "no"}
EPS = 1e-6
# the longest number a PI30 reply carries is ~10 characters (`00000.00`); a device (or a USB
# bridge) sending 5,000 digits got as far as int(), which raises past 4,300 digits
MAX_NUMBER = 32


@dataclass(frozen=True)
class DecodedField:
    """One field of one reply: the token, what it holds and what it means (or why it did not
    parse). Shaped like registers.codec.Decoded (raw, value, text; words is empty)."""

    field: CommandField
    raw: str
    value: Any
    text: str
    error: str | None = None
    words = ()

    @property
    def unit(self) -> str:
        return self.field.unit

    @property
    def ok(self) -> bool:
        return self.error is None


class _Bad(Exception):
    pass


# --- decoding ----------------------------------------------------------------------------------

def decode_fields(command: Command, fields: tuple[str, ...]) -> dict[str, DecodedField]:
    """Decode the tokens of one reply (payload after "(", split on spaces). Fields past the end
    of a short reply are left out; extra trailing tokens are ignored."""
    tokens = tuple(t for t in fields if t)
    out: dict[str, DecodedField] = {}
    for fl in command.fields:
        if tokens in (("NAK",), ("ACK",)):
            out[fl.name] = DecodedField(fl, tokens[0], None, "no answer",
                                        f"the device answered {tokens[0]}")
            continue
        if fl.index >= len(tokens):
            continue
        raw = "".join(tokens[fl.index:]) if fl.type == "flags" else tokens[fl.index]
        if fl.type == "list":
            raw = " ".join(tokens[fl.index:])
        out[fl.name] = decode_token(fl, raw)
    return out


def decode_token(fl: CommandField, raw: str) -> DecodedField:
    try:
        value, text = _DECODERS[fl.type](fl, raw)
    except _Bad as exc:
        return DecodedField(fl, raw, None, f"? ({exc})", f"{fl.name}: {exc}")
    return DecodedField(fl, raw, value, text)


def _short(raw: str) -> str:
    """A token for a message: long ones cut, so a hostile reply stays one short line."""
    return repr(raw) if len(raw) <= 24 else repr(raw[:16]) + f"... ({len(raw)} characters)"


def _bounded(raw: str) -> str:
    if len(raw) > MAX_NUMBER:
        raise _Bad(f"{_short(raw)} is too long for a number")
    return raw


def _number(fl: CommandField, raw: str):
    if raw and set(raw) == {"-"}:
        return None, "unknown"
    _bounded(raw)
    if not (_INT if fl.type == "int" else _NUM).match(raw):
        raise _Bad(f"{_short(raw)} is not a {'whole ' if fl.type == 'int' else ''}number")
    n = int(raw) if fl.type == "int" else float(raw)
    value = scaled(n, fl.scale)
    places = len(raw.split(".", 1)[1]) if "." in raw else 0
    if isinstance(value, float):
        places = max(places, decimals(fl.scale)) if fl.scale != 1 else places
        return value, f"{value:.{places}f} {fl.unit}".rstrip()
    return value, f"{value} {fl.unit}".rstrip()


def _list(fl: CommandField, raw: str):
    items = [_bounded(x) for x in raw.split()]
    if not items or not all(_NUM.match(x) for x in items):
        raise _Bad(f"{_short(raw)} is not a list of numbers")
    whole = all(_INT.match(x) for x in items)
    values = tuple(scaled(int(x) if whole else float(x), fl.scale) for x in items)
    return values, (", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)
                    + f" {fl.unit}").rstrip()


def _enum(fl: CommandField, raw: str):
    _bounded(raw)
    for key, label in fl.enum.items():
        if raw == key or (isinstance(key, int) and _INT.match(raw) and int(raw) == key):
            return key, label
    numeric = all(isinstance(k, int) for k in fl.enum) and _INT.match(raw)
    return (int(raw) if numeric else raw), f"unknown ({raw})"


def _bits(fl: CommandField, raw: str):
    width = fl.first_bit - fl.last_bit + 1
    if len(raw) != width or set(raw) - {"0", "1"}:
        raise _Bad(f"expected {width} characters of 0 and 1, got {_short(raw)}")
    value, on = {}, []
    for pos, ch in enumerate(raw):
        bit = fl.first_bit - pos
        spec = fl.bits.get(bit)
        if spec is not None:
            value[spec.name] = ch == "1"
        if ch == "1":
            on.append(spec.label if spec else f"bit {bit}")
    return value, ", ".join(on) or "none"


def _flags(fl: CommandField, raw: str):
    if not raw.isalnum() or not raw.isascii():
        raise _Bad(f"{_short(raw)} is not a string of flag characters")
    with_fault = fl.fault_with is not None and raw[fl.fault_with:fl.fault_with + 1] == "1"
    alarms = []
    for i, ch in enumerate(raw):
        if ch == "0":
            continue
        spec = fl.flags.get(i)
        if spec is None:
            alarms.append(Alarm(i, f"bit {i}" + ("" if ch == "1" else f" = {ch}"), "unknown"))
            continue
        severity = spec.cls if spec.cls != "conditional" else \
            ("fault" if with_fault else "warning")
        alarms.append(Alarm(i, spec.label if ch == "1" else f"{spec.label} = {ch}", severity))
    return tuple(alarms), ", ".join(f"{a.name} ({a.severity})" for a in alarms) or "none"


def _flag(fl: CommandField, raw: str):
    state, seen = None, {}
    for ch in raw:
        if ch in "ED":
            state = ch == "E"
        elif ch.isascii() and ch.isalpha() and state is not None:
            seen[ch.lower()] = state
        else:
            raise _Bad(f"{_short(raw)} is not E<letters>D<letters>")
    value = seen.get(fl.letter)
    return value, {True: "enabled", False: "disabled", None: "not reported"}[value]


def _datetime(fl: CommandField, raw: str):
    try:
        value = datetime.strptime(raw, fl.format)
    except ValueError:
        raise _Bad(f"{_short(raw)} is not a time in the form {fl.format}") from None
    return value, value.strftime("%Y-%m-%d %H:%M:%S")


def _text(fl: CommandField, raw: str):
    value = raw[len(fl.strip):] if fl.strip and raw.startswith(fl.strip) else raw
    return value, value


_DECODERS = {"float": _number, "int": _number, "list": _list, "enum": _enum, "bits": _bits,
             "flags": _flags, "flag": _flag, "datetime": _datetime, "text": _text}


def identify_value(idf: IdField, fields: tuple[str, ...]) -> str | None:
    """The identification text in a reply (prefix stripped), or None when the reply lacks it."""
    tokens = tuple(t for t in fields if t)
    if idf.index >= len(tokens) or tokens in (("NAK",), ("ACK",)):
        return None
    raw = tokens[idf.index]
    return raw[len(idf.strip):] if idf.strip and raw.startswith(idf.strip) else raw


def clock_setters(clock: ClockCommand, when: datetime) -> list[str]:
    """The clock-setting commands for `when`, in the order to try them (verify each by reading)."""
    return [when.strftime(p) for p in clock.setters]


# --- settings ----------------------------------------------------------------------------------

def _known(context: Mapping | None, name: str | None):
    """A value from a context of decoded fields (DecodedField or plain values); None if absent."""
    if not context or name is None or name not in context:
        return None
    got = context[name]
    if hasattr(got, "error") and hasattr(got, "value"):
        return None if got.error else got.value
    return got


def setting_value(setting: Setting, value: Any) -> int | float | bool:
    """What a person gave (a number, a label, text, a bool) as the setting's own kind of value."""
    name = setting.name
    if setting.kind == "flag":
        if isinstance(value, bool) or value in (0, 1):
            return bool(value)
        s = str(value).strip().lower()
        if s in _TRUE | _FALSE:
            return s in _TRUE
        raise ValueRejected(f"{name}: {value!r} is not enable or disable")
    if isinstance(value, str):
        s = value.strip()
        labels = dict(setting.choices or {})
        for rule in ([setting.rule] if setting.rule else []) + list(setting.variants.values()):
            labels.update(rule.special)
        for key, label in labels.items():
            if label.lower() == s.lower():
                return key
        try:
            value = int(s) if _INT.match(s) else float(s)
        except ValueError:
            choices = f" (choices: {', '.join(setting.choices.values())})" \
                if setting.choices else ""
            raise ValueRejected(f"{name}: {s!r} is not a number{choices}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueRejected(f"{name}: {value!r} is not a number")
    if setting.value_type == "int":
        if value != int(value):
            raise ValueRejected(f"{name}: {value} is not a whole number")
        return int(value)
    return float(value)


def rule_for(setting: Setting, context: Mapping | None = None) -> Rule | None:
    """The allowed values of a number setting (picking a variant needs `depends_on` known)."""
    if setting.kind != "number" or setting.rule is not None:
        return setting.rule
    dep = _known(context, setting.depends_on)
    if dep is None:
        raise ValueRejected(f"{setting.name}: the allowed values depend on {setting.depends_on},"
                            " which is not known yet (read it first)")
    for key, rule in setting.variants.items():
        if isinstance(dep, (int, float)) and abs(dep - key) < EPS:
            return rule
    raise ValueRejected(f"{setting.name}: no allowed values are documented for "
                        f"{setting.depends_on} = {dep}")


def _in_rule(rule: Rule, v: float) -> bool:
    if any(abs(v - k) < EPS for k in list(rule.special) + list(rule.values or ())):
        return True
    if rule.range is None or not rule.range[0] - EPS <= v <= rule.range[1] + EPS:
        return False
    if rule.step:
        k = (v - rule.range[0]) / rule.step
        return abs(k - round(k)) < EPS
    return True


def allowed_text(setting: Setting, context: Mapping | None = None) -> str:
    """The allowed values in words, for prompts and refusals."""
    if setting.kind == "flag":
        return "enable or disable"
    if setting.kind == "choice":
        return ", ".join(f"{k} ({v})" for k, v in setting.choices.items())
    text = rule_for(setting, context).describe(setting.unit)
    allowed = _known(context, setting.allowed_from)
    if setting.allowed_from and allowed is not None:
        text += f"; this device offers {', '.join(str(a) for a in allowed)}"
    return text


def encode_setting(setting: Setting, value: Any, context: Mapping | None = None) -> str:
    """The setter command for `value` ("PBFT54.0", "POP02", "PEa"); ValueRejected on a value
    the map does not allow. `context` maps field names to decoded values (DecodedField or plain)
    and is needed by settings with `depends_on` (per battery voltage) or `allowed_from` (the
    device's own list of charging currents)."""
    v = setting_value(setting, value)
    if setting.kind == "flag":
        return setting.setter_enable if v else setting.setter_disable
    if setting.kind == "choice":
        if v not in setting.choices:
            raise ValueRejected(f"{setting.name}: {value!r} is not one of "
                                f"{allowed_text(setting)}")
    else:
        rule = rule_for(setting, context)
        if not _in_rule(rule, v):
            raise ValueRejected(f"{setting.name}: {value!r} is not allowed "
                                f"({allowed_text(setting, context)})")
        if setting.allowed_from:
            allowed = _known(context, setting.allowed_from)
            if allowed is None:
                raise ValueRejected(f"{setting.name}: the device's allowed values "
                                    f"({setting.allowed_from}) are not known yet (read them first)")
            if not any(abs(v - a) < EPS for a in allowed):
                raise ValueRejected(f"{setting.name}: this device offers only "
                                    f"{', '.join(str(a) for a in allowed)} {setting.unit}".rstrip())
    pattern = setting.pattern_for(v)
    command = fill(pattern, v)
    token = command[len(pattern.split("{", 1)[0]):] if command else ""
    if command is None or abs(float(token) - v) > EPS:
        raise ValueRejected(f"{setting.name}: {value!r} cannot be written as {pattern}")
    return command


def readback_value(setting: Setting, decoded: Mapping) -> Any:
    """The value the read-back field shows for `setting` in `decoded` (the decode_fields result
    of its read-back command, or several merged); None when absent or unreadable."""
    return _known(decoded, setting.reads_back.field)


def same_value(setting: Setting, wanted: Any, got: Any) -> bool:
    """Whether a read-back value confirms a write."""
    if got is None:
        return False
    if setting.kind == "flag":
        return bool(wanted) is got
    return isinstance(got, (int, float)) and abs(setting_value(setting, wanted) - got) < EPS


def value_text(setting: Setting, value: Any) -> str:
    if value is None:
        return "unknown"
    if setting.kind == "flag":
        return "enabled" if value else "disabled"
    if setting.kind == "choice":
        return setting.choices.get(value, f"unknown ({value})")
    return f"{value} {setting.unit}".rstrip()


# --- structure check ---------------------------------------------------------------------------

def check_command_map(m: CommandMap) -> CheckReport:
    """What check_map does for register maps: units that fit names, settings whose every
    allowed value encodes and decodes back through its read-back field, honest trust claims."""
    out: list[Finding] = []
    for fl in m.fields:
        if fl.type in ("float", "int", "list"):
            words = set(re.split(r"[_\d]+", fl.name))
            for hints, expected in NAME_HINTS:
                if words & set(hints) and quantity(fl.unit) != expected:
                    out.append(Finding("problem", fl.line, fl.name,
                                       f"the name suggests a {expected} but the unit is "
                                       f"{fl.unit or 'none'}"))
                    break
        if rung_index(fl.trust) > rung_index("structure-verified") and fl.trust != m.trust:
            out.append(Finding("note", fl.line, fl.name, f"claims {fl.trust}; structure alone "
                                                         "cannot earn more than structure-verified"))
    for s in m.settings:
        out.extend(_round_trip(m, s))
    if rung_index(m.trust) > rung_index("structure-verified"):
        out.append(Finding("note", 0, "", f"the map declares {m.trust}; this check can only "
                                          "confirm structure-verified"))
    return CheckReport(m, tuple(sorted(out, key=lambda f: (f.level != "problem", f.line))))


def _round_trip(m: CommandMap, s: Setting) -> list[Finding]:
    back = m.field(s.reads_back.field)
    if s.kind == "flag":
        if not (s.setter_enable.endswith(back.letter) and s.setter_disable.endswith(back.letter)):
            return [Finding("problem", s.line, s.name, f"{s.setter_enable}/{s.setter_disable} "
                                                       f"do not set letter {back.letter}")]
        return []
    if s.kind == "choice":
        candidates = list(s.choices)
    else:
        candidates = [x for r in ([s.rule] if s.rule else list(s.variants.values()))
                      for x in list(r.values or ()) + list(r.range or ()) + list(r.special)]
    bad = []
    for v in candidates:
        pattern = s.pattern_for(v)
        command = fill(pattern, v)
        got = decode_token(back, command[len(pattern.split("{", 1)[0]):]) if command else None
        if got is None or not same_value(s, v, got.value):
            bad.append(Finding("problem", s.line, s.name,
                               f"{v} encodes as {command} but reads back through "
                               f"{back.name} as {got.value if got else 'nothing'}"))
    return bad
