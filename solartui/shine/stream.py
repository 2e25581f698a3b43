"""Cut a TCP byte stream into Shine frames.

One read may hold several frames and one frame may span several reads, so bytes are buffered per
connection and cut by the header's length field. Nothing here raises; the connection survives
all of it and the caller decides whether too many rejections mean hanging up.

Resync never hides a good frame: candidate headers are found with one C-speed regex search (a
known protocol id, a possible length and a known type), never byte by byte in Python, so garbage
stays cheap. A frame whose CRC fails is dropped only up to the next candidate header inside it,
so a truncated record followed by a complete one keeps the complete one (and the command reply
behind it). A header still waiting for bytes is given up as soon as a complete CRC-valid frame
starts inside its span. Protocols 00/02 carry no CRC, so once a connection has sent a
CRC-checked (05/06) frame their headers count as garbage: otherwise a chance `00 02` in a bad
span would be taken as a frame and could swallow the good one behind it. Garbage runs and frames
still incomplete when the connection ends are counted too.

Garbage is bounded, not only cheap: `waste` counts the bytes skipped and the bytes CRC-checked in
vain since the last valid frame (or since the connection began). Past `budget` (None: no limit)
the stream stops cutting at once, even in the middle of a read — a crafted run of plausible
headers costs one CRC per candidate, so without this bound a 64 KiB read could hold the event
loop for over a second — drops what it holds and sets `exhausted`; the server then hangs up. A
real datalogger never comes near it: its frames are valid and at most ~4 KiB each.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from solartui.errors import FrameError
from solartui.shine.frame import (
    HEADER, KNOWN_TYPES, MASKED_PROTOCOLS, MAX_LENGTH, Frame, decode_frame, frame_size,
)

_TYPES = b"".join(re.escape(bytes((t,))) for t in sorted(KNOWN_TYPES))
# from the protocol id's high byte (offset 2): protocol, length (<= 0x10FF), unit, type
_ANY = re.compile(rb"\x00[\x00\x02\x05\x06][\x00-\x10].[\x00-\xff][" + _TYPES + rb"]", re.S)
_WAIT = object()                # a checked frame may be arriving inside an unchecked one
_CHECKED = re.compile(rb"\x00[\x05\x06][\x00-\x10].[\x00-\xff][" + _TYPES + rb"]", re.S)


@dataclass(frozen=True)
class Rejection:
    reason: str
    data: bytes                  # the first bytes only (what a log line shows), not all of them

    def __str__(self) -> str:
        shown = self.data[:48].hex(" ")
        more = " …" if len(self.data) > 48 else ""
        return f"{self.reason}: {shown}{more}"


class FrameStream:
    def __init__(self, max_length: int = MAX_LENGTH, keep: int = 50,
                 budget: int | None = None):
        self.max_length = max_length
        self.budget = budget            # garbage bytes allowed since the last valid frame
        self.waste = 0                  # bytes skipped or CRC-checked in vain since then
        self.wasted = 0                 # all of them, ever
        self._buf = bytearray()
        self.frames = 0
        self.rejected = 0
        self.crc_failures = 0
        self.checked = False            # a CRC-checked frame came: 00/02 headers are garbage
        self._resync = False            # bytes were skipped since the last frame
        self.rejections: deque[Rejection] = deque(maxlen=keep)

    def _reject(self, reason: str, data) -> None:
        self.rejected += 1
        self._spend(len(data))
        self.rejections.append(Rejection(reason, bytes(data[:64])))

    def _spend(self, n: int) -> None:
        self.waste += n
        self.wasted += n

    @property
    def exhausted(self) -> bool:
        """More garbage came than the budget allows: nothing more is cut; hang up."""
        return self.budget is not None and self.waste > self.budget

    def _garbage(self, data) -> None:
        if data:
            self._reject(f"{len(data)} bytes that do not start a frame", data)

    def _candidate(self, start: int, end: int | None = None) -> tuple[int, int] | None:
        """(offset, size) of the first plausible header at or after `start`, or None.

        `end` bounds where a header may start; a header cut off by the buffer's end is not a
        candidate yet (the caller keeps those bytes)."""
        buf = self._buf
        pattern = _CHECKED if self.checked else _ANY
        stop = len(buf) if end is None else min(len(buf), end + HEADER - 1)
        pos = start + 2
        while True:
            m = pattern.search(buf, pos, stop)
            if m is None:
                return None
            j = m.start() - 2
            pos = m.start() + 1
            length = int.from_bytes(buf[j + 4:j + 6], "big")
            if 2 <= length <= min(self.max_length, MAX_LENGTH):
                return j, frame_size(buf[j:j + 6])

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes; return every complete, valid frame now available, oldest first."""
        buf = self._buf
        buf += data
        out: list[Frame] = []
        pos = 0                          # everything before pos is consumed
        garbage_from = None              # start of the current run of skipped bytes
        if self.exhausted:
            buf.clear()
            return out
        while True:
            if self.exhausted:           # mid-read: the rest is not looked at
                if garbage_from is None:
                    garbage_from = pos
                pos = len(buf)
                break
            found = self._candidate(pos)
            if found is None:
                keep = max(pos, len(buf) - (HEADER - 1))   # a header may be arriving
                if keep > pos and garbage_from is None:
                    garbage_from = pos
                self._resync = self._resync or keep > pos
                pos = keep
                break
            i, size = found
            if i > pos and garbage_from is None:
                garbage_from = pos
            self._resync = self._resync or i > pos
            pos = i
            if len(buf) - i < size:
                later = self._later_frame(i)
                if later is None:
                    break                # wait for the rest of this frame
                # a header that promised more than came: a complete, CRC-checked frame starts
                # inside its span, so it was a truncated frame or garbage that happened to parse
                if garbage_from is None:
                    garbage_from = i
                pos = later
                self._resync = True
                continue
            if garbage_from is not None:
                self._garbage(buf[garbage_from:i])
                garbage_from = None
            wire = bytes(buf[i:i + size])
            try:
                frame = decode_frame(wire)
            except FrameError as exc:
                # a CRC failure: drop it only up to the next header inside it, which may be the
                # good frame behind a truncated one
                self.crc_failures += 1
                self._spend(size)        # the CRC was computed over all of it
                inner = self._candidate(i + 1, i + size)
                cut = (inner[0] if inner else self._cut_off_header(i + 1, i + size)) - i
                self._reject(str(exc) if cut == size else f"truncated frame ({exc})", wire[:cut])
                pos = i + cut
                self._resync = True
                continue
            if self._resync and frame.protocol not in MASKED_PROTOCOLS:
                inner = self._checked_inside(i, size)
                if self.exhausted:
                    continue             # not trusted: the budget ran out looking inside it
                if inner is _WAIT:
                    break
                if inner is not None:
                    self._reject(f"truncated frame (a CRC-checked frame starts {inner - i} bytes "
                                 f"into this unchecked one)", wire[:inner - i])
                    pos = inner
                    continue
            self.frames += 1
            self.waste = 0
            self.checked = self.checked or frame.protocol in MASKED_PROTOCOLS
            self._resync = False
            out.append(frame)
            pos = i + size
        if garbage_from is not None:
            self._garbage(buf[garbage_from:pos])
        del buf[:pos]
        return out

    def _cut_off_header(self, lo: int, hi: int) -> int:
        """First offset in [lo, hi) whose bytes, cut off by the buffer's end, may still begin a
        header (the rest has not come yet); hi if none."""
        buf = self._buf
        protocols = MASKED_PROTOCOLS if self.checked else (0, 2, 5, 6)
        for j in range(max(lo, len(buf) - HEADER + 1), hi):
            tail = buf[j:j + HEADER]
            if ((len(tail) < 3 or tail[2] == 0) and (len(tail) < 4 or tail[3] in protocols)
                    and (len(tail) < 5 or tail[4] <= 0x10)):
                return j
        return hi

    def _checked_inside(self, start: int, size: int):
        """For an unchecked (00/02) frame found while resyncing: the offset of a complete,
        CRC-valid frame starting inside its span, _WAIT while one may still be arriving, or None.
        In sequence (no bytes skipped) an unchecked frame is trusted as it is."""
        buf = self._buf
        j = start + 1
        while True:
            if self.exhausted:
                return None
            m = _CHECKED.search(buf, j + 2, min(len(buf), start + size + HEADER - 1))
            if m is None:
                return None
            j = m.start() - 2
            length = int.from_bytes(buf[j + 4:j + 6], "big")
            if 2 <= length <= MAX_LENGTH:
                end = j + frame_size(buf[j:j + 6])
                if end > len(buf):
                    return _WAIT
                try:
                    decode_frame(bytes(buf[j:end]))
                    return j
                except FrameError:
                    self._spend(end - j)
            j += 1

    def _later_frame(self, start: int) -> int | None:
        """Offset of a complete frame with a valid CRC after `start` (inside a pending span)."""
        buf = self._buf
        j = start + 1
        while True:
            if self.exhausted:
                return None
            found = self._candidate(j)
            if found is None:
                return None
            j, size = found
            if j + size <= len(buf) and buf[j + 3] in MASKED_PROTOCOLS:
                try:
                    decode_frame(bytes(buf[j:j + size]))
                    return j
                except FrameError:
                    self._spend(size)
            j += 1

    def finish(self) -> None:
        """The connection ended: whatever is left was a truncated frame or garbage."""
        if self._buf:
            self._reject(f"truncated frame: {len(self._buf)} bytes when the connection ended",
                         self._buf)
            self._buf.clear()

    @property
    def buffered(self) -> int:
        return len(self._buf)
