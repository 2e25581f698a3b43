"""What a link counts, and the frame trace it can hand to a traffic log."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Frame:
    """One frame on the wire: 'tx' to the device or 'rx' from it, with the wall-clock time."""

    direction: str
    time: float
    data: bytes

    def __str__(self) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.time)) + f".{int(self.time % 1 * 1000):03d}"
        return f"{stamp} {self.direction.upper()} {self.data.hex(' ')}"


FrameSink = Callable[[Frame], None]


@dataclass
class LinkStats:
    requests: int = 0
    replies: int = 0
    timeouts: int = 0
    errors: int = 0             # exception replies, connection failures, garbled frames
    bad_frames: int = 0         # replies that arrived but failed CRC/framing
    last_latency: float | None = None
    total_latency: float = 0.0
    # (start, end) monotonic times of recent transactions: the pacing is checked against these
    windows: deque = field(default_factory=lambda: deque(maxlen=1000))

    @property
    def mean_latency(self) -> float | None:
        return self.total_latency / self.replies if self.replies else None

    def min_gap(self) -> float | None:
        """Shortest time between the end of one transaction and the start of the next."""
        w = list(self.windows)
        gaps = [b[0] - a[1] for a, b in zip(w, w[1:])]
        return min(gaps) if gaps else None

    def as_dict(self) -> dict:
        return {"requests": self.requests, "replies": self.replies, "timeouts": self.timeouts,
                "errors": self.errors, "bad_frames": self.bad_frames,
                "last_latency_ms": None if self.last_latency is None else round(self.last_latency * 1000, 1),
                "mean_latency_ms": None if self.mean_latency is None else round(self.mean_latency * 1000, 1)}
