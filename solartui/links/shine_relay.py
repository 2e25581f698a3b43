"""An inverter behind a Growatt datalogger, as a link.

Why: the register device (map + link) already identifies, polls, plans, validates, sends, reads
back and journals; an inverter reached through a ShineWiFi/ShineLAN datalogger should get all of
that, and go through the one write gate, exactly as one on RS485 does. This transport relays
Modbus holding-register operations as the datalogger's own commands — FC03 as 0x05, FC06 as 0x06,
FC16 as 0x10 — through the datalogger connection's link scheduler (paced, one at a time, writes
first), so the server pane and the HTTP API hold no write logic of their own.

Input registers cannot be read on demand through a datalogger (growatt-shine.md §2.1): FC04 reads
are answered from the words of the inverter's latest live data record, which carries the same
words an FC04 read would return (§2.4), and fail when no record has carried them yet.
"""

from __future__ import annotations

from solartui.errors import (CommandRejected, ConnectionFailed, DataloggerMoved, DeviceException,
                             NoAnswer, RegisterUnavailable, ShineError, UnknownDevice)
from solartui.links.scheduler import PRIORITY_READ, PRIORITY_WRITE
from solartui.links.stats import LinkStats
from solartui.registers.write_rules import MAX_READ, MAX_WRITE_MULTIPLE
from solartui.shine import frame as F
from solartui.shine import records as R

ILLEGAL_ADDRESS = 2
MAX_REGISTER = 4095         # the datalogger's register field


def _check_span(first: int, last: int, most: int) -> None:
    if not 0 <= first <= last <= MAX_REGISTER:
        raise ShineError(f"register range {first}-{last} is outside 0-{MAX_REGISTER}")
    if last - first + 1 > most:
        raise ShineError(f"register range {first}-{last} is not 1-{most} registers")


class RelayTarget:
    """What a device prints as its target: `shine://DATALOGGER/INVERTER`."""

    scheme = "shine"

    def __init__(self, datalogger: str, inverter: str):
        self.datalogger = datalogger
        self.inverter = inverter

    def with_unit(self, _unit) -> "RelayTarget":
        return self

    def __str__(self) -> str:
        return f"shine://{self.datalogger}/{self.inverter}"


class ShineRelayLink:
    """The link of one inverter behind one datalogger on the embedded server."""

    def __init__(self, server, inverter: str):
        self.server = server
        self.inverter = inverter
        logger, _inv = server.find_inverter(inverter)
        self.target = RelayTarget(logger.serial, inverter)
        # the connection this device was read through: a write never follows the serial to
        # another one (a move, a reconnect) whose inverter nobody here has read
        self.connection = logger.connection
        self._address = f"{logger.ip}:{logger.port}"

    def _check_same_connection(self):
        logger = self._logger()
        if logger.connection is not self.connection:
            raise DataloggerMoved(
                f"not sent: datalogger {logger.serial} is now on {logger.ip}:{logger.port}, not "
                f"{self._address} where this write was planned; open the inverter again")
        return logger

    # what devices and screens read off a link

    def _logger(self):
        try:
            return self.server.find_inverter(self.inverter)[0]
        except UnknownDevice as exc:
            raise ConnectionFailed(str(exc)) from None

    @property
    def description(self) -> str:
        try:
            logger = self._logger()
        except ConnectionFailed:
            return f"inverter {self.inverter} (its datalogger is gone)"
        return (f"inverter {self.inverter} via datalogger {logger.serial} at "
                f"{logger.ip}:{logger.port}")

    @property
    def scheduler(self):
        conn = self._logger().connection
        return conn.scheduler

    @property
    def stats(self) -> LinkStats:
        try:
            return self.scheduler.stats
        except ConnectionFailed:
            return LinkStats()

    @property
    def min_period(self) -> float:
        return self.server.command_gap

    def add_sink(self, sink) -> None:
        self.scheduler.add_sink(sink)

    async def close(self) -> None:
        """The datalogger's connection belongs to the server: nothing to close here."""

    # the operations

    async def read(self, function: int, unit: int, address: int, count: int,
                   priority: int = PRIORITY_READ) -> list[int]:
        if function == 4:
            return self._input_words(address, count)
        if function != 3:
            raise DeviceException(function, 1)
        try:
            return await self.read_holding(address, address + count - 1, priority)
        except RegisterUnavailable:
            raise DeviceException(3, ILLEGAL_ADDRESS) from None
        except UnknownDevice as exc:
            raise ConnectionFailed(str(exc)) from None
        except ShineError as exc:
            raise DeviceException(3, ILLEGAL_ADDRESS) from exc

    async def write(self, function: int, unit: int, address: int, words: list[int],
                    priority: int = PRIORITY_WRITE) -> None:
        self._check_same_connection()
        try:
            if function == 6 and len(words) == 1:
                await self._write_single(address, words[0])
            else:
                await self._write_multiple(address, list(words))
        except UnknownDevice as exc:
            raise ConnectionFailed(str(exc)) from None

    # the datalogger's commands

    async def read_holding(self, first: int, last: int | None = None,
                           priority: int = PRIORITY_READ) -> list[int]:
        """0x05: holding registers first..last, fresh from the inverter."""
        server, serial = self.server, self.inverter
        last = first if last is None else last
        _check_span(first, last, MAX_READ)
        logger, inv = server.find_inverter(serial)
        what = f"read holding {first}" + (f"-{last}" if last != first else "")
        reply, started = await server._command(
            logger, lambda: R.ReadHolding(logger.serial, first, last), what=what,
            expect=F.READ_HOLDING, match=lambda r: r.first == first,
            timeout=server.inverter_timeout, unit=inv.unit, inverter=serial, priority=priority)
        if len(reply.values) != last - first + 1:
            server._record(logger.serial, serial, what, "empty reply (register not available)",
                           False, started)
            raise RegisterUnavailable(f"inverter {serial} returned no value for register {first}"
                                      + (f"-{last}" if last != first else "")
                                      + " (not available)")
        for i, w in enumerate(reply.values):
            inv.holding[first + i] = w
        server._record(logger.serial, serial, what, " ".join(f"{w:04x}" for w in reply.values),
                       True, started)
        return list(reply.values)

    async def _write_single(self, register: int, value: int) -> int:
        """0x06; reached only through the write gate (RegisterDevice.execute_write)."""
        _check_span(register, register, 1)
        reply = await self._write_command(
            f"write holding {register} = {value}", f"write of inverter register {register}",
            lambda serial: R.WriteHolding(serial, register, value), F.WRITE_HOLDING,
            lambda r: r.register == register, self.server.inverter_timeout,
            lambda r: r.result, lambda r: {register: r.value})
        return reply.value

    async def _write_multiple(self, first: int, values: list[int]) -> None:
        """0x10; reached only through the write gate (RegisterDevice.execute_write)."""
        last = first + len(values) - 1
        _check_span(first, last, MAX_WRITE_MULTIPLE)
        await self._write_command(
            f"write holding {first}-{last} = {' '.join(f'{v:04x}' for v in values)}",
            f"write of inverter registers {first}-{last}",
            lambda serial: R.WriteMultiple(serial, first, tuple(values)), F.WRITE_MULTIPLE,
            lambda r: r.first == first and r.last == last, self.server.logger_timeout,
            lambda r: r.status, lambda r: {first + i: v for i, v in enumerate(values)})

    async def _write_command(self, what: str, refused: str, build, expect: int, match,
                             timeout: float, status, written):
        """Send one write command, check its reply's status byte (a NACK is CommandRejected)
        and remember what the inverter now holds; every outcome goes to the command log."""
        server, serial = self.server, self.inverter
        logger, inv = server.find_inverter(serial)
        if logger.connection is not self.connection:
            self._check_same_connection()
        reply, started = await server._command(
            logger, lambda: build(logger.serial), what=what, expect=expect, match=match,
            timeout=timeout, unit=inv.unit, inverter=serial, priority=PRIORITY_WRITE)
        if status(reply) != 0:
            exc = CommandRejected(refused, status(reply))
            server._record(logger.serial, serial, what, str(exc), False, started)
            raise exc
        now = written(reply)
        inv.holding.update(now)
        echo = f", reads {reply.value}" if hasattr(reply, "value") else ""     # 0x06 echoes it
        server._record(logger.serial, serial, what, "ACK" + echo, True, started)
        return reply

    def _input_words(self, address: int, count: int) -> list[int]:
        try:
            _logger, inv = self.server.find_inverter(self.inverter)
        except UnknownDevice as exc:
            raise ConnectionFailed(str(exc)) from None
        words = [inv.input_words.get(a) for a in range(address, address + count)]
        if inv.input_at is None:
            raise NoAnswer(f"inverter {self.inverter} has sent no data record yet (input "
                           "registers arrive only in its records)")
        if any(w is None for w in words):
            raise DeviceException(4, ILLEGAL_ADDRESS)
        return words

