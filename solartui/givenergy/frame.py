"""GivEnergy dongle frames (protocols/givenergy.md §2): the envelope, heartbeats and the Modbus-
style messages inside it. No I/O.

Every frame is `59 59 | 00 01 | length u16 | uid | fid | adapter serial (10) | ...`, big-endian,
where `length` counts the bytes after it. Heartbeats (fid 1) end with a type byte. Transparent
frames (fid 2) carry an 8-byte "padding" integer and then a Modbus-RTU-shaped message whose
CRC-16/MODBUS covers frame[26:-2] and is sent LOW byte first. Requests always carry padding 8;
responses carry the number of bytes that follow it (never validated on receive). The legacy CRC
rule of old clients (function+base+count, high byte first) is never emitted and never accepted.

Why frozen dataclasses: the link matches replies to requests by shape (`match_key`), the
simulator builds replies from requests, and both want values, not byte offsets.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solartui.givenergy.errors import (
    GivCrcError,
    GivEncodeError,
    GivFrameError,
    GivHeaderError,
    GivLengthError,
    GivUnknownFrame,
)
from solartui.links.crc import crc16_modbus

MARKER = b"\x59\x59\x00\x01"
HEADER = 8                      # marker + length + uid + fid
PREFIX = 26                     # header + adapter serial + padding: where the Modbus part starts
MAX_LENGTH = 300                # sanity limit on the length field (§2.1)
FID_HEARTBEAT, FID_TRANSPARENT = 1, 2
REQUEST_PADDING = 8             # zero makes the inverter stop responding (§2.3)
DEFAULT_ADAPTER = "AB1234G567"  # the library's placeholder client serial
READ_FUNCTIONS = (3, 4, 0x16)
WRITE_FUNCTION = 6
MAX_REGISTERS = 60              # per read (§6.1); the codec itself allows any u16 count
NULL_SIZE = 164                 # a null frame: dev, 00, ten 00 bytes, 62 zero words, CRC
DIRECTIONS = ("to_dongle", "to_client")
_LAN_BYTES = frozenset(b"0123456789.,:/abcdefABCDEF \r\n")


# --- messages --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Heartbeat:
    """fid 1, both ways: the dongle asks, the client answers with the same type byte."""

    adapter_serial: str
    adapter_type: int = 1
    uid: int = 1


@dataclass(frozen=True)
class ReadRequest:
    device: int
    function: int               # 3 holding, 4 input, 0x16 meter product registers
    base: int
    count: int
    adapter_serial: str = DEFAULT_ADAPTER
    uid: int = 1


@dataclass(frozen=True)
class WriteRequest:
    device: int
    register: int
    value: int
    adapter_serial: str = DEFAULT_ADAPTER
    uid: int = 1


@dataclass(frozen=True)
class ReadResponse:
    device: int
    function: int
    inverter_serial: str
    base: int
    count: int
    values: tuple[int, ...]
    adapter_serial: str
    padding: int | None = None  # None: the number of bytes that follow it (what firmware sends)
    uid: int = 1


@dataclass(frozen=True)
class WriteResponse:
    device: int
    inverter_serial: str
    register: int
    value: int
    adapter_serial: str
    padding: int | None = None
    uid: int = 1


@dataclass(frozen=True)
class ErrorResponse:
    """fn | 0x80 on the wire; `function` holds it without the bit. No exception code exists."""

    device: int
    function: int
    inverter_serial: str
    base: int                   # the register, for a refused write
    count: int                  # the value, for a refused write; sometimes 0 for reads
    adapter_serial: str
    padding: int | None = None
    uid: int = 1


@dataclass(frozen=True)
class NullResponse:
    """Unsolicited all-zero frame (function 0); ignored. Some carry CRC 00 00."""

    adapter_serial: str
    device: int = 0
    padding: int | None = None
    uid: int = 1
    zero_crc: bool = False      # True: the CRC field is 00 00 as in the captures


@dataclass(frozen=True)
class LanBroadcast:
    """A WO-prefix dongle's `ip,netmask,gateway\\r\\n\\r\\n` + 2 unverifiable bytes; ignored."""

    text: str
    adapter_serial: str
    trailer: bytes = b"\x00\x00"
    padding: int | None = None
    uid: int = 1

    @property
    def fields(self) -> list[str]:
        return self.text.strip().split(",")


Request = ReadRequest | WriteRequest
Response = ReadResponse | WriteResponse | ErrorResponse | NullResponse | LanBroadcast
Message = Heartbeat | Request | Response


def match_key(msg) -> tuple | None:
    """The shape replies are matched on (§5): there is no transaction id."""
    if isinstance(msg, (ReadRequest, ReadResponse)):
        return (msg.device, msg.function & 0x7F, msg.base, msg.count)
    if isinstance(msg, (WriteRequest, WriteResponse)):
        return (msg.device, WRITE_FUNCTION, msg.register)
    if isinstance(msg, ErrorResponse):
        if msg.function == WRITE_FUNCTION:
            return (msg.device, WRITE_FUNCTION, msg.base)
        return (msg.device, msg.function, msg.base, msg.count)
    return None


# --- encoding --------------------------------------------------------------------------------------

def _check(name: str, value: int, bits: int) -> int:
    if not isinstance(value, int) or not 0 <= value < (1 << bits):
        raise GivEncodeError(f"{name} {value!r} does not fit in {bits} bits")
    return value


def _serial(name: str, text: str) -> bytes:
    try:
        raw = text.encode("latin-1")
    except (UnicodeEncodeError, AttributeError):
        raise GivEncodeError(f"{name} {text!r} is not 8-bit text") from None
    if len(raw) > 10:
        raise GivEncodeError(f"{name} {text!r} is longer than 10 characters")
    return raw.ljust(10, b"\0")


def _envelope(uid: int, fid: int, adapter: str, body: bytes) -> bytes:
    _check("uid", uid, 8)
    return (MARKER + (2 + 10 + len(body)).to_bytes(2, "big") + bytes((uid, fid))
            + _serial("adapter serial", adapter) + body)


def _with_crc(modbus: bytes) -> bytes:
    return modbus + crc16_modbus(modbus).to_bytes(2, "little")


def _transparent(msg, modbus: bytes, crc: bytes | None = None) -> bytes:
    tail = _with_crc(modbus) if crc is None else modbus + crc
    padding = len(tail) if msg.padding is None else msg.padding
    return _envelope(msg.uid, FID_TRANSPARENT, msg.adapter_serial,
                     _check("padding", padding, 64).to_bytes(8, "big") + tail)


def _u16(name: str, value: int) -> bytes:
    return _check(name, value, 16).to_bytes(2, "big")


def encode(msg) -> bytes:
    """The wire bytes of one message (requests with padding 8, current CRC rule only)."""
    if isinstance(msg, Heartbeat):
        return _envelope(msg.uid, FID_HEARTBEAT, msg.adapter_serial,
                         bytes((_check("adapter type", msg.adapter_type, 8),)))
    if isinstance(msg, ReadRequest):
        if msg.function not in READ_FUNCTIONS:
            raise GivEncodeError(f"function {msg.function} is not a GivEnergy register read")
        modbus = (bytes((_check("device", msg.device, 8), msg.function))
                  + _u16("base", msg.base) + _u16("count", msg.count))
        return _envelope(msg.uid, FID_TRANSPARENT, msg.adapter_serial,
                         REQUEST_PADDING.to_bytes(8, "big") + _with_crc(modbus))
    if isinstance(msg, WriteRequest):
        modbus = (bytes((_check("device", msg.device, 8), WRITE_FUNCTION))
                  + _u16("register", msg.register) + _u16("value", msg.value))
        return _envelope(msg.uid, FID_TRANSPARENT, msg.adapter_serial,
                         REQUEST_PADDING.to_bytes(8, "big") + _with_crc(modbus))
    if isinstance(msg, ReadResponse):
        if msg.function not in READ_FUNCTIONS:
            raise GivEncodeError(f"function {msg.function} is not a GivEnergy register read")
        if len(msg.values) != msg.count:
            raise GivEncodeError(f"count {msg.count} but {len(msg.values)} values")
        words = b"".join(_u16("value", v) for v in msg.values)
        modbus = (bytes((_check("device", msg.device, 8), msg.function))
                  + _serial("inverter serial", msg.inverter_serial)
                  + _u16("base", msg.base) + _u16("count", msg.count) + words)
        if len(modbus) + 2 + 18 > MAX_LENGTH:
            raise GivEncodeError(f"{msg.count} registers do not fit in one frame")
        return _transparent(msg, modbus)
    if isinstance(msg, (WriteResponse, ErrorResponse)):
        error = isinstance(msg, ErrorResponse)
        fn = (_check("function", msg.function, 7) | 0x80) if error else WRITE_FUNCTION
        a, b = (msg.base, msg.count) if error else (msg.register, msg.value)
        modbus = (bytes((_check("device", msg.device, 8), fn))
                  + _serial("inverter serial", msg.inverter_serial) + _u16("register", a)
                  + _u16("count/value", b))
        return _transparent(msg, modbus)
    if isinstance(msg, NullResponse):
        modbus = bytes((_check("device", msg.device, 8),)) + bytes(NULL_SIZE - PREFIX - 3)
        return _transparent(msg, modbus, b"\0\0" if msg.zero_crc else None)
    if isinstance(msg, LanBroadcast):
        raw = msg.text.encode("ascii", "replace")
        if len(msg.trailer) != 2:
            raise GivEncodeError("a LAN broadcast ends with exactly 2 bytes")
        if len(raw) + 20 > MAX_LENGTH or not raw or not set(raw) <= _LAN_BYTES:
            raise GivEncodeError(f"LAN broadcast text {msg.text!r} is not ip,netmask,gateway")
        return _transparent(msg, raw, bytes(msg.trailer))
    raise GivEncodeError(f"cannot encode {type(msg).__name__}")


# --- decoding --------------------------------------------------------------------------------------

def _text(raw: bytes) -> str:
    return raw.decode("latin-1").rstrip("\0")


def check_header(frame: bytes) -> int:
    """Total frame size from its first 8 bytes, or GivHeaderError (the stream's sanity check)."""
    if len(frame) < HEADER:
        raise GivLengthError(f"truncated header: {len(frame)} of {HEADER} bytes", frame)
    if frame[:4] != MARKER:
        raise GivHeaderError(f"no 59 59 00 01 marker (starts {frame[:4].hex(' ')})", frame)
    length = int.from_bytes(frame[4:6], "big")
    if length > MAX_LENGTH or length < 2:
        raise GivHeaderError(f"impossible length field {length}", frame)
    if frame[6] not in (0, 1):
        raise GivHeaderError(f"unit id {frame[6]} is neither 0 nor 1", frame)
    if frame[7] not in (FID_HEARTBEAT, FID_TRANSPARENT):
        raise GivHeaderError(f"function id {frame[7]} is neither 1 (heartbeat) nor 2", frame)
    return 6 + length


def _looks_lan(body: bytes) -> bool:
    """The text part of a LAN-config broadcast (its function byte is an ASCII digit or dot)."""
    return (len(body) >= 8 and body[1] not in (0, 3, 4, 6, 0x16) and b"," in body
            and body.rstrip(b"\r\n") != body and set(body) <= _LAN_BYTES)


def decode(frame: bytes, direction: str, *, check_crc: bool = True):
    """Exactly one frame -> one message, or a GivFrameError subclass carrying the frame.

    `direction` is "to_dongle" (requests, heartbeat replies) or "to_client" (responses,
    heartbeats, unsolicited frames). `check_crc=False` is for the simulator of a lenient hybrid,
    whose firmware never checked request CRCs (§2.7)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
    frame = bytes(frame)
    size = check_header(frame)
    if len(frame) != size:
        raise GivLengthError(f"{len(frame)} bytes but the length field says {size}", frame)
    uid, fid = frame[6], frame[7]
    if fid == FID_HEARTBEAT:
        if size != 19:
            raise GivLengthError(f"heartbeat of {size} bytes (must be 19)", frame)
        return Heartbeat(_text(frame[8:18]), frame[18], uid)
    if size < PREFIX + 4:
        raise GivLengthError(f"transparent frame of {size} bytes is too short", frame)
    adapter = _text(frame[8:18])
    padding = int.from_bytes(frame[18:26], "big")
    body = frame[PREFIX:]
    if direction == "to_client" and _looks_lan(body[:-2]):
        return LanBroadcast(body[:-2].decode("ascii"), adapter, body[-2:], padding, uid)
    crc_ok = int.from_bytes(frame[-2:], "little") == crc16_modbus(body[:-2])
    device, fn = body[0], body[1]
    if direction == "to_client" and fn == 0 and not any(body[1:]):
        crc_ok = True           # the null frames of the captures carry CRC 00 00 (§2.5)
    if not crc_ok and check_crc:
        raise GivCrcError(f"CRC {frame[-2:].hex()} does not verify (computed "
                          f"{crc16_modbus(body[:-2]).to_bytes(2, 'little').hex()})", frame)
    if direction == "to_dongle":
        return _decode_request(frame, uid, adapter, device, fn)
    return _decode_response(frame, uid, adapter, padding, device, fn)


def _decode_request(frame: bytes, uid: int, adapter: str, device: int, fn: int):
    if len(frame) != 34:
        raise GivLengthError(f"request of {len(frame)} bytes (must be 34)", frame)
    a = int.from_bytes(frame[28:30], "big")
    b = int.from_bytes(frame[30:32], "big")
    if fn in READ_FUNCTIONS:
        return ReadRequest(device, fn, a, b, adapter, uid)
    if fn == WRITE_FUNCTION:
        return WriteRequest(device, a, b, adapter, uid)
    raise GivUnknownFrame(f"request with unknown function 0x{fn:02x}", frame)


def _decode_response(frame: bytes, uid: int, adapter: str, padding: int, device: int, fn: int):
    if fn == 0:
        if len(frame) != NULL_SIZE or any(frame[PREFIX + 1:-2]):
            raise GivUnknownFrame("function 0 frame that is not an all-zero null frame", frame)
        return NullResponse(adapter, device, padding, uid, frame[-2:] == b"\0\0")
    if len(frame) < 44:
        raise GivLengthError(f"response of {len(frame)} bytes (at least 44)", frame)
    serial = _text(frame[28:38])
    a = int.from_bytes(frame[38:40], "big")
    b = int.from_bytes(frame[40:42], "big")
    if fn & 0x80:
        if len(frame) != 44:
            raise GivLengthError(f"error frame of {len(frame)} bytes (must be 44)", frame)
        return ErrorResponse(device, fn & 0x7F, serial, a, b, adapter, padding, uid)
    if fn == WRITE_FUNCTION:
        if len(frame) != 44:
            raise GivLengthError(f"write response of {len(frame)} bytes (must be 44)", frame)
        return WriteResponse(device, serial, a, b, adapter, padding, uid)
    if fn in READ_FUNCTIONS:
        if len(frame) != 44 + 2 * b:
            raise GivLengthError(f"read response for {b} registers is {len(frame)} bytes "
                                 f"(must be {44 + 2 * b})", frame)
        values = struct.unpack(f">{b}H", frame[42:-2])
        return ReadResponse(device, fn, serial, a, b, values, adapter, padding, uid)
    raise GivUnknownFrame(f"response with unknown function 0x{fn:02x}", frame)


def describe(msg) -> str:
    """One line for a traffic log or a test failure."""
    if isinstance(msg, ReadRequest):
        return f"read FC{msg.function:02x} {msg.base}+{msg.count} @0x{msg.device:02x}"
    if isinstance(msg, WriteRequest):
        return f"write HR{msg.register} = {msg.value} @0x{msg.device:02x}"
    if isinstance(msg, ReadResponse):
        return f"reply FC{msg.function:02x} {msg.base}+{msg.count} @0x{msg.device:02x}"
    if isinstance(msg, WriteResponse):
        return f"echo HR{msg.register} = {msg.value} @0x{msg.device:02x}"
    if isinstance(msg, ErrorResponse):
        return f"error FC{msg.function:02x} {msg.base}/{msg.count} @0x{msg.device:02x}"
    if isinstance(msg, Heartbeat):
        return f"heartbeat {msg.adapter_serial} type {msg.adapter_type}"
    if isinstance(msg, NullResponse):
        return f"null frame @0x{msg.device:02x}"
    if isinstance(msg, LanBroadcast):
        return f"LAN broadcast {msg.text.strip()}"
    if isinstance(msg, GivFrameError):
        return str(msg)
    return type(msg).__name__
