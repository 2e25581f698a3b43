"""Shine frames: the 8-byte header, the XOR mask and the CRC (protocols 02, 05, 06).

A frame is `tid u16 | protocol u16 | length u16 | unit u8 | type u8 | payload | crc u16` where
`length` counts unit + type + payload, the payload is XOR-masked with "Growatt" in protocols 05/06
and the CRC-16/MODBUS over every preceding wire byte is appended high byte first (05/06 only).
`Frame` always holds the plain payload; masking happens only in encode/decode.
"""

from __future__ import annotations

from dataclasses import dataclass

from solartui.errors import FrameError
from solartui.links.crc import crc16_modbus

MASK_KEY = b"Growatt"
MASKED_PROTOCOLS = (5, 6)
PROTOCOLS = (0, 2, 5, 6)          # grottserver 3.x treats 0 like 2
HEADER = 8
MAX_LENGTH = 4096                 # known frames are a few hundred bytes

PING, ANNOUNCE, DATA, BUFFERED = 0x16, 0x03, 0x04, 0x50
READ_LOGGER, WRITE_LOGGER = 0x19, 0x18
READ_HOLDING, WRITE_HOLDING, WRITE_MULTIPLE = 0x05, 0x06, 0x10
METER_LOG, METER_DATA, PARAM_DUMP = 0x1B, 0x20, 0x29
KNOWN_TYPES = frozenset({PING, ANNOUNCE, DATA, BUFFERED, READ_LOGGER, WRITE_LOGGER, READ_HOLDING,
                         WRITE_HOLDING, WRITE_MULTIPLE, METER_LOG, METER_DATA, PARAM_DUMP})
TYPE_NAMES = {PING: "ping", ANNOUNCE: "announce", DATA: "data", BUFFERED: "buffered data",
              READ_LOGGER: "read logger", WRITE_LOGGER: "write logger",
              READ_HOLDING: "read holding", WRITE_HOLDING: "write holding",
              WRITE_MULTIPLE: "write multiple", METER_LOG: "meter log", METER_DATA: "meter data",
              PARAM_DUMP: "parameter dump"}


def mask(data: bytes) -> bytes:
    """XOR with "Growatt" repeated; the same call masks and unmasks."""
    n = len(data)
    if not n:
        return b""
    key = (MASK_KEY * (n // 7 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def has_crc(protocol: int) -> bool:
    return protocol in MASKED_PROTOCOLS


def frame_size(header: bytes) -> int:
    """Total wire size of the frame that starts with these (at least 6) bytes."""
    if len(header) < 6:
        raise FrameError(f"truncated header: {len(header)} of 6 bytes")
    protocol = int.from_bytes(header[2:4], "big")
    length = int.from_bytes(header[4:6], "big")
    if protocol not in PROTOCOLS:
        raise FrameError(f"unknown protocol id {protocol:04x}")
    if length < 2:
        raise FrameError(f"bad length {length} (must count unit and type)")
    if length > MAX_LENGTH:
        raise FrameError(f"oversized frame: length {length} > {MAX_LENGTH}")
    return 6 + length + (2 if has_crc(protocol) else 0)


@dataclass(frozen=True)
class Frame:
    tid: int
    protocol: int
    unit: int
    type: int
    payload: bytes = b""          # plain (unmasked)

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, f"type {self.type:02x}")

    def __str__(self) -> str:
        return (f"tid {self.tid:04x} p{self.protocol:02d} unit {self.unit:02x} "
                f"{self.type_name} ({len(self.payload)} bytes)")


def encode_frame(frame: Frame) -> bytes:
    if frame.protocol not in PROTOCOLS:
        raise FrameError(f"unknown protocol id {frame.protocol:04x}")
    length = 2 + len(frame.payload)
    if length > MAX_LENGTH:
        raise FrameError(f"oversized frame: length {length} > {MAX_LENGTH}")
    payload = mask(frame.payload) if has_crc(frame.protocol) else frame.payload
    wire = (frame.tid.to_bytes(2, "big") + frame.protocol.to_bytes(2, "big")
            + length.to_bytes(2, "big") + bytes((frame.unit, frame.type)) + payload)
    if has_crc(frame.protocol):
        wire += crc16_modbus(wire).to_bytes(2, "big")
    return wire


def decode_frame(wire: bytes) -> Frame:
    """Exactly one frame; anything else raises FrameError naming what is wrong."""
    size = frame_size(wire[:6])
    if len(wire) < size:
        raise FrameError(f"truncated frame: {len(wire)} of {size} bytes")
    if len(wire) > size:
        raise FrameError(f"bad length: {len(wire)} bytes but the header says {size}")
    protocol = int.from_bytes(wire[2:4], "big")
    if has_crc(protocol):
        got = int.from_bytes(wire[-2:], "big")
        want = crc16_modbus(wire[:-2])
        if got != want:
            raise FrameError(f"wrong CRC {got:04x} (computed {want:04x})")
        payload = mask(wire[HEADER:-2])
    else:
        payload = bytes(wire[HEADER:])
    return Frame(int.from_bytes(wire[0:2], "big"), protocol, wire[6], wire[7], payload)
