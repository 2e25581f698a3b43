"""A clock's fields in register words: one field a register, or two packed in one.

Why packed: Deye and Sunsynk keep their clock in three registers, each holding two fields as
high byte / low byte (year-2000/month, day/hour, minute/second). A map says so by naming both
halves of a register, high byte first: `fields: [year/month, day/hour, minute/second]`.
"""

from __future__ import annotations

from solartui.errors import CodecError

CLOCK_FIELDS = ("year", "month", "day", "hour", "minute", "second")


def field_names(field: str) -> tuple[str, ...]:
    """The clock fields one register holds: ("year",) or, packed, ("year", "month")."""
    return tuple(field.split("/"))


def is_packed(fields) -> bool:
    return any("/" in f for f in fields)


def fields_problem(fields) -> str | None:
    """Why a map's clock `fields` list cannot be used (None: it can)."""
    if not isinstance(fields, list) or not fields:
        return "fields must list the registers' fields"
    names: list[str] = []
    for f in fields:
        parts = field_names(f) if isinstance(f, str) else ()
        if not 1 <= len(parts) <= 2 or not all(p in CLOCK_FIELDS for p in parts):
            return (f"fields: {f!r} is not one of {', '.join(CLOCK_FIELDS)}, nor two of them "
                    "packed high byte / low byte (year/month)")
        names.extend(parts)
    if len(set(names)) != len(names):
        return "fields: each of year, month, day, hour, minute, second at most once"
    return None


def unpack(fields, words) -> dict[str, int]:
    """Register words to field values."""
    out: dict[str, int] = {}
    for field, w in zip(fields, words):
        parts = field_names(field)
        if len(parts) == 2:
            out[parts[0]], out[parts[1]] = (w >> 8) & 0xFF, w & 0xFF
        else:
            out[parts[0]] = w
    return out


def pack(fields, values: dict[str, int]) -> list[int]:
    """Field values to register words; a packed half must fit its byte."""
    words = []
    for field in fields:
        parts = field_names(field)
        if len(parts) == 2:
            hi, lo = values[parts[0]], values[parts[1]]
            if not (0 <= hi <= 0xFF and 0 <= lo <= 0xFF):
                raise CodecError(f"clock {field} = {hi}/{lo} does not fit a byte each")
            words.append(hi << 8 | lo)
        else:
            words.append(values[parts[0]] & 0xFFFF)
    return words
