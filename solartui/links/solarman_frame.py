"""The Solarman V5 envelope and the Modbus RTU frame inside it (protocols/solarman-v5.md §2-5).

Why our own framer and not the `pysolarmanv5` package: that library owns its socket (a blocking
client, or an asyncio one with its own reader loop, auto-reconnect and timeouts) and pulls in
umodbus for the RTU part. Here the LinkScheduler must own pacing and every byte of I/O, as it does
for Modbus, GivEnergy and PI30; what we need from the library is its facts, and those are in the
protocol notes. The format is small (an 11-byte header, a payload, checksum and end byte), so
owning ~200 lines is cheaper than adapting a client whose I/O we would have to bypass. No I/O
here: bytes in, values out. Every decoder returns a value or raises a SolarmanFrameError.

Layout (little-endian): A5 | L (u16) | control (u16) | seq (client byte, logger byte) |
logger serial (u32) | payload (L bytes) | checksum (sum of bytes 1..-3 mod 256) | 15.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solartui.links.crc import crc16_modbus
from solartui.links.solarman_errors import (
    SolarmanChecksumError, SolarmanCrcError, SolarmanFrameError, SolarmanRtuError,
)

START, END = 0xA5, 0x15
HEADER = 11
OVERHEAD = 13                   # header + checksum + end: frame length = 13 + L
MAX_PAYLOAD = 512               # the biggest real one: 25 + 5 + 250 register bytes; room to spare
REQUEST, RESPONSE, HEARTBEAT = 0x4510, 0x1510, 0x4710
# every control code the notes list (§2.2): logger-initiated ones and the replies to them
LOGGER_CODES = {0x4110, 0x4210, 0x4310, 0x4710, 0x4810}
CONTROL_CODES = LOGGER_CODES | {REQUEST, RESPONSE, 0x1110, 0x1210, 0x1310, 0x1710, 0x1810}
REQUEST_PREFIX = bytes([0x02]) + bytes(14)      # frame type 02, sensor type, three zero times
RESPONSE_FIXED = 14                              # frame type, status, three u32 times
NO_DATA_MAX = 4                 # an "RTU" part this short is the logger's "no data" (§5)
SERIAL_MAX = 0xFFFFFFFF
_HDR = struct.Struct("<BHHBBI")


@dataclass(frozen=True)
class V5Frame:
    control: int
    seq: int                    # byte 5: chosen by the client, echoed by the logger
    logger_seq: int             # byte 6: the logger's own counter (00 in requests)
    serial: int                 # the logger's (stick's) serial number
    payload: bytes = b""

    @property
    def is_response(self) -> bool:
        return self.control == RESPONSE


@dataclass(frozen=True)
class V5Response:
    """The payload of a 0x1510 frame."""

    frame_type: int
    status: int
    total_working: int
    power_on: int
    offset: int
    rtu: bytes                  # the Modbus RTU reply, or a 1-4 byte "no data" tail

    @property
    def no_data(self) -> bool:
        return len(self.rtu) <= NO_DATA_MAX


def checksum(data: bytes) -> int:
    """The V5 checksum of a whole frame: bytes 1..len-3, summed modulo 256."""
    return sum(memoryview(data)[1:-2]) & 0xFF


def encode(frame: V5Frame) -> bytes:
    if not 0 <= frame.serial <= SERIAL_MAX:
        raise SolarmanFrameError(f"logger serial {frame.serial} does not fit 32 bits")
    if len(frame.payload) > MAX_PAYLOAD:
        raise SolarmanFrameError(f"payload of {len(frame.payload)} bytes is too long")
    head = _HDR.pack(START, len(frame.payload), frame.control, frame.seq & 0xFF,
                     frame.logger_seq & 0xFF, frame.serial)
    body = head + frame.payload + b"\0\x15"
    return body[:-2] + bytes([checksum(body), END])


def check_header(head: bytes) -> int:
    """The whole frame's length from its first 5+ bytes, or SolarmanFrameError: start byte A5,
    a control code we know (byte 3 is always 10), a payload length below MAX_PAYLOAD."""
    if len(head) < 5 or head[0] != START:
        raise SolarmanFrameError("no A5 start byte", head)
    length = head[1] | head[2] << 8
    control = head[3] | head[4] << 8
    if control not in CONTROL_CODES:
        raise SolarmanFrameError(f"unknown control code 0x{control:04x}", head)
    if length > MAX_PAYLOAD:
        raise SolarmanFrameError(f"payload length {length} is impossible", head)
    return OVERHEAD + length


def decode(data: bytes) -> V5Frame:
    """One whole frame -> V5Frame, or SolarmanFrameError (SolarmanChecksumError)."""
    data = bytes(data)
    size = check_header(data)
    if len(data) != size:
        raise SolarmanFrameError(f"frame is {len(data)} bytes, its length field says {size}",
                                 data)
    if data[-1] != END:
        raise SolarmanFrameError(f"frame ends in {data[-1]:02x}, not 15", data)
    if data[-2] != checksum(data):
        raise SolarmanChecksumError(f"V5 checksum {data[-2]:02x} does not verify "
                                    f"(computed {checksum(data):02x})", data)
    _, _, control, seq, lseq, serial = _HDR.unpack_from(data)
    return V5Frame(control, seq, lseq, serial, data[HEADER:-2])


def request_frame(serial: int, seq: int, rtu: bytes) -> bytes:
    """A 0x4510 frame carrying one Modbus RTU request (with its CRC)."""
    return encode(V5Frame(REQUEST, seq, 0, serial, REQUEST_PREFIX + rtu))


def response_frame(serial: int, seq: int, logger_seq: int, rtu: bytes, *, times=(0, 0, 0),
                   frame_type: int = 2, status: int = 1) -> bytes:
    """A 0x1510 frame as a logger sends it (the simulator's side)."""
    payload = struct.pack("<BBIII", frame_type, status, *times) + rtu
    return encode(V5Frame(RESPONSE, seq, logger_seq, serial, payload))


def parse_request(frame: V5Frame) -> bytes:
    """The RTU request inside a 0x4510 frame (the simulator's side)."""
    if frame.control != REQUEST or len(frame.payload) < len(REQUEST_PREFIX) + 4:
        raise SolarmanFrameError("not a V5 request carrying an RTU frame", frame.payload)
    return frame.payload[len(REQUEST_PREFIX):]


def parse_response(frame: V5Frame) -> V5Response:
    if frame.control != RESPONSE:
        raise SolarmanFrameError(f"control 0x{frame.control:04x} is not a response")
    p = frame.payload
    if len(p) < RESPONSE_FIXED:
        raise SolarmanFrameError(f"response payload of {len(p)} bytes is too short", p)
    ftype, status, total, power_on, offset = struct.unpack_from("<BBIII", p)
    return V5Response(ftype, status, total, power_on, offset, p[RESPONSE_FIXED:])


def heartbeat_reply(frame: V5Frame, now: int) -> bytes:
    """What pysolarmanv5 and ha-solarman send back to a logger-initiated frame (§4)."""
    payload = struct.pack("<BBII", 0, 1, now & 0xFFFFFFFF, 0)
    return encode(V5Frame(frame.control - 0x3000, frame.seq + 1, frame.logger_seq,
                          frame.serial, payload))


# --- the Modbus RTU frame inside ---------------------------------------------------------------

def with_crc(body: bytes) -> bytes:
    return body + struct.pack("<H", crc16_modbus(body))


def rtu_read(unit: int, function: int, address: int, count: int) -> bytes:
    return with_crc(struct.pack(">BBHH", unit, function, address, count))


def rtu_write(unit: int, function: int, address: int, words: list[int]) -> bytes:
    if function == 6:
        return with_crc(struct.pack(">BBHH", unit, 6, address, words[0]))
    return with_crc(struct.pack(">BBHHB", unit, 16, address, len(words), 2 * len(words))
                    + struct.pack(f">{len(words)}H", *words))


def strip_crc(rtu: bytes) -> bytes:
    """The RTU frame without its CRC, after checking it; also takes the "double CRC" some Deye
    loggers send (two extra 00 00 after a good CRC, §2.5)."""
    if len(rtu) < 4:
        raise SolarmanRtuError(f"RTU frame of {len(rtu)} bytes is too short", rtu)
    # the double CRC first: a CRC run over data + its CRC is 0, so 00 00 also "verifies"
    if (len(rtu) >= 6 and rtu[-2:] == b"\0\0"
            and crc16_modbus(rtu[:-4]) == int.from_bytes(rtu[-4:-2], "little")):
        return rtu[:-4]
    if crc16_modbus(rtu[:-2]) == int.from_bytes(rtu[-2:], "little"):
        return rtu[:-2]
    raise SolarmanCrcError(f"Modbus CRC of the reply does not verify: {rtu[:24].hex(' ')}", rtu)


@dataclass(frozen=True)
class RtuReply:
    unit: int
    function: int
    exception: int | None = None        # the code of an exception reply (function | 0x80)
    words: tuple[int, ...] = ()         # FC03/04: the registers; FC06/16: (address, value|count)


def parse_rtu_reply(rtu: bytes) -> RtuReply:
    """An RTU reply (CRC included) -> RtuReply, or SolarmanRtuError / SolarmanCrcError."""
    body = strip_crc(bytes(rtu))
    if len(body) < 2:
        raise SolarmanRtuError("RTU reply has no function code", rtu)
    unit, function = body[0], body[1]
    if function & 0x80:
        if len(body) != 3:
            raise SolarmanRtuError(f"exception reply of {len(body)} bytes", rtu)
        return RtuReply(unit, function & 0x7F, exception=body[2])
    if function in (3, 4):
        if len(body) < 3 or body[2] != len(body) - 3 or body[2] % 2:
            raise SolarmanRtuError("read reply's byte count does not match its length", rtu)
        n = body[2] // 2
        return RtuReply(unit, function, words=struct.unpack_from(f">{n}H", body, 3))
    if function in (6, 16):
        if len(body) != 6:
            raise SolarmanRtuError(f"write reply of {len(body)} bytes (6 expected)", rtu)
        return RtuReply(unit, function, words=struct.unpack_from(">HH", body, 2))
    raise SolarmanRtuError(f"function {function} is not one we asked for", rtu)


def parse_rtu_request(rtu: bytes) -> tuple[int, int, int, list[int] | int]:
    """(unit, function, address, count or words) from an RTU request (the simulator's side)."""
    body = strip_crc(bytes(rtu))
    if len(body) < 6:
        raise SolarmanRtuError("RTU request too short", rtu)
    unit, function, address, n = struct.unpack_from(">BBHH", body)
    if function in (3, 4):
        return unit, function, address, n
    if function == 6:
        return unit, function, address, [n]
    if function == 16:
        if len(body) < 7 or body[6] != 2 * n or len(body) != 7 + 2 * n:
            raise SolarmanRtuError("FC16 request's byte count does not match", rtu)
        return unit, function, address, list(struct.unpack_from(f">{n}H", body, 7))
    raise SolarmanRtuError(f"function {function} is not served", rtu)
