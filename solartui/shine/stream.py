"""Cut a TCP byte stream into Shine frames.

One read may hold several frames and one frame may span several reads, so bytes are buffered per
connection and cut by the header's length field. Nothing here raises: a frame with a wrong CRC is
dropped and counted; bytes that cannot start a frame (unknown protocol id, impossible or oversized
length) are skipped one at a time until a plausible header appears, and counted once per run; a
plausible header that waits for bytes while a complete CRC-valid frame already sits inside its
span is skipped the same way; a frame still incomplete when the connection ends is counted as
truncated. The connection survives
all of it; the caller decides whether too many rejections mean hanging up.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from solartui.errors import FrameError
from solartui.shine.frame import KNOWN_TYPES, MAX_LENGTH, Frame, decode_frame, frame_size


@dataclass(frozen=True)
class Rejection:
    reason: str
    data: bytes

    def __str__(self) -> str:
        shown = self.data[:48].hex(" ")
        more = " …" if len(self.data) > 48 else ""
        return f"{self.reason}: {shown}{more}"


class FrameStream:
    def __init__(self, max_length: int = MAX_LENGTH, keep: int = 50):
        self.max_length = max_length
        self._buf = bytearray()
        self._garbage = bytearray()
        self.frames = 0
        self.rejected = 0
        self.rejections: deque[Rejection] = deque(maxlen=keep)

    def _reject(self, reason: str, data: bytes) -> None:
        self.rejected += 1
        self.rejections.append(Rejection(reason, bytes(data)))

    def _flush_garbage(self) -> None:
        if self._garbage:
            self._reject(f"{len(self._garbage)} bytes that do not start a frame", self._garbage)
            self._garbage.clear()

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes; return every complete, valid frame now available."""
        self._buf += data
        out: list[Frame] = []
        buf = self._buf
        while len(buf) >= 6:
            try:
                size = frame_size(buf[:6])
                if size - 8 > self.max_length:
                    raise FrameError("oversized")
            except FrameError:
                self._garbage.append(buf[0])
                del buf[0]
                continue
            if len(buf) >= 8 and buf[7] not in KNOWN_TYPES:
                self._garbage.append(buf[0])
                del buf[0]
                continue
            if len(buf) < size:
                skip = self._later_frame(size)
                if skip:
                    # a header that promised more than is coming: a complete, CRC-checked frame
                    # starts inside its span, so it was garbage that happened to parse
                    self._garbage += buf[:skip]
                    del buf[:skip]
                    continue
                break
            self._flush_garbage()
            wire = bytes(buf[:size])
            try:
                frame = decode_frame(wire)
            except FrameError as exc:
                # a CRC failure: drop exactly this frame and carry on after it
                self._reject(str(exc), wire)
                del buf[:size]
                continue
            del buf[:size]
            self.frames += 1
            out.append(frame)
        self._flush_garbage()
        return out

    def _later_frame(self, pending: int) -> int:
        """Offset of a complete frame with a valid CRC inside the span a pending header claims."""
        buf = self._buf
        for j in range(1, len(buf) - 9):
            if buf[j + 2] != 0 or buf[j + 3] not in (5, 6) or buf[j + 7] not in KNOWN_TYPES:
                continue
            try:
                size = frame_size(buf[j:j + 6])
            except FrameError:
                continue
            if j + size <= len(buf):
                try:
                    decode_frame(bytes(buf[j:j + size]))
                except FrameError:
                    continue
                return j
        return 0

    def finish(self) -> None:
        """The connection ended: whatever is left was a truncated frame or garbage."""
        self._flush_garbage()
        if self._buf:
            self._reject(f"truncated frame: {len(self._buf)} bytes when the connection ended", self._buf)
            self._buf.clear()

    @property
    def buffered(self) -> int:
        return len(self._buf)
