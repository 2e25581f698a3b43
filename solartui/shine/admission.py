"""A datalogger connection's life on the Growatt server: admitted under the limits, read, dropped.

Why its own room: this is where one misbehaving client is kept from taking the event loop from
the others (issue 17). A connection is refused before anything is read from it when its address
was closed for garbage moments ago, is not in `--allow`, or would pass the total or per-address
cap. Once in, reads are at most READ_SIZE bytes, frames are handled FRAMES_PER_SLICE at a time
with a yield between slices and paced per connection, the first valid frame must come within
`first_frame_timeout`, and a connection past its garbage budget is closed and its address cooled
down. Every refusal is a counter and a rate-limited log line. What the frames mean is the
server's (server.py); this mixin needs its `limits`, `counters`, `ratelog`, `cooldown`, `_conns`,
`_per_address`, `_handle`, `_forget` and `_notify`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time

from solartui.errors import ConnectionFailed
from solartui.shine.connection import Connection

log = logging.getLogger("solartui.shine")

READ_SIZE = 65536             # bytes per read: the cutter gets through them in well under 1 ms
FRAMES_PER_SLICE = 64         # frames handled before the loop is given to others


class ShineConnections:
    """Admission, the read loop and the drop of datalogger connections (mixed into ShineServer)."""

    def _cooling_down(self, writer: asyncio.StreamWriter) -> bool:
        """Refuse a connection from an address closed for garbage moments ago (cooldown.py)."""
        peer = writer.get_extra_info("peername")
        if not self.cooldown.cooling(str(peer[0]) if peer else ""):
            return False
        self.counters["garbage_cooldown_refused"] += 1
        self.ratelog.warning("garbage-cooldown", "connection from %s refused: closed for garbage "
                             "less than %g s ago", peer[0], self.limits.garbage_cooldown)
        writer.transport.abort()
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cooling_down(writer):
            self.counters["connections"] += 1
            return
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        conn = Connection(reader, writer, self.command_gap,
                          max_queue=self.limits.commands_per_datalogger,
                          max_write_buffer=self.limits.write_buffer)
        self.counters["connections"] += 1
        if not self.limits.allow.address(conn.ip):
            self.counters["addresses_refused"] += 1
            self.ratelog.warning("address", "connection from %s refused: not in --allow",
                                 conn.address)
            conn.abort()
            return
        if len(self._conns) >= self.max_connections:
            self.counters["connections_refused"] += 1
            self.ratelog.warning("connections", "connection from %s refused: %d connections "
                                 "open (limit)", conn.address, len(self._conns))
            conn.abort()
            return
        if self._per_address.get(conn.ip, 0) >= self.limits.connections_per_address:
            self.counters["address_cap_refused"] += 1
            self.ratelog.warning("address-cap", "connection from %s refused: %d connections open "
                                 "from %s (limit)", conn.address, self._per_address[conn.ip],
                                 conn.ip)
            conn.abort()
            return
        conn.stream.budget = self.limits.garbage_bytes
        self._conns.add(conn)
        self._per_address[conn.ip] = self._per_address.get(conn.ip, 0) + 1
        self.ratelog.info("connection", "connection from %s", conn.address, burst=20)
        try:
            await self._read_loop(conn)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            before = conn.stream.rejected
            conn.stream.finish()
            self._log_rejections(conn, before)
            await self._drop(conn)

    async def _read_loop(self, conn: Connection) -> None:
        """Read, cut, handle — within the connection limits (module docstring)."""
        limits = self.limits
        deadline = conn.connected_at + limits.first_frame_timeout
        while not conn.closed:
            if conn.stream.frames == 0:          # no valid frame yet: the short deadline
                try:
                    async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                        data = await conn.reader.read(READ_SIZE)
                except TimeoutError:
                    self.counters["first_frame_timeouts"] += 1
                    self.ratelog.info("first-frame", "closed %s: no valid frame within %g s",
                                      conn.address, limits.first_frame_timeout)
                    return
            else:
                data = await conn.reader.read(READ_SIZE)
            if not data:
                return
            conn.last_seen = time.monotonic()
            conn.link.trace("rx", data)
            before = conn.stream.rejected
            frames = conn.stream.feed(data)
            for k, frame in enumerate(frames, 1):
                self.counters["frames"] += 1
                self._handle(conn, frame)
                if k % FRAMES_PER_SLICE == 0 and k < len(frames):
                    await asyncio.sleep(0)       # the others get the loop between slices
                    if conn.closed:
                        return
            self._log_rejections(conn, before)
            if conn.stream.exhausted:
                self.counters["garbage_closed"] += 1
                self.ratelog.warning("garbage", "closed %s: over %d bytes that form no valid "
                                     "frame (garbage budget)", conn.address, limits.garbage_bytes)
                self.cooldown.start(conn.ip)
                conn.abort()
                return
            pause = conn.pace(len(frames), limits.frames_per_second, limits.frame_burst)
            if pause > 0:
                self.counters["throttled"] += 1
                self.ratelog.info("throttled", "%s: over %g frames/s: reading paused %.1f s",
                                  conn.address, limits.frames_per_second, pause)
                await asyncio.sleep(pause)

    def _log_rejections(self, conn: Connection, before: int) -> None:
        new = conn.stream.rejected - before
        if new > 0:
            self.counters["rejected"] += new
            for rej in list(conn.stream.rejections)[-new:]:
                self.ratelog.warning("rejected", "%s:%d: rejected %s", conn.ip, conn.port, rej)

    async def _drop(self, conn: Connection) -> None:
        conn.closed = True
        if conn in self._conns:
            self._conns.discard(conn)
            left = self._per_address.get(conn.ip, 1) - 1
            if left > 0:
                self._per_address[conn.ip] = left
            else:
                self._per_address.pop(conn.ip, None)
        conn.fail_all(ConnectionFailed("the datalogger disconnected"))
        if conn.overflowed:
            self.counters["overflowed"] += 1
            self.ratelog.warning("overflow", "closed %s: it stopped reading what the server "
                                 "sends (over %d bytes waiting)", conn.address,
                                 self.limits.write_buffer)
        for serial in list(conn.serials):
            state = self.loggers.get(serial)
            if state is not None and state.connection is conn:
                self._forget(state)
                self.ratelog.info("disconnected", "datalogger %s disconnected", serial, burst=20)
                self._notify("logger", serial)
        with contextlib.suppress(Exception):
            conn.writer.close()
        await conn.scheduler.close("the datalogger disconnected")   # commands still queued
