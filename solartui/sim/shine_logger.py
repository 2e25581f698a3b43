"""A simulated Growatt datalogger (ShineWiFi-X) with a simulated inverter (a RegisterBank) behind it.

Why: the embedded Shine server, its HTTP API and the TUI need a peer that behaves like a real
logger without hardware. Like the real one it is a TCP *client* (growatt-shine.md §1.1): it
connects, pings, announces the inverter's holding registers until the server ACKs, sends the input
registers as 0x04 data records every interval, pings every few minutes and answers the server's
commands: its own registers (0x19/0x18) and the inverter's holding registers (0x05/0x06/0x10).
Faults make it misbehave the ways real loggers do, so a server can be tested against them.

Everything runs on asyncio streams in one task per connection role (reader, announce, data, ping,
command worker); nothing blocks and nothing polls.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ipaddress
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from solartui.errors import RecordError
from solartui.registers.codec import words_to_raw
from solartui.shine import frame as F
from solartui.shine import records as R
from solartui.shine.layouts import RECORD_SHAPES
from solartui.shine.stream import FrameStream
from solartui.sim import shine_logger_registers as L
from solartui.sim.register_bank import RegisterBank

_log = logging.getLogger(__name__)

JUNK = b"\xde\xad\xff\xff"    # the "garbage" fault: no header can start in it (protocol ffff)
MAX_PAYLOAD = 3000            # groups beyond this go into a further record (frames stay < 4096)
LOGGER_UNIT = 1               # datalogger commands and pings always use unit 1 (§1.2)
REBOOT_DELAY = 0.2            # seconds a "rebooting" logger stays away when reconnect is None


@dataclass
class LoggerFaults:
    silent: bool = False        # never answer commands (0x19/0x18/0x05/0x06/0x10)
    nack: bool = False          # answer every write (0x18/0x06/0x10) with a non-zero status
    delay: float = 0.0          # seconds before answering each command
    no_announce: bool = False   # never send 0x03 (only pings and data)
    garbage: bool = False       # a few junk bytes on the wire before each data record
    truncated: bool = False     # a data record cut short (a lost segment's leftover) before
                                # each data record and each command reply


def _bank_serial(bank: RegisterBank) -> str:
    fld = bank.map.identify.get("serial")
    if fld is None or fld.type != "ascii":
        return "SIMINV0001"
    text = str(words_to_raw("ascii", bank.get_raw(fld.table, fld.address, fld.count), fld.words))
    return text.strip("\0 ") or "SIMINV0001"


_MAP_FAMILY = {"growatt-protocol-ii": "sph", "growatt-legacy": "legacy", "growatt-spf": "spf"}


def family_of(device_map) -> str | None:
    """The record shape a map's inverter is sent with by default (None: the map's blocks)."""
    return _MAP_FAMILY.get(device_map.id)


class SimulatedDatalogger:
    """One ShineWiFi-X and the inverter behind it; `start()` it against a server's host and port."""

    max_unanswered: int | None = 15   # §1.1: after this many unanswered records, reconnect

    def __init__(self, bank: RegisterBank, *, datalogger: str = "SIMLOG0001",
                 inverter: str | None = None, protocol: int = 6, unit: int = 1,
                 interval: float | None = None, ping_every: float = 180.0,
                 announce_retry: float = 30.0, buffered: int = 0,
                 faults: LoggerFaults | None = None, reconnect: float | None = 2.0,
                 family: str | None = None, local_addr: str | None = None):
        if protocol not in (2, 5, 6):
            raise ValueError(f"protocol must be 2, 5 or 6, not {protocol}")
        if interval is not None and interval <= 0:
            raise ValueError(f"interval must be positive, not {interval}")
        self.bank = bank
        # the record shapes a real datalogger of this family sends (shine/layouts.py)
        self.family = family if family is not None else family_of(bank.map)
        if self.family is not None and self.family not in RECORD_SHAPES:
            raise ValueError(f"family must be one of {', '.join(RECORD_SHAPES)}, not {family!r}")
        self.local_addr = local_addr    # source address (another 127.x: one datalogger per address)
        self.datalogger = datalogger
        self.inverter = inverter if inverter is not None else _bank_serial(bank)
        R.pack_serial(self.datalogger, protocol)        # too long a serial fails here, not later
        R.pack_serial(self.inverter, protocol)
        self.protocol = protocol
        self.unit = unit
        self.ping_every = ping_every
        self.announce_retry = announce_retry
        self.buffered = buffered
        self.faults = faults if faults is not None else LoggerFaults()
        self.reconnect = reconnect
        self.clock_offset = 0.0
        # the independent witness of clock sets: (host time the write was taken, the local
        # wall-clock second it set), one entry per accepted write of register 31
        self.clock_sets: list[tuple[float, datetime]] = []
        self.registers: dict[int, bytes] = L.LoggerRegisters(
            L.default_registers(datalogger), lambda: L.logger_time(self.clock_offset))
        self._interval = interval
        if interval is not None:
            self.registers[L.INTERVAL] = L.minutes_text(interval).encode("ascii")
        self.connected = asyncio.Event()
        self.announced = asyncio.Event()
        self.stats: collections.Counter[str] = collections.Counter()
        self._tid = 0
        self._task: asyncio.Task | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._send_lock = asyncio.Lock()
        self._commands: asyncio.Queue = asyncio.Queue()
        self._interval_changed = asyncio.Event()
        self._unanswered = 0
        self._buffered_sent = False
        self._reboot = False
        self._stopping = False

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def interval(self) -> float:
        """Seconds between data records: the constructor's override, else register 4 (minutes)."""
        if self._interval is not None:
            return self._interval
        minutes = L.parse_interval(self.registers.get(L.INTERVAL, b"5"))
        return 60.0 * (minutes if minutes is not None else 5.0)

    async def start(self, host: str, port: int) -> None:
        """Run in the background; returns at once (watch `connected` / `announced`)."""
        self._task = asyncio.create_task(self.run(host, port), name=f"shine-logger-{self.datalogger}")

    async def stop(self) -> None:
        """Hang up and end the background task; never raises."""
        self._stopping = True
        self._drop()
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
        if task is not None:
            with contextlib.suppress(BaseException):
                await task

    async def run(self, host: str, port: int) -> None:
        """Connect, talk, reconnect after `reconnect` s (None: return once the connection ends)."""
        self._stopping = False
        self.registers[L.SERVER_HOST] = host.encode("latin-1", "replace")
        self.registers[L.SERVER_PORT] = str(port).encode("ascii")
        with contextlib.suppress(ValueError):
            self.registers[L.SERVER_IP] = str(ipaddress.ip_address(host)).encode("ascii")
        while not self._stopping:
            try:
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(self.local_addr, 0) if self.local_addr else None)
            except OSError as exc:
                self.stats["connect_failures"] += 1
                _log.debug("datalogger %s: cannot connect to %s:%s: %s", self.datalogger, host, port, exc)
                if self.reconnect is None:
                    return
                await asyncio.sleep(self.reconnect)
                continue
            self.stats["connects"] += 1
            self._reboot = False
            try:
                await self._session(reader, writer)
            except OSError as exc:
                _log.debug("datalogger %s: connection lost: %s", self.datalogger, exc)
            if self._stopping:
                return
            if self._reboot:
                await asyncio.sleep(self.reconnect if self.reconnect is not None else REBOOT_DELAY)
                continue
            if self.reconnect is None:
                return
            await asyncio.sleep(self.reconnect)

    def _drop(self) -> None:
        writer = self._writer
        if writer is not None and not writer.is_closing():
            writer.close()

    # --- one connection ------------------------------------------------------------------------

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._send_lock = asyncio.Lock()
        self._commands = asyncio.Queue()
        self._unanswered = 0
        local = writer.get_extra_info("sockname")
        peer = writer.get_extra_info("peername")
        if local:
            self.registers[L.LOCAL_IP] = str(local[0]).encode("ascii")
            self.registers[L.LOCAL_PORT] = str(local[1]).encode("ascii")
        if peer and self.registers.get(L.SERVER_IP) == b"0.0.0.0":
            self.registers[L.SERVER_IP] = str(peer[0]).encode("ascii")
        self.connected.set()
        tasks: list[asyncio.Task] = []
        try:
            await self._greet()
            tasks = [asyncio.create_task(self._guard(c)) for c in
                     (self._announce_loop(), self._data_loop(), self._ping_loop(),
                      self._command_worker())]
            await self._read_loop(reader)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.connected.clear()
            self.announced.clear()
            self._writer = None
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _guard(self, coro) -> None:
        """A role that fails ends the connection (the run loop reconnects), never the program."""
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except OSError:
            self._drop()
        except Exception:  # pylint: disable=broad-except  # a bug must not kill the simulator
            _log.exception("simulated datalogger %s failed", self.datalogger)
            self._drop()

    async def _greet(self) -> None:
        """What a logger sends right after connecting: ping, announce, history, a first record."""
        await self._send_record(R.Ping(self.datalogger), "pings", LOGGER_UNIT)
        if not self.faults.no_announce:
            await self._send_announce()
        if self.buffered and not self._buffered_sent:
            self._buffered_sent = True
            for i in range(self.buffered, 0, -1):
                await self._send_data(F.BUFFERED, age=i * self.interval)
        await self._send_data(F.DATA)

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        stream = FrameStream()
        counted = 0
        while True:
            data = await reader.read(65536)
            frames = stream.feed(data) if data else []
            if not data:
                stream.finish()
            self.stats["unparsed"] += stream.rejected - counted
            counted = stream.rejected
            for frame in frames:
                self._unanswered = 0
                self._on_frame(frame)
            if not data:
                return

    def _on_frame(self, frame: F.Frame) -> None:
        try:
            rec = R.parse_from_server(frame)
        except RecordError as exc:
            self.stats["unparsed"] += 1
            _log.debug("datalogger %s ignores %s: %s", self.datalogger, frame, exc)
            return
        if isinstance(rec, R.Ack):
            self.stats["acks"] += 1
            if rec.type == F.ANNOUNCE:
                self.announced.set()
        elif isinstance(rec, R.Ping):
            self.stats["ping_echoes"] += 1
        else:
            self._commands.put_nowait((frame, rec))

    # --- sending -------------------------------------------------------------------------------

    def _next_tid(self) -> int:
        while True:
            self._tid = self._tid % 0xFFFF + 1
            # with junk in front, a tid reading as a protocol id (or ending in 00) could make a
            # receiver take the junk for a header and lose the frame: skip those
            if not self.faults.garbage or (self._tid not in F.PROTOCOLS and self._tid & 0xFF):
                return self._tid

    async def _send(self, wire: bytes) -> None:
        writer = self._writer
        if writer is None or writer.is_closing():
            raise ConnectionResetError("not connected")
        async with self._send_lock:
            writer.write(wire)
            await writer.drain()

    async def _send_record(self, record, counter: str, unit: int, *, prefix: bytes = b"",
                           counted: bool = True) -> None:
        if counted and self.max_unanswered is not None and self._unanswered >= self.max_unanswered:
            self.stats["unanswered_drops"] += 1
            self._drop()
            raise ConnectionResetError(f"{self._unanswered} records without an answer")
        await self._send(prefix + R.encode(record, self._next_tid(), self.protocol, unit))
        self._unanswered += counted
        self.stats[counter] += 1
        self.stats["records_sent"] += 1

    def _records(self, rtype: int, table: str, ts: datetime) -> list[R.InverterRecord]:
        """The table's blocks as verbatim register groups, split so no frame gets too large."""
        chunks: list[list[R.Group]] = [[]]
        size = 0
        for start, end in self.record_groups(table):
            group = R.Group(start, tuple(self.bank.get_raw(table, start, end - start + 1)))
            if chunks[-1] and size + 4 + 2 * len(group.words) > MAX_PAYLOAD:
                chunks.append([])
                size = 0
            chunks[-1].append(group)
            size += 4 + 2 * len(group.words)
        return [R.InverterRecord(rtype, self.datalogger, self.inverter, ts, tuple(c)) for c in chunks]

    def record_groups(self, table: str) -> list[tuple[int, int]]:
        """Input groups of a data record (holding groups of an announce): the family's real
        shape (SPH: 0–124 then 1000–1124; legacy: 0–44, 45–89; SPF: three 45-register groups),
        else every block of the map."""
        if self.family is None:
            return list(self.bank.map.blocks_for(table))
        _fam, data, announce = RECORD_SHAPES[self.family]
        shape = data if table == "input" else announce
        return list(shape if shape is not None else self.bank.map.blocks_for(table))

    async def _send_announce(self) -> None:
        for rec in self._records(F.ANNOUNCE, "holding", L.logger_time(self.clock_offset)):
            await self._send_record(rec, "announces", self.unit)

    async def _send_data(self, rtype: int, age: float = 0.0) -> None:
        """A data record (0x04), or a buffered one (0x50) from `age` seconds ago."""
        self.bank.tick(time.time() - age)
        ts = L.logger_time(self.clock_offset) - timedelta(seconds=age)
        counter = "data" if rtype == F.DATA else "buffered"
        for rec in self._records(rtype, "input", ts):
            await self._send_record(rec, counter, self.unit, counted=rtype == F.DATA,
                                    prefix=(JUNK if self.faults.garbage else b"")
                                    + self._cut_record())

    def _cut_record(self) -> bytes:
        """The "truncated" fault: the first two thirds of a data record, its header intact."""
        if not self.faults.truncated:
            return b""
        rec = self._records(F.DATA, "input", L.logger_time(self.clock_offset))[0]
        wire = R.encode(rec, self._next_tid(), self.protocol, self.unit)
        return wire[:len(wire) * 2 // 3]

    # --- periodic roles ------------------------------------------------------------------------

    async def _announce_loop(self) -> None:
        if self.faults.no_announce:
            return
        while not self.announced.is_set():
            try:
                await asyncio.wait_for(self.announced.wait(), self.announce_retry)
            except asyncio.TimeoutError:
                await self._send_announce()

    async def _data_loop(self) -> None:
        while True:
            self._interval_changed.clear()
            try:
                await asyncio.wait_for(self._interval_changed.wait(), self.interval)
            except asyncio.TimeoutError:
                await self._send_data(F.DATA)

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(self.ping_every)
            await self._send_record(R.Ping(self.datalogger), "pings", LOGGER_UNIT)

    # --- commands ------------------------------------------------------------------------------

    async def _command_worker(self) -> None:
        """Commands are answered one at a time, in order, as a logger's single CPU would."""
        while True:
            frame, rec = await self._commands.get()
            inverter_command = not isinstance(rec, (R.ReadLogger, R.WriteLogger))
            if (self.faults.silent or rec.datalogger != self.datalogger
                    or (inverter_command and frame.unit != self.unit)):
                self.stats["ignored"] += 1
                continue
            if self.faults.delay > 0:
                await asyncio.sleep(self.faults.delay)
            unit = self.unit if inverter_command else LOGGER_UNIT
            replies = self._answer(rec)
            await self._send(self._cut_record()
                             + b"".join(R.encode(r, frame.tid, frame.protocol, unit) for r in replies))
            self.stats["commands"] += 1
            if self._reboot:
                self.stats["reboots"] += 1
                self._drop()
                return

    def _answer(self, rec) -> list:
        me = self.datalogger
        nack = self.faults.nack
        if isinstance(rec, R.ReadLogger):
            regs = [r for r in sorted(self.registers) if rec.first <= r <= rec.last]
            if not regs:            # nothing known there: one empty value, not a timeout
                return [R.LoggerValue(me, rec.first, b"")]
            return [R.LoggerValue(me, r, self.registers[r]) for r in regs]
        if isinstance(rec, R.WriteLogger):
            self.stats["logger_writes"] += 1
            status = L.NACK if nack else self._write_logger(rec.register, rec.value)
            return [R.LoggerWriteReply(me, rec.register, status)]
        if isinstance(rec, R.ReadHolding):
            count = rec.last - rec.first + 1
            words = self.bank.read("holding", rec.first, count) if count > 0 else L.NACK
            values = () if isinstance(words, int) else tuple(words)
            return [R.HoldingValues(me, rec.first, rec.last, values)]
        if isinstance(rec, R.WriteHolding):
            result = L.NACK if nack else self.bank.write(rec.register, [rec.value]) or 0
            value = self.bank.get_raw("holding", rec.register, 1)[0]
            return [R.HoldingWriteReply(me, rec.register, result, value)]
        if isinstance(rec, R.WriteMultiple):
            status = L.NACK if nack else self.bank.write(rec.first, list(rec.values)) or 0
            return [R.MultipleWriteReply(me, rec.first, rec.last, status)]
        raise RecordError(f"no answer for {type(rec).__name__}")

    def _write_logger(self, reg: int, value: bytes) -> int:
        """Validate and store a 0x18 write the way the logger would; ACK (0) or NACK (3)."""
        if reg == L.INTERVAL:
            if L.parse_interval(value) is None:
                return L.NACK
            self._interval = None                      # the server's setting wins from now on
            self._interval_changed.set()
            value = value.strip()
        elif reg == L.DATE_TIME:
            when = L.parse_clock(value)
            if when is None:
                return L.NACK
            arrival = time.time()
            self.clock_offset = (when - datetime.fromtimestamp(arrival)).total_seconds()
            self.clock_sets.append((arrival, when))
            return L.ACK
        elif reg == L.REBOOT:
            reboot = L.parse_reboot(value)
            if reboot is None:
                return L.NACK
            self._reboot = reboot
            return L.ACK
        elif reg == L.SERVER_PORT:
            if L.parse_port(value) is None:
                return L.NACK
        elif reg not in L.TEXT_WRITABLE:
            return L.NACK
        self.registers[reg] = bytes(value)
        return L.ACK
