"""A simulated RS485 wire over pseudo-terminals.

Why: the serial code path (pyserial, pymodbus RTU, baud-rate scanning) must run end to end without
hardware. The client opens a real tty (`client_path`); each simulated device serves its own pty;
a relay in the event loop copies bytes between them like a bus: every device hears every request,
and a device whose baud rate differs from the one the client set on its tty hears nothing useful.
"""

from __future__ import annotations

import asyncio
import os
import termios
import tty
from dataclasses import dataclass, field

from solartui.sim.modbus_server import Faults, ModbusSimulator
from solartui.sim.register_bank import RegisterBank


def _speed_const(baud: int) -> int:
    """termios constant for a baud rate (what a tty reports as its speed)."""
    const = getattr(termios, f"B{baud}", None)
    if const is None:
        raise ValueError(f"{baud} is not a baud rate this system knows")
    return const


def open_pty() -> tuple[int, int, str]:
    """A raw pty pair: binary frames pass unchanged (no echo, no CR/LF translation)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    os.set_blocking(master, False)
    return master, slave, os.ttyname(slave)


def pty_write(loop: asyncio.AbstractEventLoop, fd: int, pending: bytearray, data: bytes) -> None:
    """Non-blocking write to a pty master; what it cannot take now is kept in `pending` and goes
    out, in order, when the fd is writable."""
    if pending:
        pending += data
        return
    try:
        n = os.write(fd, data)
    except (BlockingIOError, InterruptedError):
        n = 0
    except OSError:
        return
    if n < len(data):
        pending += data[n:]
        loop.add_writer(fd, _pty_flush, loop, fd, pending)


def _pty_flush(loop: asyncio.AbstractEventLoop, fd: int, pending: bytearray) -> None:
    try:
        n = os.write(fd, bytes(pending))
    except (BlockingIOError, InterruptedError):
        return
    except OSError:
        n = len(pending)
    del pending[:n]
    if not pending:
        loop.remove_writer(fd)


@dataclass
class _Port:
    master: int
    slave: int          # kept open so the master never sees a hang-up between client opens
    path: str
    speed: int = 0      # termios constant of the device's baud (0 for the client side)
    pending: bytearray = field(default_factory=bytearray)


class SerialWire:
    """One bus: a client tty and any number of device ttys, each device at its own baud."""

    def __init__(self):
        master, slave, path = open_pty()
        self._client = _Port(master, slave, path)
        self.client_path = path
        self._devices: list[_Port] = []
        self._sims: list[ModbusSimulator] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.dropped = 0        # bytes a device could not understand (baud mismatch)
        self.closed = False

    async def start(self) -> None:
        """Begin relaying (devices attached before or after this both work)."""
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._client.master, self._from_client)
        for dev in self._devices:
            self._loop.add_reader(dev.master, self._from_device, dev)

    def attach(self, baud: int = 9600) -> str:
        """Add a device listening at `baud`; returns the tty path its server should open."""
        if self.closed:
            raise RuntimeError("the wire is stopped")
        master, slave, path = open_pty()
        dev = _Port(master, slave, path, _speed_const(baud))
        self._devices.append(dev)
        if self._loop is not None:
            self._loop.add_reader(master, self._from_device, dev)
        return path

    async def serve(self, sim: ModbusSimulator, baud: int = 9600, parity: str = "N") -> str:
        """Attach a simulator at `baud` and start its RTU server; stop() stops it too."""
        await self.start()
        path = self.attach(baud)
        await sim.start_serial(path, baud, parity)
        self._sims.append(sim)
        return path

    async def stop(self) -> None:
        """Stop simulators served on this wire, then close every pty."""
        if self.closed:
            return
        self.closed = True
        for sim in self._sims:
            await sim.stop()
        for port in (self._client, *self._devices):
            if self._loop is not None:
                self._loop.remove_reader(port.master)
                self._loop.remove_writer(port.master)
            for fd in (port.master, port.slave):
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._devices.clear()

    # --- relay ---------------------------------------------------------------------------------

    @staticmethod
    def _read(port: _Port) -> bytes:
        try:
            return os.read(port.master, 4096)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError:                 # EIO: nobody holds the slave (cannot happen: we do)
            return b""

    def _client_speed(self) -> int:
        """The speed the client set on its tty; the master side sees the slave's termios."""
        try:
            return termios.tcgetattr(self._client.master)[5]
        except termios.error:
            return -1

    def _from_client(self) -> None:
        data = self._read(self._client)
        if not data:
            return
        speed = self._client_speed()
        for dev in self._devices:
            if dev.speed == speed:
                self._write(dev, data)
            else:
                self.dropped += len(data)   # framing errors at the wrong speed: nothing usable

    def _from_device(self, dev: _Port) -> None:
        data = self._read(dev)
        if data and dev.speed == self._client_speed():
            self._write(self._client, data)

    def _write(self, port: _Port, data: bytes) -> None:
        assert self._loop is not None
        pty_write(self._loop, port.master, port.pending, data)


async def serve_on_pty(banks: list[RegisterBank] | RegisterBank, baud: int = 9600,
                       faults: Faults | None = None) -> tuple[SerialWire, ModbusSimulator]:
    """A wire with one simulator serving `banks` at `baud`; the client opens wire.client_path.

    Put more simulators on the same wire with `await wire.serve(other_sim, other_baud)`.
    `await wire.stop()` stops them all.
    """
    wire = SerialWire()
    sim = ModbusSimulator(banks, faults)
    try:
        await wire.serve(sim, baud)
    except BaseException:
        await wire.stop()
        raise
    return wire, sim
