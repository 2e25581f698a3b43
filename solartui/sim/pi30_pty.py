"""A simulated PI30 inverter served on a pseudo-terminal pair.

mode="serial": the inverter's RS232 port at 2400 8N1. The client opens `client_path` with pyserial
like a real /dev/ttyUSB0. Bytes the client sends while its tty is set to another speed are dropped
(counted in `dropped`): at the wrong baud a real unit hears only framing errors.

mode="hidraw": a stand-in for /dev/hidrawN. The client writes report-sized groups — 9 bytes
(0x00 report ID + 8 data bytes) with report_id=True, 8 bytes without — and the server applies the
kernel's rule (a leading 0x00 is the report number and is stripped; see section 4.3 of the notes);
replies go out as 8-byte reports, the last one zero-padded (or carrying `junk_after_cr`).
Limits: a pty is a byte stream, not report-framed like hidraw: the server relies on the client
writing whole groups, and the client may read several reports, or part of one, in one read().

Faults (`inverter.faults`): latency delays replies; `unplug_on=<command>` closes the pty when that
command arrives, as a USB adapter pulled out mid-command (the client's next read fails with EIO).
`pace=True` emulates the 2400-baud line time of replies (~4.2 ms a byte); off by default so
tests stay fast.
"""

from __future__ import annotations

import asyncio
import os
import termios

from solartui.pi30.codec import hid_chunks
from solartui.sim.pi30_inverter import Pi30Faults, Pi30Inverter
from solartui.sim.serial_wire import open_pty, pty_write

SERIAL_BAUD = 2400


class Pi30PtyServer:
    """Serves one Pi30Inverter on a pty; `await start()` returns the path the client opens."""

    def __init__(self, inverter: Pi30Inverter | None = None, *, mode: str = "serial",
                 baud: int = SERIAL_BAUD, report_id: bool = True, pace: bool = False):
        if mode not in ("serial", "hidraw"):
            raise ValueError("mode must be 'serial' or 'hidraw'")
        self.inverter = inverter or Pi30Inverter()
        self.mode = mode
        self.baud = baud
        self.report_id = report_id
        self.pace = pace
        self.client_path: str | None = None
        self.dropped = 0                 # bytes heard at the wrong baud (serial mode)
        self.lost_bytes = 0              # report-ID bytes the hidraw rule stripped from data
        self.received = bytearray()      # every data byte delivered to the inverter
        self.unplugged = False
        self._master: int | None = None
        self._slave: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._in = bytearray()           # hidraw mode: bytes not yet a whole report
        self._out = bytearray()
        self._tasks: set[asyncio.Task] = set()
        self._tail: asyncio.Future | None = None

    @property
    def faults(self) -> Pi30Faults:
        return self.inverter.faults

    async def start(self) -> str:
        if self._loop is not None:
            assert self.client_path is not None
            return self.client_path
        self._loop = asyncio.get_running_loop()
        self._master, self._slave, self.client_path = open_pty()
        self._loop.add_reader(self._master, self._on_readable)
        return self.client_path

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._close_pty()

    def unplug(self) -> None:
        """Close the pty now: the client sees its port vanish (EIO)."""
        self.unplugged = True
        self._close_pty()

    def _close_pty(self) -> None:
        if self._master is None:
            return
        if self._loop is not None:
            self._loop.remove_reader(self._master)
            self._loop.remove_writer(self._master)
        for fd in (self._master, self._slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = None

    # --- receive -------------------------------------------------------------------------------

    def _speed_ok(self) -> bool:
        if self.mode != "serial":
            return True
        const = getattr(termios, f"B{self.baud}", None)
        try:
            attrs = termios.tcgetattr(self._master)     # the master reports the slave's termios
        except termios.error:
            return False
        return attrs[5] == const

    def _on_readable(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        if not data:
            return
        if not self._speed_ok():
            self.dropped += len(data)
            return
        if self.mode == "hidraw":
            data = self._unreport(data)
        if data:
            self.received += data
            for ex in self.inverter.feed(data):
                if self.faults.unplug_on is not None and ex.command == self.faults.unplug_on:
                    self.unplug()
                    return
                if ex.reply is not None:
                    self._schedule(ex.reply)

    def _unreport(self, data: bytes) -> bytes:
        """Cut the stream into the client's writes and apply the hidraw report-ID rule."""
        self._in += data
        size = 9 if self.report_id else 8
        out = bytearray()
        while len(self._in) >= size:
            group = bytes(self._in[:size])
            del self._in[:size]
            if group[0] == 0:
                if not self.report_id:
                    self.lost_bytes += 1         # 8-byte write starting 0x00: one byte lost
                group = group[1:]
            out += group[:8]
        return bytes(out)

    # --- send ----------------------------------------------------------------------------------

    def _schedule(self, reply: bytes) -> None:
        """Replies go out in order, each after the configured latency."""
        previous = self._tail
        task = asyncio.ensure_future(self._send_later(reply, previous))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._tail = task

    async def _send_later(self, reply: bytes, previous: asyncio.Future | None) -> None:
        if previous is not None and not previous.done():
            try:
                await previous
            except asyncio.CancelledError:
                pass
        if self.faults.latency > 0:
            await asyncio.sleep(self.faults.latency)
        data = b"".join(hid_chunks(reply)) if self.mode == "hidraw" else reply
        if self.pace:
            for i in range(0, len(data), 8):
                self._write(data[i:i + 8])
                await asyncio.sleep(8 * 10 / SERIAL_BAUD)
        else:
            self._write(data)

    def _write(self, data: bytes) -> None:
        if self._master is None or self._loop is None:
            return
        pty_write(self._loop, self._master, self._out, data)


async def serve_pi30_on_pty(inverter: Pi30Inverter | None = None, *, mode: str = "serial",
                            **kwargs) -> Pi30PtyServer:
    """Start a Pi30PtyServer; the client opens `server.client_path`; `await server.stop()`."""
    server = Pi30PtyServer(inverter, mode=mode, **kwargs)
    await server.start()
    return server
