"""Commands the server sends to a datalogger, and to the inverter behind it.

Each command goes through the datalogger connection's link scheduler (one at a time, writes first,
`command_gap` apart, the inverter's RS485 minimum period), waits only for the reply from that
connection with its own transaction id, serial, type and register(s), checks the status byte of
write replies (a NACK is a failure, not "OK"), and leaves an entry in the command log.

Inverter register commands are the transport of the relay link (links/shine_relay.py): the doors
reach them only through the write gate, which validates and journals. Datalogger-register writes
(server address, reboot, its clock) are the datalogger's own settings, kept as grottserver has
them, and journalled here write-ahead with the door they came through: an intent (fsynced)
before the frame, the outcome with the same id after.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from datetime import datetime, timedelta

from solartui.errors import (CommandRejected, ConnectionFailed, LinkBusy, LinkError, NoAnswer,
                             ShineError, SolartuiError, UnknownDevice)
from solartui.links.clock_timing import transit_estimate, wait_for_second
from solartui.links.scheduler import PRIORITY_READ, PRIORITY_WRITE
from solartui.shine import frame as F
from solartui.shine import records as R
from solartui.shine.connection import Waiter
from solartui.shine.registry import CommandEntry, LoggerState

log = logging.getLogger("solartui.shine")

CLOCK_REGISTER = 31
MAX_REGISTER = 4095


class ShineCommands:
    """Mixed into ShineServer, which provides loggers, find_logger/find_inverter, the zone,
    timeouts, journal, commands deque, log and _notify."""

    async def _command(self, logger: LoggerState, build, *, what: str, expect: int, match,
                       timeout: float, unit: int = 1, inverter: str | None = None,
                       priority: int = PRIORITY_READ, collect_last: int | None = None):
        """Send one command through the datalogger's scheduler and wait for its own reply."""
        conn = logger.connection
        if conn is None or conn.closed:
            raise UnknownDevice(f"no datalogger {logger.serial!r} is connected")
        started = time.monotonic()

        async def run(_transport):
            if conn.closed or logger.connection is not conn:                 # it went while this command waited in the queue
                raise ConnectionFailed("the datalogger disconnected")
            loop = asyncio.get_running_loop()
            done_when = None
            if collect_last is not None:
                done_when = lambda got: any(r.register >= collect_last for r in got)  # noqa: E731
            tid = conn.next_tid()
            w = Waiter(logger.serial, expect, match, loop.create_future(), done_when=done_when,
                       tid=tid)
            conn.waiters.append(w)
            try:
                record = build()
                if inspect.isawaitable(record):     # built at send time (a clock value)
                    record = await record
                conn.send_record(record, tid, unit)
                return await self._await_reply(w, timeout)
            finally:
                conn.end(w)

        try:
            result = await conn.scheduler.submit(run, priority)
        except LinkBusy as exc:
            self.counters["commands_refused"] += 1
            self.ratelog.warning("queue-full", "datalogger %s: %s", logger.serial, exc)
            raise
        except LinkError as exc:
            self._record(logger.serial, inverter, what, str(exc), False, started)
            raise
        return result, started

    @staticmethod
    async def _await_reply(w: Waiter, timeout: float):
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            left = deadline - time.monotonic()
            # a 0x19 range may skip registers: once answers flow, half a second of quiet ends it
            wait = min(left, 0.5) if w.done_when is not None and w.collect else left
            if wait <= 0:
                break
            try:
                return await asyncio.wait_for(asyncio.shield(w.future), wait)
            except asyncio.TimeoutError:
                if w.done_when is not None and w.collect and len(w.collect) == seen:
                    return list(w.collect)
                seen = len(w.collect)
        if w.collect:
            return list(w.collect)
        raise NoAnswer(f"no answer within {timeout:g} s")

    def _record(self, logger: str, inverter: str | None, what: str, outcome: str, ok: bool,
                started: float) -> None:
        entry = CommandEntry(time.time(), logger, inverter, what, outcome, ok,
                             time.monotonic() - started)
        self.commands.append(entry)
        (log.info if ok else log.warning)("%s", entry.line())
        self._notify("command", logger)

    def _journal_entry(self, logger: LoggerState, register: int, old, new) -> dict:
        return {"kind": "shine-write", "datalogger": logger.serial, "space": "datalogger",
                "register": register, "old": old, "new": new}

    def _intend(self, logger: LoggerState, register: int, old, new, origin: str) -> str | None:
        """Write-ahead: the intent is fsynced before the frame goes out. A journal that cannot be
        written stops the write here, unsent (as the write gate does for device writes)."""
        if self.journal is None:
            return None
        try:
            return self.journal.intend({**self._journal_entry(logger, register, old, new),
                                        "origin": origin})
        except SolartuiError as exc:
            log.error("journal: %s", exc)
            raise SolartuiError(f"{exc}: datalogger register {register} not sent") from None

    def _journal(self, logger: LoggerState, register: int, old, new, outcome: str,
                 origin: str, wid: str | None = None) -> None:
        """The outcome, with its intent's id when the frame went out (none: it never did)."""
        if self.journal is None:
            return
        try:
            self.journal.outcome(wid, {**self._journal_entry(logger, register, old, new),
                                       "outcome": outcome, "origin": origin})
        except SolartuiError as exc:
            log.error("%s", exc)

    @staticmethod
    def _check_register(reg: int) -> None:
        if not 0 <= reg <= MAX_REGISTER:
            raise ShineError(f"register {reg} outside 0-{MAX_REGISTER}")

    async def read_logger_register(self, serial: str, register: int) -> bytes:
        """One datalogger register (ASCII bytes), fresh from the datalogger."""
        got = await self.read_logger_registers(serial, register, register)
        if register not in got:
            raise NoAnswer(f"datalogger {serial} did not return register {register}")
        return got[register]

    async def read_logger_registers(self, serial: str, first: int, last: int) -> dict[int, bytes]:
        self._check_register(first)
        self._check_register(last)
        if last < first:
            raise ShineError(f"last register {last} before first {first}")
        logger = self.find_logger(serial)
        what = f"read logger register {first}" + (f"-{last}" if last != first else "")
        replies, started = await self._command(
            logger, lambda: R.ReadLogger(serial, first, last), what=what, expect=F.READ_LOGGER,
            match=lambda r: first <= r.register <= last, timeout=self.logger_timeout,
            collect_last=last)
        got = {r.register: r.value for r in replies}
        self._record(serial, None, what, ", ".join(f"{k}={v.decode('latin-1')!r}" for k, v in got.items())
                     or "nothing", True, started)
        return got

    async def write_logger_register(self, serial: str, register: int, value: bytes | str,
                                    origin: str = "server") -> None:
        self._check_register(register)
        data = value.encode("latin-1") if isinstance(value, str) else bytes(value)
        if len(data) > 255:
            raise ShineError("a datalogger register value is at most 255 bytes")
        logger = self.find_logger(serial)
        await self._write_logger(logger, register, lambda: data,
                                 f"write logger register {register} = {data.decode('latin-1')!r}",
                                 origin)

    async def _write_logger(self, logger: LoggerState, register: int, make_value, what: str,
                            origin: str) -> bytes:
        sent: list[bytes] = []
        wid: list[str | None] = [None]
        old = logger.registers.get(register)

        async def build():
            value = make_value()               # evaluated when the command goes out
            value = await value if inspect.isawaitable(value) else value
            wid[0] = self._intend(logger, register, _text(old), _text(value), origin)
            sent.append(value)
            return R.WriteLogger(logger.serial, register, value)

        try:
            reply, started = await self._command(
                logger, build, what=what, expect=F.WRITE_LOGGER,
                match=lambda r: r.register == register, timeout=self.logger_timeout,
                priority=PRIORITY_WRITE)
        except LinkError as exc:
            outcome = "no answer" if isinstance(exc, NoAnswer) else str(exc)
            if not sent:
                outcome = f"not sent: {exc}"
            self._journal(logger, register, _text(old), _text(sent[-1] if sent else None),
                          outcome, origin, wid[0])
            raise
        except asyncio.CancelledError:
            if sent:       # the frame is out and nobody waits for its reply: say so, honestly
                self._journal(logger, register, _text(old), _text(sent[-1]),
                              "outcome unknown — stopped waiting for the reply", origin, wid[0])
            raise
        if reply.status != 0:
            exc = CommandRejected(f"write of datalogger register {register}", reply.status)
            self._record(logger.serial, None, what, str(exc), False, started)
            self._journal(logger, register, _text(old), _text(sent[-1]), "rejected", origin, wid[0])
            raise exc
        logger.registers[register] = sent[-1]
        self._record(logger.serial, None, what, "ACK", True, started)
        self._journal(logger, register, _text(old), _text(sent[-1]), "acknowledged", origin, wid[0])
        return sent[-1]

    # clock

    def zone_description(self) -> str:
        now = self._now()
        name = str(self.zone) if self.zone else f"host local zone {now.tzname()}"
        off = now.utcoffset() or timedelta(0)
        sign = "+" if off >= timedelta(0) else "-"
        off = abs(off)
        return f"{name}, UTC{sign}{off.seconds // 3600:02d}:{off.seconds % 3600 // 60:02d}"

    def _now(self) -> datetime:
        return datetime.now(self.zone) if self.zone else datetime.now().astimezone()

    async def sync_clock(self, serial: str, origin: str = "server") -> str:
        """Set the datalogger clock (register 31) to local time of the server's zone, built as
        the command goes out at the instant its second is the host's time on arrival
        (links/clock_timing.py)."""
        logger = self.find_logger(serial)
        stamp: list[datetime] = []

        async def value() -> bytes:
            conn = logger.connection
            timed = await wait_for_second(transit_estimate(conn.scheduler.stats if conn else None))
            stamp.append(timed.written(self.zone) if self.zone
                         else timed.written().astimezone())
            return stamp[-1].strftime("%Y-%m-%d %H:%M:%S").encode()

        try:
            sent = await self._write_logger(logger, CLOCK_REGISTER, value,
                                            f"clock sync ({self.zone_description()})", origin)
        except LinkError as exc:
            logger.clock_status = f"failed: {exc}"
            self._notify("logger", serial)
            raise
        logger.clock_sent = sent.decode()
        logger.clock_status = f"synced ({self.zone_description()})"
        logger.clock_synced_at = time.time()
        off = stamp[-1].utcoffset()
        logger.clock_offset_sent = off.total_seconds() if off is not None else None
        self._notify("logger", serial)
        return logger.clock_sent

    async def _sync_quietly(self, serial: str, why: str) -> None:
        try:
            sent = await self.sync_clock(serial)
            log.info("datalogger %s clock set to %s on %s", serial, sent, why)
        except (SolartuiError, LinkError) as exc:
            log.warning("datalogger %s clock sync on %s failed: %s", serial, why, exc)

    # inverter holding registers: the relay link builds and checks those commands

    async def read_inverter_registers(self, serial: str, first: int, last: int | None = None,
                                      priority: int = PRIORITY_READ) -> list[int]:
        """0x05 through the inverter's relay link (the HTTP GET and the pane's reads)."""
        from solartui.links.shine_relay import ShineRelayLink
        return await ShineRelayLink(self, serial).read_holding(first, last, priority)


def _text(value) -> str | None:
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else value
