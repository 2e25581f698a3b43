"""Record layouts: what each frame type carries, in each direction, for each protocol.

The same type byte means different things by direction (0x19 from the server is a query, from the
datalogger a one-register answer), so there are two parsers: `parse_from_logger` for what the
server receives and `parse_from_server` for what a datalogger receives. Each record builds its own
payload with `payload(protocol)`. Serial fields are 10 bytes in protocols 02/05 and 30 in 06;
they are read up to the first NUL and decoded as ISO-8859-1, so any byte is a character.
"""

from __future__ import annotations

import sys
from array import array
from dataclasses import dataclass, field
from datetime import datetime

from solartui.errors import RecordError
from solartui.shine import frame as F
from solartui.shine.frame import Frame


def serial_size(protocol: int) -> int:
    return 30 if protocol == 6 else 10


def pack_serial(serial: str, protocol: int) -> bytes:
    raw = serial.encode("latin-1", "replace")
    size = serial_size(protocol)
    if len(raw) > size:
        raise RecordError(f"serial {serial!r} longer than {size} bytes")
    return raw.ljust(size, b"\0")


def unpack_serial(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("latin-1")


class _Reader:
    """Walks a payload; running off the end is a RecordError naming the field."""

    def __init__(self, data: bytes, what: str):
        self.data = data
        self.pos = 0
        self.what = what

    def take(self, n: int, field_name: str) -> bytes:
        if self.pos + n > len(self.data):
            raise RecordError(f"{self.what}: payload too short for {field_name} "
                              f"({len(self.data)} bytes)")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self, name: str) -> int:
        return self.take(1, name)[0]

    def u16(self, name: str) -> int:
        return int.from_bytes(self.take(2, name), "big")

    def serial(self, protocol: int, name: str) -> str:
        return unpack_serial(self.take(serial_size(protocol), name))

    @property
    def left(self) -> int:
        return len(self.data) - self.pos

    def rest(self) -> bytes:
        out = self.data[self.pos:]
        self.pos = len(self.data)
        return out

    def done(self) -> None:
        if self.left:
            raise RecordError(f"{self.what}: {self.left} unexpected bytes after the record")


def _words(raw: bytes) -> tuple[int, ...]:
    words = array("H", raw)
    if sys.byteorder == "little":
        words.byteswap()
    return tuple(words)


def _pack_words(values) -> bytes:
    out = bytearray()
    for v in values:
        if not 0 <= v <= 0xFFFF:
            raise RecordError(f"register value {v} outside 0-65535")
        out += v.to_bytes(2, "big")
    return bytes(out)


def _u16(v: int, what: str) -> bytes:
    if not 0 <= v <= 0xFFFF:
        raise RecordError(f"{what} {v} outside 0-65535")
    return v.to_bytes(2, "big")


# --- groups of registers in announces and data records ---------------------------------------

@dataclass(frozen=True)
class Group:
    start: int
    words: tuple[int, ...]

    @property
    def end(self) -> int:
        return self.start + len(self.words) - 1


def _timestamp(raw: bytes) -> datetime | None:
    if not any(raw):
        return None
    y, mo, d, h, mi, s = raw
    try:
        return datetime(2000 + y, mo, d, h, mi, s)
    except ValueError:
        return None


def _pack_timestamp(ts: datetime | None) -> bytes:
    if ts is None:
        return bytes(6)
    return bytes((ts.year - 2000, ts.month, ts.day, ts.hour, ts.minute, ts.second))


def _parse_groups(r: _Reader) -> tuple[Group, ...]:
    count = r.u8("group count")
    groups = []
    while r.left:
        start = r.u16("group start")
        end = r.u16("group end")
        if end < start:
            raise RecordError(f"{r.what}: group end {end} before start {start}")
        groups.append(Group(start, _words(r.take(2 * (end - start + 1), f"group {start}-{end}"))))
    del count  # equals len(groups) in every capture; grott reads it differently, so trust the bytes
    return tuple(groups)


def _pack_groups(groups) -> bytes:
    out = bytearray((len(groups),))
    for g in groups:
        out += _u16(g.start, "group start") + _u16(g.end, "group end") + _pack_words(g.words)
    return bytes(out)


# --- records a datalogger sends ----------------------------------------------------------------

@dataclass(frozen=True)
class Ping:
    TYPE = F.PING
    datalogger: str

    def payload(self, protocol: int) -> bytes:
        return pack_serial(self.datalogger, protocol)


@dataclass(frozen=True)
class InverterRecord:
    """0x03 announce (holding registers), 0x04 data and 0x50 buffered data (input registers)."""

    type: int
    datalogger: str
    inverter: str
    timestamp: datetime | None
    groups: tuple[Group, ...]

    @property
    def TYPE(self) -> int:  # noqa: N802 - same spelling as the class constants of the others
        return self.type

    @property
    def buffered(self) -> bool:
        return self.type == F.BUFFERED

    def payload(self, protocol: int) -> bytes:
        return (pack_serial(self.datalogger, protocol) + pack_serial(self.inverter, protocol)
                + _pack_timestamp(self.timestamp) + _pack_groups(self.groups))


@dataclass(frozen=True)
class _TextRegister:
    """Serial, register, length-prefixed ASCII value: a 0x19 answer and a 0x18 command alike."""

    datalogger: str
    register: int
    value: bytes

    def payload(self, protocol: int) -> bytes:
        return (pack_serial(self.datalogger, protocol) + _u16(self.register, "register")
                + _u16(len(self.value), "value length") + self.value)


class LoggerValue(_TextRegister):
    """0x19 answer: one datalogger register (ASCII value)."""

    TYPE = F.READ_LOGGER


@dataclass(frozen=True)
class LoggerWriteReply:
    """0x18 answer: status 0 = ACK, 3 = NACK."""

    TYPE = F.WRITE_LOGGER
    datalogger: str
    register: int
    status: int

    def payload(self, protocol: int) -> bytes:
        return pack_serial(self.datalogger, protocol) + _u16(self.register, "register") + bytes((self.status,))


@dataclass(frozen=True)
class HoldingValues:
    """0x05 answer; no values means the register is unavailable."""

    TYPE = F.READ_HOLDING
    datalogger: str
    first: int
    last: int
    values: tuple[int, ...]

    def payload(self, protocol: int) -> bytes:
        return (pack_serial(self.datalogger, protocol) + _u16(self.first, "first register")
                + _u16(self.last, "last register") + _pack_words(self.values))


@dataclass(frozen=True)
class HoldingWriteReply:
    """0x06 answer: result 0 = accepted, and the value the register now holds."""

    TYPE = F.WRITE_HOLDING
    datalogger: str
    register: int
    result: int
    value: int

    def payload(self, protocol: int) -> bytes:
        return (pack_serial(self.datalogger, protocol) + _u16(self.register, "register")
                + bytes((self.result,)) + _u16(self.value, "value"))


@dataclass(frozen=True)
class MultipleWriteReply:
    """0x10 answer: status 0 = accepted."""

    TYPE = F.WRITE_MULTIPLE
    datalogger: str
    first: int
    last: int
    status: int

    def payload(self, protocol: int) -> bytes:
        return (pack_serial(self.datalogger, protocol) + _u16(self.first, "first register")
                + _u16(self.last, "last register") + bytes((self.status,)))


@dataclass(frozen=True)
class ParamDump:
    """0x29: the datalogger's own registers as [reg u16][len u16][ASCII] items."""

    TYPE = F.PARAM_DUMP
    datalogger: str
    params: dict = field(default_factory=dict)

    def payload(self, protocol: int) -> bytes:
        out = bytearray(pack_serial(self.datalogger, protocol))
        for reg, value in self.params.items():
            out += _u16(reg, "register") + _u16(len(value), "value length") + value
        return bytes(out)


@dataclass(frozen=True)
class MeterRecord:
    """0x1b / 0x20 smart-meter records: kept raw; only the serials are read."""

    type: int
    datalogger: str
    inverter: str
    raw: bytes

    @property
    def TYPE(self) -> int:  # noqa: N802
        return self.type

    def payload(self, protocol: int) -> bytes:
        return pack_serial(self.datalogger, protocol) + pack_serial(self.inverter, protocol) + self.raw


# --- what the server sends ---------------------------------------------------------------------

@dataclass(frozen=True)
class Ack:
    """The server's acknowledgement of an announce, data or meter record (payload 0x00)."""

    type: int

    @property
    def TYPE(self) -> int:  # noqa: N802
        return self.type

    def payload(self, protocol: int) -> bytes:
        return b"\0"


@dataclass(frozen=True)
class _RegisterRange:
    """Serial, first and last register: the 0x19 and 0x05 read commands alike."""

    datalogger: str
    first: int
    last: int

    def payload(self, protocol: int) -> bytes:
        return pack_serial(self.datalogger, protocol) + _u16(self.first, "first register") + _u16(self.last, "last register")


class ReadLogger(_RegisterRange):
    TYPE = F.READ_LOGGER


class WriteLogger(_TextRegister):
    TYPE = F.WRITE_LOGGER


class ReadHolding(_RegisterRange):
    TYPE = F.READ_HOLDING


@dataclass(frozen=True)
class WriteHolding:
    TYPE = F.WRITE_HOLDING
    datalogger: str
    register: int
    value: int

    def payload(self, protocol: int) -> bytes:
        return pack_serial(self.datalogger, protocol) + _u16(self.register, "register") + _u16(self.value, "value")


@dataclass(frozen=True)
class WriteMultiple:
    TYPE = F.WRITE_MULTIPLE
    datalogger: str
    first: int
    values: tuple[int, ...]

    @property
    def last(self) -> int:
        return self.first + len(self.values) - 1

    def payload(self, protocol: int) -> bytes:
        if not self.values:
            raise RecordError("a multiple write needs at least one value")
        return (pack_serial(self.datalogger, protocol) + _u16(self.first, "first register")
                + _u16(self.last, "last register") + _pack_words(self.values))


def to_frame(record, tid: int, protocol: int, unit: int = 1) -> Frame:
    return Frame(tid & 0xFFFF, protocol, unit, record.TYPE, record.payload(protocol))


def encode(record, tid: int, protocol: int, unit: int = 1) -> bytes:
    return F.encode_frame(to_frame(record, tid, protocol, unit))


# --- parsing -----------------------------------------------------------------------------------

def _what(frame: Frame, side: str) -> str:
    return f"{frame.type_name} {side}"


def _parse_text_register(cls, r: _Reader, protocol: int):
    logger = r.serial(protocol, "datalogger serial")
    reg = r.u16("register")
    value = r.take(r.u16("value length"), "value")
    r.done()
    return cls(logger, reg, value)


def parse_from_logger(frame: Frame):
    """The record a datalogger sent; RecordError if the payload does not fit its type."""
    p = frame.protocol
    r = _Reader(frame.payload, _what(frame, "from datalogger"))
    t = frame.type
    if t == F.PING:
        rec = Ping(r.serial(p, "datalogger serial"))
        r.rest()  # some firmware pads pings; the serial is what matters
        return rec
    if t in (F.ANNOUNCE, F.DATA, F.BUFFERED):
        logger = r.serial(p, "datalogger serial")
        inverter = r.serial(p, "inverter serial")
        ts = _timestamp(r.take(6, "timestamp"))
        return InverterRecord(t, logger, inverter, ts, _parse_groups(r))
    if t == F.READ_LOGGER:
        return _parse_text_register(LoggerValue, r, p)
    if t == F.WRITE_LOGGER:
        rec = LoggerWriteReply(r.serial(p, "datalogger serial"), r.u16("register"), r.u8("status"))
        r.done()
        return rec
    if t == F.READ_HOLDING:
        logger = r.serial(p, "datalogger serial")
        first, last = r.u16("first register"), r.u16("last register")
        rest = r.rest()
        if len(rest) % 2:
            raise RecordError(f"{r.what}: odd number of value bytes ({len(rest)})")
        return HoldingValues(logger, first, last, _words(rest))
    if t == F.WRITE_HOLDING:
        rec = HoldingWriteReply(r.serial(p, "datalogger serial"), r.u16("register"),
                                r.u8("result"), r.u16("value"))
        r.done()
        return rec
    if t == F.WRITE_MULTIPLE:
        rec = MultipleWriteReply(r.serial(p, "datalogger serial"), r.u16("first register"),
                                 r.u16("last register"), r.u8("status"))
        r.done()
        return rec
    if t == F.PARAM_DUMP:
        logger = r.serial(p, "datalogger serial")
        params = {}
        while r.left >= 4:
            reg = r.u16("register")
            params[reg] = r.take(r.u16("value length"), f"value of register {reg}")
        return ParamDump(logger, params)
    if t in (F.METER_LOG, F.METER_DATA):
        logger = r.serial(p, "datalogger serial")
        inverter = r.serial(p, "inverter serial") if r.left >= serial_size(p) else ""
        return MeterRecord(t, logger, inverter, r.rest())
    raise RecordError(f"unknown record type {t:02x} from datalogger")


def parse_from_server(frame: Frame):
    """What a datalogger receives: an ACK, an echoed ping, or a command."""
    p = frame.protocol
    r = _Reader(frame.payload, _what(frame, "from server"))
    t = frame.type
    if t in (F.ANNOUNCE, F.DATA, F.BUFFERED, F.METER_LOG, F.METER_DATA) and len(frame.payload) == 1:
        return Ack(t)
    if t == F.PING:
        return Ping(r.serial(p, "datalogger serial"))
    if t in (F.READ_LOGGER, F.READ_HOLDING):
        cls = ReadLogger if t == F.READ_LOGGER else ReadHolding
        rec = cls(r.serial(p, "datalogger serial"), r.u16("first register"), r.u16("last register"))
        r.done()
        return rec
    if t == F.WRITE_LOGGER:
        return _parse_text_register(WriteLogger, r, p)
    if t == F.WRITE_HOLDING:
        rec = WriteHolding(r.serial(p, "datalogger serial"), r.u16("register"), r.u16("value"))
        r.done()
        return rec
    if t == F.WRITE_MULTIPLE:
        logger = r.serial(p, "datalogger serial")
        first, last = r.u16("first register"), r.u16("last register")
        if last < first:
            raise RecordError(f"{r.what}: last register {last} before first {first}")
        values = _words(r.take(2 * (last - first + 1), "values"))
        r.done()
        return WriteMultiple(logger, first, values)
    raise RecordError(f"unexpected record type {t:02x} from server")
