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

import time

from solartui.errors import (ConnectionFailed, DeviceException, NoAnswer, RegisterUnavailable,
                             ShineError, UnknownDevice)
from solartui.links.scheduler import PRIORITY_READ, PRIORITY_WRITE
from solartui.links.stats import LinkStats

ILLEGAL_ADDRESS = 2


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
            return await self.server.read_inverter_registers(
                self.inverter, address, address + count - 1, priority=priority)
        except RegisterUnavailable:
            raise DeviceException(3, ILLEGAL_ADDRESS) from None
        except UnknownDevice as exc:
            raise ConnectionFailed(str(exc)) from None
        except ShineError as exc:
            raise DeviceException(3, ILLEGAL_ADDRESS) from exc

    async def write(self, function: int, unit: int, address: int, words: list[int],
                    priority: int = PRIORITY_WRITE) -> None:
        try:
            if function == 6 and len(words) == 1:
                await self.server.write_inverter_register(self.inverter, address, words[0])
            else:
                await self.server.write_inverter_registers(self.inverter, address, list(words))
        except UnknownDevice as exc:
            raise ConnectionFailed(str(exc)) from None

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
        self.age = time.time() - inv.input_at
        return words
