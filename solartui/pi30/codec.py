"""PI30 (Voltronic/Axpert) framing: requests, responses, CRC-16/XMODEM with the reserved-byte
bump, HID chunking. No I/O here (`read_until_cr` only loops over a read function it is given).

Request:  <command ASCII> <CRC-hi> <CRC-lo> CR        CRC over the command bytes
Response: '(' <payload ASCII> <CRC-hi> <CRC-lo> CR    CRC over '(' + payload

After the CRC is computed, each of its two bytes that equals 0x28 '(', 0x0D CR, 0x0A LF or 0x00 is
incremented by one (the vendor's `cal_crc_half` plus the 0x00 rule of mpp-solar PR #450). A CRC byte
can therefore never be CR on the wire, and the first CR ends a frame. On receive, both the raw and
the bumped CRC are accepted, and a few vendor-document forms without any CRC ((NAK, (ACK, QT's 14
digits) are tolerated. See shared/protocols/voltronic-pi30.md sections 2 and 5.
"""

from __future__ import annotations

import binascii
import time
from dataclasses import dataclass
from typing import Callable

from solartui.pi30.errors import (
    Pi30BadCrc,
    Pi30CommandError,
    Pi30EmptyFrame,
    Pi30NoStart,
    Pi30NotSupported,
    Pi30OtherProtocol,
    Pi30TooLong,
    Pi30Truncated,
    _show,
)

CR = 0x0D
RESERVED = frozenset({0x28, 0x0D, 0x0A, 0x00})
HID_REPORT_SIZE = 8
ACK = "ACK"
NAK = "NAK"
# the longest reply in the notes is ~130 bytes (QPIGS of a MAX with its extra fields); a frame
# many times that is noise or hostile, and one numeric field of 4,300+ digits used to crash int()
MAX_REPLY = 1024


@dataclass(frozen=True)
class Pi30Timing:
    """Timeouts and pacing of a PI30 link (seconds); defaults from section 5 of the notes.

    `first_read_delay` is 0 here although mpp-solar waits 0.25 s after the last HID chunk: it polls
    non-blocking reads, while our transports wait on the device with a deadline.
    """

    timeout: float = 2.0            # whole command: last byte sent -> CR received
    min_period: float = 0.5         # between the end of one command and the start of the next
    chunk_gap: float = 0.05         # between 8-byte HID chunks
    first_read_delay: float = 0.0   # after the last chunk, before the first read
    read_timeout: float = 1.0       # one interrupt-IN read (pyusb)
    drain_timeout: float = 0.05     # one read while draining stale input
    write_timeout: float = 5.0      # one SET_REPORT control transfer (pyusb)

    @staticmethod
    def wire_time(nbytes: int, baud: int = 2400) -> float:
        """Seconds `nbytes` take on an 8N1 line (10 bits a byte)."""
        return nbytes * 10.0 / baud


DEFAULT_TIMING = Pi30Timing()


# --- CRC -----------------------------------------------------------------------------------------

def crc_xmodem(data: bytes) -> int:
    """CRC-16/XMODEM (poly 0x1021, init 0, no reflection, no xor-out); `"123456789"` -> 0x31C3."""
    return binascii.crc_hqx(bytes(data), 0)


def bump_crc(crc: int) -> int:
    """Apply the reserved-byte rule to each of the two CRC bytes independently."""
    hi, lo = (crc >> 8) & 0xFF, crc & 0xFF
    if hi in RESERVED:
        hi += 1
    if lo in RESERVED:
        lo += 1
    return (hi << 8) | lo


def crc_bytes(data: bytes, bump: bool = True) -> bytes:
    """The two CRC bytes as sent on the wire (high byte first), bumped unless told otherwise."""
    crc = crc_xmodem(data)
    return (bump_crc(crc) if bump else crc).to_bytes(2, "big")


def crc_status(data: bytes, wire: bytes) -> str | None:
    """'ok' when `wire` is the raw CRC of `data`, 'bumped' when it is the bumped one (and differs
    from the raw), None when it is neither."""
    if len(wire) != 2:
        return None
    got = int.from_bytes(wire, "big")
    raw = crc_xmodem(data)
    if got == raw:
        return "ok"
    if got == bump_crc(raw):
        return "bumped"
    return None


# --- requests ------------------------------------------------------------------------------------

def _command_bytes(command: str) -> bytes:
    if not isinstance(command, str) or not command:
        raise Pi30CommandError("a PI30 command must be a non-empty string")
    try:
        data = command.encode("ascii")
    except UnicodeEncodeError:
        raise Pi30CommandError(f"PI30 command {command!r} is not ASCII") from None
    if any(b < 0x20 or b > 0x7E for b in data):
        raise Pi30CommandError(f"PI30 command {command!r} contains control characters")
    return data


def encode_request(command: str) -> bytes:
    """`command` + its two CRC bytes (bumped) + CR: `encode_request("QPI") == b"QPI\\xbe\\xac\\r"`."""
    data = _command_bytes(command)
    return data + crc_bytes(data) + b"\r"


def decode_request(frame: bytes) -> str:
    """The command in a request frame (as a simulated inverter receives it).

    The frame must end at its first CR and carry a raw or bumped CRC; raises Pi30Truncated,
    Pi30EmptyFrame or Pi30BadCrc otherwise."""
    frame = bytes(frame)
    end = frame.find(b"\r")
    if end < 0:
        raise Pi30Truncated(f"request without CR: {_show(frame)}", frame)
    body = frame[:end]
    if not body:
        raise Pi30EmptyFrame("empty request", frame)
    if len(body) < 3:
        raise Pi30Truncated(f"request too short to carry a CRC: {_show(body)}", frame)
    command, wire = body[:-2], body[-2:]
    if crc_status(command, wire) is None:
        raise Pi30BadCrc(f"request CRC {wire.hex()} does not match {_show(command)} "
                         f"(expected {crc_bytes(command).hex()})", frame)
    return command.decode("latin-1")


def hid_chunks(frame: bytes, size: int = HID_REPORT_SIZE) -> list[bytes]:
    """The frame cut into `size`-byte HID reports, the last one zero-padded to `size`."""
    frame = bytes(frame)
    out = [frame[i:i + size] for i in range(0, len(frame), size)] or [b""]
    out[-1] = out[-1].ljust(size, b"\x00")
    return out


# --- responses -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Response:
    """A parsed PI30 reply.

    payload: the text between '(' and the CRC (no '(', CRC or CR), exactly as sent
    crc:     "ok" (plain XMODEM), "bumped" (reserved-byte rule applied), "none" (CRC-less form)
    fields:  payload split on whitespace, empty tokens dropped
    """

    payload: str
    crc: str
    fields: tuple[str, ...]
    is_ack: bool
    is_nak: bool
    frame: bytes = b""          # the frame as received, '(' to CR inclusive


def encode_response(payload: str, *, crc: bool = True, bump: bool = True) -> bytes:
    """A device's reply frame: '(' + payload + CRC (optionally raw, or none) + CR."""
    body = b"(" + payload.encode("latin-1")
    return body + (crc_bytes(body, bump) if crc else b"") + b"\r"


def cut_at_cr(data: bytes) -> bytes | None:
    """`data` up to and including its first CR, or None while no CR has arrived."""
    end = bytes(data).find(b"\r")
    return None if end < 0 else bytes(data[:end + 1])


def read_until_cr(read: Callable[[float], bytes | None], timeout: float, *,
                  clock: Callable[[], float] = time.monotonic) -> bytes:
    """Call `read(remaining_seconds)` until a CR has arrived or `timeout` has passed; return
    everything read (the caller cuts at the first CR). `read` may return b"" or None when
    nothing came within its own wait; it must block at most about `remaining_seconds`."""
    deadline = clock() + timeout
    buf = bytearray()
    while True:
        remaining = deadline - clock()
        if remaining <= 0:
            return bytes(buf)
        chunk = read(remaining)
        if chunk:
            buf += chunk
            if CR in chunk:
                return bytes(buf)


# frames that vendor documents print without a CRC: accepted only in these shapes
def _crcless_ok(payload: bytes, command: str | None) -> bool:
    if payload in (b"NAK", b"ACK"):
        return True
    if len(payload) == 14 and payload.isdigit():
        return command is None or command == "QT"
    return False


def _is_echo(frame: bytes, command: str) -> bool:
    try:
        sent = _command_bytes(command)
    except Pi30CommandError:
        return False
    body = frame[:-1]
    return body == sent or (len(body) == len(sent) + 2 and body.startswith(sent))


def parse_response(raw: bytes, command: str | None = None) -> Response:
    """Parse the bytes a device sent in reply (to `command`, when given).

    Everything after the first CR is dropped (LF, HID padding, junk). Leading LF/NUL bytes (the
    tail of an earlier reply) are skipped. Returns a Response, with is_nak/is_ack set for (NAK /
    (ACK. Raises Pi30NotSupported when the reply is `command` echoed back, Pi30OtherProtocol for a
    PI17/PI18 reply, and a Pi30Garbled subclass (Pi30EmptyFrame, Pi30Truncated, Pi30NoStart,
    Pi30BadCrc) for anything malformed; nothing else.
    """
    raw = bytes(raw)
    if not raw:
        raise Pi30EmptyFrame("empty reply (no bytes)", raw)
    end = raw.find(b"\r")
    if end < 0:
        raise Pi30Truncated(f"reply without CR terminator ({len(raw)} bytes): {_show(raw)}", raw)
    frame = raw[:end + 1]
    body = frame[:-1].lstrip(b"\n\x00")
    if not body:
        raise Pi30EmptyFrame("empty reply (a bare CR)", frame)
    if len(body) > MAX_REPLY:
        raise Pi30TooLong(f"reply of {len(body)} bytes is longer than any PI30 reply "
                          f"({MAX_REPLY} at most): {_show(body)}", frame)
    if command is not None and _is_echo(body + b"\r", command):
        raise Pi30NotSupported(f"{command}: the device echoed the request (command not "
                               "supported)", frame, command=command)
    if body[:1] == b"^":
        accepted = {b"^1": True, b"^0": False}.get(body[:2])
        what = {True: "accepted", False: "refused"}.get(accepted, "answered")
        raise Pi30OtherProtocol(f"a PI17/PI18 device {what} ({_show(body)}): not PI30 framing",
                                frame, accepted=accepted)
    if body[:1] != b"(":
        raise Pi30NoStart(f"reply does not start with '(': {_show(frame)}", frame)
    if len(body) == 1:
        raise Pi30EmptyFrame("empty reply: '(' and nothing else", frame)

    status: str | None = None
    payload = b""
    if len(body) >= 3:                  # '(' + CRC is an empty payload
        status = crc_status(body[:-2], body[-2:])
        payload = body[1:-2]
    if status is None:
        candidate = body[1:]
        if _crcless_ok(candidate, command):
            status, payload = "none", candidate
        elif len(body) < 3:
            raise Pi30Truncated(f"reply too short to carry a CRC: {_show(frame)}", frame)
        else:
            want = {crc_bytes(body[:-2], False).hex(), crc_bytes(body[:-2]).hex()}
            raise Pi30BadCrc(f"reply CRC {body[-2:].hex()} does not match (expected "
                             f"{' or '.join(sorted(want))}): {_show(frame)}", frame)
    text = payload.decode("latin-1")
    word = text.strip()
    return Response(payload=text, crc=status, fields=tuple(text.split()),
                    is_ack=word == ACK, is_nak=word == NAK, frame=frame)
