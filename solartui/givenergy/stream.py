"""Cut the dongle's TCP byte stream into GivEnergy messages (protocols/givenergy.md §2.1).

One socket read may hold several frames, part of one, or stray bytes (a lone 00 in one capture,
a frame split across reads that then fails CRC). The cutter scans for the marker 59 59 00 01,
sanity-checks the header (length <= 300, uid 0/1, fid 1/2), waits for the whole frame and decodes
it; a header that fails the check is skipped one byte at a time. Nothing here raises: garbage and
frames that do not decode are counted in `rejected` (with the reason and bytes in `rejections`)
and the stream carries on. A frame that fails to decode while another marker sits inside its span
is cut at that marker, so one truncated frame costs only itself; likewise a header still waiting
for bytes is given up when a complete, valid frame already starts inside its span (a heartbeat
must not sit behind a truncated frame until its deadline passes). Heartbeats, LAN broadcasts and
null frames with CRC 00 00 carry no CRC, so a truncated one decodes "fine" with the first bytes
of the next frame: when a marker sits inside such a frame's span and a valid frame starts there,
that frame wins and the short one is rejected as truncated (the stream waits for it while its
whole header is here and it is still arriving; an idle real heartbeat is never held). Markers
are found with bytes.find, so garbage costs C speed, not a Python loop per byte.

Memory stays bounded: without a marker only the last 3 bytes are kept, and a pending frame is at
most 306 bytes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from solartui.givenergy.errors import GivCrcError, GivFrameError
from solartui.givenergy.frame import (
    DIRECTIONS, HEADER, MARKER, Heartbeat, LanBroadcast, NullResponse, check_header, decode,
    describe,
)

MAX_BUFFER = 4096               # hard cap; the logic above never gets near it
_WAIT = object()                # a frame may be arriving inside an unchecked frame's span
_PRINTABLE = frozenset(range(0x20, 0x7F))


def _plausible_heartbeat(wire) -> bool:
    """Could these 19 bytes be a real heartbeat: a printable serial padded only with NULs, and
    adapter type 1 or 2 (every capture has 1, a test vector 2)?"""
    serial = bytes(wire[8:18]).rstrip(b"\0")
    return wire[18] in (1, 2) and set(serial) <= _PRINTABLE


@dataclass(frozen=True)
class Rejection:
    reason: str
    data: bytes

    def __str__(self) -> str:
        shown = self.data[:48].hex(" ")
        return f"{self.reason}: {shown}{' …' if len(self.data) > 48 else ''}"


class FrameStream:
    """Bytes in, messages out, for one direction of one connection."""

    def __init__(self, direction: str, *, keep: int = 50, check_crc: bool = True):
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
        self.direction = direction
        self.check_crc = check_crc
        self._buf = bytearray()
        self.frames = 0
        self.rejected = 0
        self.crc_failures = 0           # of the rejections, frames whose CRC did not verify
        self.rejections: deque[Rejection] = deque(maxlen=keep)

    def _reject(self, reason: str, data: bytes) -> None:
        self.rejected += 1
        self.rejections.append(Rejection(reason, bytes(data)))

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list:
        """Add bytes; return every complete, valid message now available, oldest first."""
        buf = self._buf
        buf += data
        out: list = []
        pos = 0
        garbage_from = None             # start of a run of skipped bytes, reported as one
        n = len(buf)
        while True:
            i = buf.find(MARKER, pos)
            if i < 0:
                # keep a possible partial marker at the end; the rest is garbage
                keep = max(pos, n - 3)
                while keep < n and not MARKER.startswith(bytes(buf[keep:])):
                    keep += 1
                if garbage_from is None and keep > pos:
                    garbage_from = pos
                pos = keep
                break
            if i > pos and garbage_from is None:
                garbage_from = pos
            pos = i
            if n - pos < HEADER:
                break
            try:
                size = check_header(buf[pos:pos + HEADER])
            except GivFrameError:
                if garbage_from is None:
                    garbage_from = pos
                pos += 1
                continue
            if n - pos < size:
                later = self._later_frame(pos, size)
                if later is None:
                    break
                if garbage_from is None:
                    garbage_from = pos
                pos = later
                continue
            if garbage_from is not None:
                self._garbage(buf[garbage_from:pos])
                garbage_from = None
            wire = bytes(buf[pos:pos + size])
            try:
                msg = decode(wire, self.direction, check_crc=self.check_crc)
                if not self._checked(msg):
                    inner = self._inner_frame(pos, size, msg)
                    if inner is _WAIT:
                        break
                    if inner is not None:
                        self._reject(f"truncated frame (a frame starts {inner - pos} bytes "
                                     f"into this {describe(msg)})", wire[:inner - pos])
                        pos = inner
                        continue
                out.append(msg)
            except GivFrameError as exc:
                self.crc_failures += isinstance(exc, GivCrcError)
                # a marker may overlap the span's end, or begin in its last bytes and not have
                # come yet: cut before it either way
                j = buf.find(MARKER, pos + 1, pos + size + 3)
                if j < 0:
                    j = next((n - k for k in (3, 2, 1) if pos < n - k < pos + size
                              and MARKER.startswith(bytes(buf[n - k:]))), -1)
                cut = j - pos if j > 0 else size
                if cut < size:          # a truncated frame ran into the next one
                    self._reject(f"truncated frame ({exc})", wire[:cut])
                    pos += cut
                else:
                    self._reject(str(exc), wire)
                    pos += size
                continue
            self.frames += 1
            pos += size
        if garbage_from is not None:
            self._garbage(buf[garbage_from:pos])
        del buf[:pos]
        if len(buf) > MAX_BUFFER:       # cannot happen with the rules above; a guard all the same
            self._reject(f"{len(buf)} bytes buffered without a frame", buf)
            buf.clear()
        return out

    def _garbage(self, data) -> None:
        if data:
            self._reject(f"{len(data)} bytes that do not start a frame", data)

    def _later_frame(self, start: int, size: int) -> int | None:
        """Offset of a complete, decodable frame inside the span a pending header claims."""
        buf = self._buf
        j = buf.find(MARKER, start + 1, start + size)
        while j >= 0:
            try:
                later = check_header(buf[j:j + HEADER]) if len(buf) - j >= HEADER else None
                if later is not None and j + later <= len(buf):
                    decode(bytes(buf[j:j + later]), self.direction, check_crc=self.check_crc)
                    return j
            except GivFrameError:
                pass
            j = buf.find(MARKER, j + 1, start + size)
        return None

    def _checked(self, msg) -> bool:
        """Whether a CRC vouched for this message (heartbeats, LAN broadcasts and the null
        frames with CRC 00 00 have none, so a truncated one can swallow the next frame)."""
        if not self.check_crc or isinstance(msg, (Heartbeat, LanBroadcast)):
            return False
        return not (isinstance(msg, NullResponse) and msg.zero_crc)

    def _inner_frame(self, start: int, size: int, msg):
        """For a frame no CRC vouched for: the offset of a complete, valid frame starting inside
        its span (it was truncated), _WAIT while one may still be arriving, or None.

        How long to wait depends on whether the frame could be real. A heartbeat with a text
        serial (NUL-padded) and type 1 or 2 may be real and end in "YY 00 01" by chance (a
        9-character serial ending YY): it waits only for a frame whose whole header is here
        and plausible, so an idle real heartbeat is never held from its answer. Anything else
        with a marker inside (a heartbeat whose serial holds 00 01, or type 00 or 59) waits
        for as long as a frame may be starting there."""
        buf = self._buf
        n, end = len(buf), start + size
        eager = isinstance(msg, Heartbeat) and not _plausible_heartbeat(buf[start:end])
        j = buf.find(MARKER, start + 1, end + 3)
        while j >= 0:
            if n - j < HEADER:
                return _WAIT if eager else None
            try:
                later = check_header(buf[j:j + HEADER])
                if j + later > n:
                    return _WAIT
                decode(bytes(buf[j:j + later]), self.direction, check_crc=self.check_crc)
                return j
            except GivFrameError:
                pass
            j = buf.find(MARKER, j + 1, end + 3)
        if eager and any(start < n - k < end and MARKER.startswith(bytes(buf[n - k:]))
                         for k in (3, 2, 1)):
            return _WAIT        # the span's last bytes may begin a marker still arriving
        return None

    def finish(self) -> list:
        """The connection ended: what is left began with a truncated frame or garbage, but a
        whole frame may still start inside it (a truncated frame's declared length swallowed
        it); those are returned, the rest is rejected."""
        out: list = []
        while self._buf:
            nxt = self._buf.find(MARKER, 1)
            cut = len(self._buf) if nxt < 0 else nxt
            self._reject(f"truncated frame: {cut} bytes when the connection ended",
                         bytes(self._buf[:cut]))
            del self._buf[:cut]
            if self._buf:
                out += self.feed(b"")
        return out
