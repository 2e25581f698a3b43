"""Device clocks as register words: the field order (one a register, or two packed in one:
registers/clock_words.py) and the year encoding come from the map.

Growatt families disagree on the year (some read and take 2026, MIN TL-X and SPH read 2026 but
only take 26): `auto` reads either and writes the two-digit form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from solartui.errors import CodecError
from solartui.registers.clock_words import field_names, pack, unpack
from solartui.registers.model import ClockSpec


WHOLE_SECOND_MIDDLE = 0.5


@dataclass(frozen=True)
class ClockReading:
    """A device clock read: its time (None: unreadable, see error), the host's at that moment,
    and the raw register words (empty for command devices)."""

    device: datetime | None
    host: datetime
    words: tuple[int, ...]
    error: str | None = None

    @property
    def drift(self) -> float | None:
        """Device minus host, in seconds. A device shows whole seconds: its true time lies in
        [shown, shown + 1 s), so the middle is taken (a clock set exactly reads about 0, not -0.5
        or -1); the estimate is good to ±0.5 s."""
        if self.device is None:
            return None
        return (self.device - self.host).total_seconds() + WHOLE_SECOND_MIDDLE


def decode_year(raw: int, mode: str) -> int:
    if mode == "full":
        return raw
    if mode == "offset2000":
        return 2000 + raw
    if raw >= 2000:
        return raw
    if raw < 100:
        return 2000 + raw
    raise CodecError(f"year register holds {raw}: neither a full nor a two-digit year")


def decode_clock(spec: ClockSpec, words: list[int]) -> datetime:
    if len(words) != len(spec.fields):
        raise CodecError(f"clock needs {len(spec.fields)} registers, got {len(words)}")
    parts = unpack(spec.fields, words)
    if "year" in parts:
        parts["year"] = decode_year(parts["year"], spec.year)
    now = datetime.now()
    try:
        return datetime(parts.get("year", now.year), parts.get("month", 1), parts.get("day", 1),
                        parts.get("hour", 0), parts.get("minute", 0), parts.get("second", 0))
    except ValueError as exc:
        shown = "-".join(str(w) for w in words)
        raise CodecError(f"device clock reads {shown}, which is not a date: {exc}") from None


def encode_clock(spec: ClockSpec, when: datetime) -> list[int]:
    year = when.year if spec.year == "full" else when.year - 2000
    if not 0 <= year <= 0xFFFF:
        raise CodecError(f"year {when.year} cannot be encoded as {spec.year}")
    values = {"year": year, "month": when.month, "day": when.day, "hour": when.hour,
              "minute": when.minute, "second": when.second}
    return pack(spec.fields, values)


def has_field(spec: ClockSpec, index: int | None, name: str) -> bool:
    """Whether the register at `index` (None: any of them) holds the field `name`."""
    chosen = spec.fields if index is None else [spec.fields[index]]
    return any(name in field_names(f) for f in chosen)
