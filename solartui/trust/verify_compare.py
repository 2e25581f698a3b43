"""Does a decoded value say what the fixture says it should? One rule per kind of value.

Numbers agree within half the point's resolution (its scale for registers; for PI30 fields the
scale times the last digit the reply token carries); text, enum labels and special labels must
match exactly; bit and flag fields are compared as the set of what is on. Why so strict: a wrong
scale is a factor of ten, a wrong word order or sign a wild number, a wrong enum a different word,
and any of them must fail.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def close(expect: float, got: Any, tol: float) -> bool:
    if not is_number(got) or not math.isfinite(got):
        return False
    return abs(got - expect) <= tol + 1e-9 * max(1.0, abs(expect))


def expect_text(expect: Any, unit: str = "") -> str:
    """The expected value for people (a list as its items, a time in ISO form)."""
    if isinstance(expect, list):
        return "[" + ", ".join(str(x) for x in expect) + "]"
    if isinstance(expect, datetime):
        return expect.strftime(TIME_FORMAT)
    if isinstance(expect, bool):
        return "enabled" if expect else "disabled"
    if is_number(expect) and unit:
        return f"{expect} {unit}"
    return str(expect)


# --- register points ---------------------------------------------------------------------------

def register_tolerance(point) -> float:
    if point.type == "f32":
        return 0.0
    return abs(point.scale) / 2


def bits_on(labels: dict[int, str] | None, raw: Any) -> set[str]:
    if not labels or not isinstance(raw, int):
        return set()
    return {label for bit, label in labels.items() if raw >> bit & 1}


def register_matches(point, expect: Any, decoded) -> bool:
    """A register point's Decoded (codec.decode) against the fixture's expected value."""
    if isinstance(expect, list):
        return point.bits is not None and {str(x) for x in expect} == bits_on(point.bits,
                                                                               decoded.raw)
    if isinstance(expect, str):
        return expect == decoded.text or (isinstance(decoded.value, str)
                                          and expect == decoded.value)
    if is_number(expect):
        if point.type == "f32":
            return close(expect, decoded.value, 1e-6 * max(1.0, abs(expect)))
        return close(expect, decoded.value, register_tolerance(point))
    return False


def identify_matches(fld, expect: Any, got: Any) -> bool:
    if got is None:
        return False
    if is_number(expect):
        return close(expect, got, abs(fld.scale) / 2)
    return str(expect) == str(got)


def clock_matches(expect: Any, got: datetime | None) -> bool:
    if got is None:
        return False
    if isinstance(expect, datetime):
        return expect == got
    return str(expect).strip() == got.strftime(TIME_FORMAT)


# --- command (PI30) fields and settings --------------------------------------------------------

def token_resolution(fl, raw: str) -> float:
    """The step the reply token can show: 230.0 -> 0.1 (times the field's scale)."""
    places = len(raw.split(".", 1)[1]) if "." in raw else 0
    return abs(fl.scale) * 10 ** -places


def field_observed(fl, decoded) -> Any:
    """What a decoded field says, in the shape a fixture writes it."""
    if fl.type == "bits" and isinstance(decoded.value, dict):
        return {spec.label for spec in (fl.bits or {}).values() if decoded.value.get(spec.name)}
    if fl.type == "flags" and isinstance(decoded.value, tuple):
        return {f"{a.name} ({a.severity})" for a in decoded.value}
    return decoded.value


def field_matches(fl, expect: Any, decoded) -> bool:
    """A PI30 DecodedField against the fixture's expected value."""
    if decoded is None or not decoded.ok:
        return False
    value = decoded.value
    if fl.type in ("bits", "flags"):
        return isinstance(expect, list) and {str(x) for x in expect} == field_observed(fl, decoded)
    if fl.type == "list":
        return (isinstance(expect, list) and isinstance(value, tuple) and len(expect) == len(value)
                and all(is_number(e) and close(e, v, 1e-6) for e, v in zip(expect, value)))
    if fl.type == "flag":
        return isinstance(expect, bool) and value is expect
    if fl.type == "datetime":
        return clock_matches(expect, value if isinstance(value, datetime) else None)
    if isinstance(expect, str):
        return expect == decoded.text or (isinstance(value, str) and expect == value)
    if is_number(expect):
        return close(expect, value, token_resolution(fl, decoded.raw) / 2)
    return False


def setting_matches(setting, expect: Any, got: Any, text: str) -> bool:
    """A setting's read-back value (and its text, for choices) against the fixture."""
    if got is None:
        return False
    if setting.kind == "flag":
        return isinstance(expect, bool) and got is expect
    if isinstance(expect, str):
        return expect == text
    if is_number(expect):
        return close(expect, got, 1e-6)
    return False


def setting_input(expect: Any) -> str:
    """The fixture's value as a person would type it into `write NAME=VALUE`."""
    if isinstance(expect, bool):
        return "enable" if expect else "disable"
    return str(expect)
