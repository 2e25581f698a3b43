"""Cut a Solarman logger's TCP byte stream into V5 frames, resyncing on garbage (§3, §5).

One socket read may hold a response with a heartbeat after it, half a frame, or text (some Deye
loggers print `AT+...` on 8899). Frames are found by their A5 start byte and a plausible header
(known control code, payload length <= MAX_PAYLOAD), cut at 13 + L bytes and kept only when the
end byte is 15 and the checksum verifies; anything else costs one byte and the search goes on.
A header still waiting for its bytes is given up as soon as a complete valid frame starts inside
the span it claims (garbage that looks like a long header must not hold a real reply back).
Nothing here raises: rejections are counted, with the reason and the bytes for the traffic log.
Memory stays bounded: at most one frame (13 + MAX_PAYLOAD bytes) is ever buffered.
"""

from __future__ import annotations

from collections import deque

from solartui.links.solarman_errors import SolarmanChecksumError, SolarmanFrameError
from solartui.links.solarman_frame import (
    OVERHEAD, MAX_PAYLOAD, START, V5Frame, check_header, decode,
)

_START = bytes([START])


class V5Stream:
    """Bytes in, V5Frames out, for one connection."""

    def __init__(self, *, keep: int = 50):
        self._buf = bytearray()
        self.frames = 0
        self.rejected = 0               # runs of garbage and frames that did not verify
        self.checksum_failures = 0
        self.rejections: deque[tuple[str, bytes]] = deque(maxlen=keep)

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def _reject(self, reason: str, data) -> None:
        self.rejected += 1
        self.rejections.append((reason, bytes(data[:64])))

    def _frame_at(self, pos: int) -> int | None:
        """The size of a complete, valid frame at `pos`, else None."""
        buf = self._buf
        try:
            size = check_header(bytes(buf[pos:pos + 5]))
        except SolarmanFrameError:
            return None
        if len(buf) - pos < size:
            return None
        try:
            decode(bytes(buf[pos:pos + size]))
        except SolarmanFrameError:
            return None
        return size

    def _plausible(self, pos: int) -> bool:
        """A header that passes check_header, or the start of one not all here yet."""
        head = bytes(self._buf[pos:pos + 5])
        if len(head) < 5:
            return True
        try:
            check_header(head)
        except SolarmanFrameError:
            return False
        return True

    def feed(self, data: bytes) -> list[V5Frame]:
        buf = self._buf
        buf += data
        out: list[V5Frame] = []
        pos = 0
        garbage = None                  # start of a run of skipped bytes, reported as one
        while True:
            i = buf.find(_START, pos)
            if i < 0:
                if garbage is None and pos < len(buf):
                    garbage = pos
                pos = len(buf)
                break
            if i > pos and garbage is None:
                garbage = pos
            pos = i
            if len(buf) - pos < 5:
                break                   # a header may be arriving
            try:
                size = check_header(bytes(buf[pos:pos + 5]))
            except SolarmanFrameError:
                garbage = pos if garbage is None else garbage
                pos += 1
                continue
            if len(buf) - pos < size:
                later = self._later(pos, size)
                if later is None:
                    break               # wait for the rest
                garbage = pos if garbage is None else garbage
                pos = later
                continue
            try:
                frame = decode(bytes(buf[pos:pos + size]))
            except SolarmanFrameError as exc:
                self.checksum_failures += isinstance(exc, SolarmanChecksumError)
                self._flush_garbage(garbage, pos)
                garbage = None
                self._reject(str(exc), buf[pos:pos + size])
                # a real frame may start inside this false one; else the whole span goes
                later = self._later(pos, size, complete=False)
                pos = pos + size if later is None else later
                continue
            self._flush_garbage(garbage, pos)
            garbage = None
            out.append(frame)
            self.frames += 1
            pos += size
        self._flush_garbage(garbage, pos)
        del buf[:pos]
        return out

    def _flush_garbage(self, start: int | None, end: int) -> None:
        if start is not None and end > start:
            self._reject(f"{end - start} bytes that do not start a frame", self._buf[start:end])

    def _later(self, start: int, size: int, complete: bool = True) -> int | None:
        """Offset of a complete, valid frame inside the span a pending header claims; with
        `complete` False, of any plausible header there (it may still be arriving: a truncated
        frame's span swallowed the start of the next one)."""
        j = self._buf.find(_START, start + 1, start + size)
        while j >= 0:
            if self._frame_at(j) is not None:
                return j
            if not complete and self._plausible(j):
                return j
            j = self._buf.find(_START, j + 1, start + size)
        return None

    def reset(self) -> None:
        """A new connection: what was left belonged to the old one."""
        if self._buf:
            self._reject(f"{len(self._buf)} bytes left when the connection ended", self._buf)
        self._buf.clear()


assert OVERHEAD + MAX_PAYLOAD < 1 << 16
