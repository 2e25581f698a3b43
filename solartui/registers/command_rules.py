"""Settings checked together: a setting's `requires` relations against other fields' values.

Why: a value can be inside its own range and still be one the inverter's menu refuses because of
another setting — a float voltage above the bulk voltage, a charging voltage while the battery
type is not "User". The map says so as data (`requires:` on a setting, see maps/README.md); this
module only evaluates it. No I/O: the device reads the related fields fresh and passes them in.

  relation_problems(setting, value, values)   what is wrong, in words ([] when allowed)
  check_relations(setting, value, values)     ValueRejected with the first problem
  related_fields(setting)                     the field names the relations need
"""

from __future__ import annotations

from typing import Any, Mapping

from solartui.errors import ValueRejected
from solartui.registers.command_model import Relation, Setting

EPS = 1e-6
_WORDS = {"<": "below", "<=": "at most", ">": "above", ">=": "at least"}


def related_fields(setting: Setting) -> list[str]:
    return list(dict.fromkeys(r.field for r in setting.requires))


def _current(values: Mapping | None, name: str) -> tuple[Any, str] | None:
    """(value, text) of a field in `values` (DecodedField or plain); None when unknown."""
    if not values or name not in values:
        return None
    got = values[name]
    if hasattr(got, "error") and hasattr(got, "value"):
        if got.error or got.value is None:
            return None
        return got.value, got.text
    return (None if got is None else (got, str(got)))


def _is_special(setting: Setting, value: Any) -> bool:
    rules = ([setting.rule] if setting.rule else []) + list(setting.variants.values())
    return isinstance(value, (int, float)) and any(
        abs(value - k) < EPS for r in rules for k in r.special)


def _problem(setting: Setting, r: Relation, value: Any, values: Mapping) -> str | None:
    current, text = _current(values, r.field)
    if r.within:
        if any(current == w or (isinstance(current, (int, float)) and isinstance(w, (int, float))
                                and abs(current - w) < EPS) for w in r.within):
            return None
        return f"{setting.name}: refused while {r.field} is {text}: {r.why}"
    if _is_special(setting, value) or not isinstance(current, (int, float)) or any(
            abs(current - v) < EPS for v in r.void):
        return None
    diff = value - current
    if {"<": diff < -EPS, "<=": diff <= EPS, ">": diff > EPS, ">=": diff >= -EPS}[r.op]:
        return None
    words = _WORDS[r.op]
    unit = f" {setting.unit}" if setting.unit else ""
    return (f"{setting.name}: {value}{unit} refused: it must be {words} {r.field} "
            f"({text} now): {r.why}")


def relation_problems(setting: Setting, value: Any, values: Mapping | None,
                      unknown_ok: bool = False) -> list[str]:
    """Every relation `value` breaks, given the related fields' current `values`. A related
    field missing from `values` is a problem (nothing is written unchecked) unless
    `unknown_ok` (inline hints while typing, before the plan reads them)."""
    unknown = [r for r in setting.requires if _current(values, r.field) is None]
    out = []
    if unknown and not unknown_ok:
        names = list(dict.fromkeys(r.field for r in unknown))
        out.append(f"{setting.name}: refused: {', '.join(names)} could not be read, so the "
                   "value cannot be checked against "
                   + (f"it ({unknown[0].why})" if len(unknown) == 1 else "them"))
    for r in setting.requires:
        if r not in unknown:
            p = _problem(setting, r, value, values)
            if p:
                out.append(p)
    return out


def check_relations(setting: Setting, value: Any, values: Mapping | None,
                    unknown_ok: bool = False) -> None:
    problems = relation_problems(setting, value, values, unknown_ok)
    if problems:
        raise ValueRejected(problems[0])
