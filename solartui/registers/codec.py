"""Register words <-> values.

Three layers, each reversible:
  words  <-> raw     (the integer, float or text the registers hold: type and word order)
  raw    <-> value   (engineering units: the map's scale; labels for enums and special values)
  text   ->  value   (what a person typed, validated against range, step and enum)
A value that fails validation raises ValueRejected and never becomes words.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass

from solartui.errors import CodecError, ValueRejected
from solartui.registers.model import INTEGER_TYPES, TEXT_TYPES, TIME_TYPES, Point

_SIGNED_BITS = {"s16": 16, "s32": 32}
_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


# --- words <-> raw -----------------------------------------------------------------------------

def words_to_raw(typ: str, words: list[int], order: str = "big") -> int | float | str:
    """Interpret register words as the type says."""
    if any(not 0 <= w <= 0xFFFF for w in words):
        raise CodecError(f"register words must be 0-65535, got {words}")
    if typ in ("u16", "s16", *TIME_TYPES):
        _need(words, 1, typ)
        raw = words[0]
    elif typ in ("u32", "s32", "f32"):
        _need(words, 2, typ)
        hi, lo = (words[0], words[1]) if order == "big" else (words[1], words[0])
        raw = (hi << 16) | lo
        if typ == "f32":
            return struct.unpack(">f", raw.to_bytes(4, "big"))[0]
    elif typ == "ascii":
        data = b"".join(w.to_bytes(2, "big") for w in words)
        return data.decode("latin-1").rstrip("\x00 ").replace("\x00", " ")
    else:
        raise CodecError(f"unknown type {typ!r}")
    if typ == "hhmm":
        return f"{raw >> 8:02d}:{raw & 0xFF:02d}"
    if typ == "hhmm_dec":
        return _hhmm_dec_text(raw)
    bits = _SIGNED_BITS.get(typ)
    if bits and raw >= 1 << (bits - 1):
        raw -= 1 << bits
    return raw


def raw_to_words(typ: str, raw: int | float | str, count: int = 1, order: str = "big") -> list[int]:
    """Encode a raw value into register words; the inverse of words_to_raw."""
    if typ == "ascii":
        if not isinstance(raw, str):
            raise CodecError("ascii needs text")
        data = raw.encode("latin-1", errors="strict") if raw.isascii() else None
        if data is None or len(data) > 2 * count:
            raise CodecError(f"text must be at most {2 * count} ASCII characters")
        data = data.ljust(2 * count, b"\x00")
        return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]
    if typ in TIME_TYPES:
        m = _HHMM.match(raw) if isinstance(raw, str) else None
        if not m:
            raise CodecError("a time of day is written HH:MM")
        h, mi = int(m.group(1)), int(m.group(2))
        if h > 23 or mi > 59:
            raise CodecError(f"{raw} is not a time of day")
        return [(h << 8) | mi] if typ == "hhmm" else [h * 100 + mi]
    if typ == "f32":
        if not isinstance(raw, (int, float)) or not math.isfinite(raw):
            raise CodecError("f32 needs a finite number")
        try:
            n = int.from_bytes(struct.pack(">f", raw), "big")
        except OverflowError:
            raise CodecError(f"{raw} does not fit a 32-bit float") from None
        hi, lo = n >> 16, n & 0xFFFF
        return [hi, lo] if order == "big" else [lo, hi]
    if typ not in INTEGER_TYPES or not isinstance(raw, int) or isinstance(raw, bool):
        raise CodecError(f"type {typ} needs an integer")
    lo, hi = raw_limits(typ)
    if not lo <= raw <= hi:
        raise CodecError(f"{raw} does not fit {typ} ({lo}..{hi})")
    n = raw & (0xFFFF if typ in ("u16", "s16") else 0xFFFFFFFF)
    if typ in ("u16", "s16"):
        return [n]
    hi_w, lo_w = n >> 16, n & 0xFFFF
    return [hi_w, lo_w] if order == "big" else [lo_w, hi_w]


def raw_limits(typ: str) -> tuple[int, int]:
    """The integers a type's registers can hold (time types: the one word, valid or not)."""
    return {"u16": (0, 0xFFFF), "s16": (-0x8000, 0x7FFF), "u32": (0, 0xFFFFFFFF),
            "s32": (-0x80000000, 0x7FFFFFFF), "hhmm": (0, 0xFFFF),
            "hhmm_dec": (0, 0xFFFF)}[typ]


def _hhmm_dec_text(raw: int) -> str:
    """Why text, not an error: a slot register holding 60 or 2460 is a fact to show (GivEnergy
    uses 60 as "unset"), like an unknown enum code, not a failed read."""
    h, m = divmod(raw, 100)
    return f"{h:02d}:{m:02d}" if h <= 23 and m <= 59 else f"invalid ({raw})"


def _need(words: list[int], n: int, typ: str) -> None:
    if len(words) != n:
        raise CodecError(f"type {typ} needs {n} register(s), got {len(words)}")


# --- raw <-> value -----------------------------------------------------------------------------

def decimals(scale: float) -> int:
    """Digits after the point that a scale can produce (0.1 -> 1, 0.01 -> 2, 0.5 -> 1)."""
    if scale == int(scale):
        return 0
    for d in range(1, 10):
        if abs(round(scale * 10 ** d) - scale * 10 ** d) < 1e-9:
            return d
    return 6


def scaled(raw: int | float, scale: float) -> int | float:
    if scale == 1:
        return raw
    return round(raw * scale, decimals(scale))


def to_value(point, raw: int | float) -> int | float:
    """A number read to the point's engineering value: (raw − offset) × scale."""
    offset = getattr(point, "offset", 0)
    return scaled(raw - offset if offset else raw, point.scale)


def to_raw(point, value: int | float) -> float:
    """An engineering value to the raw number (not rounded): value / scale + offset."""
    return value / point.scale + getattr(point, "offset", 0)


@dataclass(frozen=True)
class Decoded:
    """One point read: the words, what they hold and what they mean."""

    words: tuple[int, ...]
    raw: int | float | str
    value: int | float | str
    text: str               # for people: value with unit, or the label


def decode(point: Point, words: list[int]) -> Decoded:
    raw = words_to_raw(point.type, list(words), point.words)
    value: int | float | str = raw if isinstance(raw, str) else to_value(point, raw)
    return Decoded(tuple(words), raw, value, describe(point, raw, value))


def describe(point: Point, raw, value) -> str:
    if isinstance(raw, int):
        if point.special and raw in point.special:
            return point.special[raw]
        if point.enum is not None:
            return point.enum.get(raw, f"unknown ({raw})")
        if point.bits is not None:
            names = [label for bit, label in sorted(point.bits.items()) if raw >> bit & 1]
            return ", ".join(names) if names else "none"
    if isinstance(value, float):
        return f"{value:.{decimals(point.scale)}f} {point.unit}".rstrip()
    return f"{value} {point.unit}".rstrip() if point.unit else str(value)


# --- text/value -> words (validated) -----------------------------------------------------------

def parse_value(point: Point, text: str) -> int | float | str:
    """Turn what a person typed into an engineering value (a label becomes its raw value)."""
    s = str(text).strip()
    if point.type in TEXT_TYPES:
        return s
    for labels in (point.enum, point.special):
        if labels:
            for raw, label in labels.items():
                if label.lower() == s.lower():
                    return scaled(raw, point.scale)
    try:
        if re.fullmatch(r"[+-]?0[xX][0-9a-fA-F]+", s):
            return int(s, 16)
        if re.fullmatch(r"[+-]?\d+", s):
            return int(s)
        v = float(s)
    except ValueError:
        choices = _choices(point)
        raise ValueRejected(f"{point.name}: {s!r} is not a number{choices}") from None
    if not math.isfinite(v):
        raise ValueRejected(f"{point.name}: {s!r} is not a finite number")
    return v


def _choices(point: Point) -> str:
    labels = {**(point.enum or {}), **(point.special or {})}
    return f" (choices: {', '.join(labels.values())})" if labels else ""


def encode_value(point: Point, value: int | float | str) -> list[int]:
    """Validate an engineering value against the map and encode it; raise ValueRejected."""
    try:
        if point.type in TEXT_TYPES:
            if not isinstance(value, str):
                raise ValueRejected(f"{point.name}: needs text")
            return raw_to_words(point.type, value, point.count, point.words)
        if isinstance(value, str):
            value = parse_value(point, value)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueRejected(f"{point.name}: {value} is not a finite number")
        if point.type == "f32":
            _check_range(point, value)
            return raw_to_words("f32", float(value), 2, point.words)
        raw_f = to_raw(point, value)
        raw = round(raw_f)
        if abs(raw_f - raw) > 1e-6 * max(1.0, abs(raw_f)):
            raise ValueRejected(f"{point.name}: {value} is not a multiple of {point.scale} "
                                f"{point.unit}".rstrip())
        if point.special and raw in point.special:
            return raw_to_words(point.type, raw, point.count, point.words)
        if point.enum is not None and raw not in point.enum:
            raise ValueRejected(f"{point.name}: {value} is not one of "
                                + ", ".join(f"{k} ({v})" for k, v in point.enum.items()))
        _check_range(point, value)
        if point.step and point.range:
            k = (value - point.range[0]) / point.step
            if abs(k - round(k)) > 1e-6:
                raise ValueRejected(f"{point.name}: {value} is not on a step of {point.step} "
                                    f"from {point.range[0]}")
        return raw_to_words(point.type, raw, point.count, point.words)
    except CodecError as exc:
        raise ValueRejected(f"{point.name}: {exc}") from None
    except OverflowError:   # a huge int (or float / tiny scale) has no float or raw equivalent
        raise ValueRejected(f"{point.name}: the value is far too large") from None


def _check_range(point: Point, value: float) -> None:
    if point.range and not point.range[0] <= value <= point.range[1]:
        lo, hi = point.range
        extra = _choices(point) if point.special else ""
        raise ValueRejected(f"{point.name}: {value} is outside {lo}..{hi} {point.unit}".rstrip()
                            + extra)
