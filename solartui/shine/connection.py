"""One datalogger's TCP connection: its frame stream, its own transaction ids, the commands
waiting for a reply on it, and the link scheduler that paces those commands.

Replies are matched only against requests sent on this same connection, by datalogger serial,
record type and register(s): a reply from another datalogger can never answer this one's request,
and a stray reply with nothing waiting is counted and dropped. Each request carries its own
transaction id; a reply carrying the id of a request that has already ended (timed out, given up)
is late and is discarded, never handed to the next request for the same register. Once a
datalogger has echoed an id, its replies must carry the id of the request they answer.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
import time
from dataclasses import dataclass, field
from typing import Callable

from solartui.links.scheduler import LinkScheduler
from solartui.shine import records as R
from solartui.shine.frame import Frame, encode_frame
from solartui.shine.stream import FrameStream


@dataclass
class Waiter:
    serial: str
    type: int
    match: Callable[[object], bool]
    future: asyncio.Future
    collect: list = field(default_factory=list)   # 0x19 ranges: one reply frame per register
    done_when: Callable[[list], bool] | None = None
    tid: int | None = None                        # the transaction id the request went out with


class LoggerLink:
    """The scheduler's view of a connection (the Transport protocol of links/)."""

    def __init__(self, connection: "Connection"):
        self.connection = connection
        self.description = f"datalogger at {connection.ip}:{connection.port}"
        self._sink = None

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def set_frame_sink(self, sink) -> None:
        self._sink = sink

    def trace(self, direction: str, data: bytes) -> None:
        if self._sink is not None:
            self._sink(direction, data)


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 command_gap: float, *, max_queue: int | None = None,
                 max_write_buffer: int | None = None):
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername") or ("?", 0)
        self.ip, self.port = str(peer[0]), int(peer[1])
        self.stream = FrameStream()
        self.protocol: int | None = None
        self.serials: set[str] = set()
        self.last_seen = time.monotonic()
        self.connected_at = self.last_seen
        self._tokens: float | None = None       # frame pacing (pace())
        self._paced_at = self.last_seen
        self.record_errors = 0
        self.closed = False
        self.overflowed = False                 # it stopped reading what we send: dropped
        self.max_write_buffer = max_write_buffer
        self.refused_serials = 0                # frames for serials this connection may not use
        self._tids = itertools.count(0x100)
        self.waiters: list[Waiter] = []
        self.ended_tids: deque[int] = deque(maxlen=256)   # requests that ended unanswered
        self.echoes_tid = False                 # this datalogger echoes our transaction ids
        self.late_replies = 0
        self.link = LoggerLink(self)
        self.scheduler = LinkScheduler(self.link, min_period=command_gap)
        self.scheduler.rx_is_reply = False      # data records and pings arrive at any time
        self.scheduler.max_queue = max_queue

    @property
    def rejected(self) -> int:
        return self.stream.rejected + self.record_errors

    def pace(self, frames: int, rate: float, burst: int) -> float:
        """Charge `frames` to this connection's token bucket (`rate` a second, `burst` deep);
        the seconds its reading should pause, 0 while within the rate."""
        now = time.monotonic()
        tokens = burst if self._tokens is None else self._tokens
        tokens = min(float(burst), tokens + (now - self._paced_at) * rate) - frames
        self._tokens, self._paced_at = tokens, now
        return -tokens / rate if tokens < 0 and rate > 0 else 0.0

    def next_tid(self) -> int:
        tid = next(self._tids) & 0xFFFF
        return tid or self.next_tid()

    def send_frame(self, frame: Frame) -> None:
        self.send_bytes(encode_frame(frame))

    def send_record(self, record, tid: int, unit: int = 1) -> None:
        self.send_bytes(R.encode(record, tid, self.protocol or 6, unit))

    def send_bytes(self, data: bytes) -> None:
        if self.closed or self.writer.is_closing():
            return
        transport = self.writer.transport
        if (self.max_write_buffer is not None and transport is not None
                and transport.get_write_buffer_size() + len(data) > self.max_write_buffer):
            # acks and echoes pile up for a peer that does not read them: hang up
            self.overflowed = True
            self.abort()
            return
        self.link.trace("tx", data)
        self.writer.write(data)

    def end(self, w: Waiter) -> None:
        """A request is over, answered or not: any reply that still carries its id is late."""
        if w in self.waiters:
            self.waiters.remove(w)
        if w.tid is not None:
            self.ended_tids.append(w.tid)

    def resolve(self, record, tid: int | None = None) -> bool:
        """Hand a command reply to the request waiting for it; False if none was (a late reply
        for a request that ended is counted in `late_replies`)."""
        if tid is not None and tid in self.ended_tids:
            self.late_replies += 1
            return False
        serial = getattr(record, "datalogger", None)
        for w in list(self.waiters):
            if w.future.done() or w.serial != serial or w.type != record.TYPE or not w.match(record):
                continue
            if tid is not None and w.tid is not None:
                if tid == w.tid:
                    self.echoes_tid = True
                elif self.echoes_tid:
                    continue
            if w.done_when is None:
                w.future.set_result(record)
            else:
                w.collect.append(record)
                if w.done_when(w.collect):
                    w.future.set_result(list(w.collect))
            return True
        return False

    def fail_all(self, exc: Exception) -> None:
        for w in self.waiters:
            if not w.future.done():
                w.future.set_exception(exc)
        self.waiters.clear()

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    def abort(self) -> None:
        self.closed = True
        transport = self.writer.transport
        if transport is not None and not transport.is_closing():
            transport.abort()
