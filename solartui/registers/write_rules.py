"""What the map and the protocol allow a write to do, decided without any I/O.

Why here: the write gate checks a named point (`encode_value`) and a run of raw holding registers
(the register browser, grottserver's `register=`/`multiregister` PUTs) by the same rules, so a raw
write cannot slip past a guard, an access, a range, a step or an enum that a named write would
meet. Registers the map does not describe stay writable (grottserver scripts write raw registers):
the caller learns they are unmapped and says so in the journal.
"""

from __future__ import annotations

from solartui.errors import CodecError, ValueRejected, WriteForbidden
from solartui.registers.codec import TEXT_TYPES, encode_value, to_value, words_to_raw
from solartui.registers.model import Point

# Modbus application protocol: FC16 writes at most 123 registers, FC03/FC04 read at most 125
MAX_WRITE_MULTIPLE = 123
MAX_READ = 125


def check_write_count(count: int, limit: int = MAX_WRITE_MULTIPLE) -> None:
    """A write of `count` registers in one request, refused past the protocol's (or map's) limit."""
    limit = min(limit, MAX_WRITE_MULTIPLE)
    if not 1 <= count <= limit:
        raise ValueRejected(f"a write takes 1-{limit} registers in one request, not {count}")


def check_read_count(count: int, limit: int = MAX_READ) -> None:
    limit = min(limit, MAX_READ)
    if not 1 <= count <= limit:
        raise ValueRejected(f"a read takes 1-{limit} registers in one request, not {count}")


def check_point_writable(point: Point) -> None:
    if point.guard:
        raise WriteForbidden(f"{point.name}: guarded register ({point.doc}); "
                             "solartui does not write it")
    if not point.writable:
        raise WriteForbidden(f"{point.name} is read-only")


def check_raw_words(device_map, address: int, words: list[int]) -> list[Point]:
    """The mapped holding points that raw `words` from `address` on would change, each checked as
    if it had been written by name; [] when the registers are unmapped. Raises WriteForbidden
    (guarded, read-only) or ValueRejected (outside the range, off the step, not an enum value,
    half of a multi-register point, too many registers)."""
    if not words or any(not isinstance(w, int) or not 0 <= w <= 0xFFFF for w in words):
        raise ValueRejected("raw register values must be 0-65535")
    last = address + len(words) - 1
    if not 0 <= address or last > 65535:
        raise ValueRejected(f"register {address} (+{len(words)}) is outside 0-65535")
    if len(words) > 1:
        check_write_count(len(words), device_map.link.max_write)
    touched = [p for p in device_map.points
               if p.table == "holding" and p.alias_of is None
               and p.address <= last and address <= p.end]
    for p in touched:
        if p.guard or not p.writable:
            where = f"register {p.address}" + (f"-{p.end}" if p.end != p.address else "")
            why = f"guarded ({p.doc})" if p.guard else "read-only in the map"
            raise WriteForbidden(f"{where} is {p.name}, {why}; solartui does not write it")
    for p in touched:
        if p.address < address or p.end > last:
            raise ValueRejected(f"{p.name} spans registers {p.address}-{p.end}: write them "
                                "together, not a part of it")
        _check_point_words(p, words[p.address - address: p.end - address + 1])
    return touched


def _check_point_words(point: Point, words: list[int]) -> None:
    if point.type in TEXT_TYPES:
        return
    try:
        raw = words_to_raw(point.type, list(words), point.words)
    except CodecError as exc:
        raise ValueRejected(f"{point.name}: {exc}") from None
    if point.special and raw in point.special:
        return
    value = raw if isinstance(raw, float) else to_value(point, raw)
    shown = f"{value} {point.unit}".rstrip()
    try:
        encode_value(point, value)
    except ValueRejected as exc:
        raise ValueRejected(f"raw {' '.join(str(w) for w in words)} means {shown}; {exc}") from None
