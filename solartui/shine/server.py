"""The embedded Growatt server: dataloggers connect here instead of to the Growatt cloud.

asyncio throughout: one reader task per connection, no threads, no polling loops. The server acks
records, echoes pings, learns dataloggers from any frame and inverters from announces *and* data
records (so a restart loses nothing), decodes data records through the Growatt map, syncs the
datalogger clock (local time of a named IANA zone) on announce and on demand, and offers commands
that are paced per datalogger by a link scheduler and answered only by the datalogger they went to.
A serial belongs to one live connection (claims.py); everything a peer can make it hold is capped
by ServerLimits (limits.py), and what peers can make it log is rate-limited (ratelog.py).

One misbehaving client must not take the event loop from the others (issue 17): how a connection
is admitted, read and dropped under the limits is admission.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from datetime import timedelta
from typing import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from solartui.errors import (RecordError,
                             ShineError, SolartuiError, UnknownDevice)
from solartui.registers import catalog
from solartui.registers.model import DeviceMap
from solartui.shine import frame as F
from solartui.shine import records as R
from solartui.shine import layouts
from solartui.ratelog import RateLimitedLog
from solartui.shine.accept_guard import AcceptGuard
from solartui.shine.bounded import Budget
from solartui.shine.claims import ShineClaims
from solartui.shine.admission import ShineConnections
from solartui.shine.cooldown import GarbageCooldown
from solartui.shine.commands import ShineCommands
from solartui.shine.connection import Connection
from solartui.shine.limits import ServerLimits, raise_fd_limit
from solartui.shine.registry import CommandEntry, InverterState, LoggerState
from solartui.shine.values import identity_from_groups, record_values

log = logging.getLogger("solartui.shine")

REPLY_TYPES = frozenset({F.READ_LOGGER, F.WRITE_LOGGER, F.READ_HOLDING, F.WRITE_HOLDING,
                         F.WRITE_MULTIPLE})

DEFAULT_PORT = 5781
# counters of what the identity rules and the limits refused or dropped: summed up in the log
# at every housekeeping round and at stop (one line, only when one of them moved)
DROP_COUNTERS = ("claims_refused", "serials_refused", "serials_not_allowed", "dataloggers_refused",
                 "inverters_refused", "addresses_refused", "connections_refused", "overflowed",
                 "commands_refused", "address_cap_refused", "garbage_closed",
                 "garbage_cooldown_refused", "first_frame_timeouts", "throttled", "http_refused",
                 "http_slow_closed")


def load_zone(name: str | None):
    """ZoneInfo for an IANA name; None means the host's local zone."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SolartuiError(f"unknown time zone '{name}' (use an IANA name such as Europe/Amsterdam)") from None


class ShineServer(ShineConnections, ShineClaims, ShineCommands):
    def __init__(self, device_map: DeviceMap | None = None, *, tz: str | None = None,
                 logger_timeout: float = 5.0, inverter_timeout: float = 10.0,
                 command_gap: float = 0.85, idle_timeout: float = 600.0,
                 housekeeping_every: float = 30.0, sync_on_announce: bool = True,
                 resync_every: float = 24 * 3600, journal=None,
                 limits: ServerLimits | None = None):
        self.map = device_map or catalog.resolve("growatt-protocol-ii")
        self.zone = load_zone(tz)
        self.logger_timeout = logger_timeout
        self.inverter_timeout = inverter_timeout
        self.command_gap = command_gap
        self.idle_timeout = idle_timeout
        self.housekeeping_every = housekeeping_every
        self.sync_on_announce = sync_on_announce
        self.resync_every = resync_every
        self.journal = journal
        self.limits = limits or ServerLimits()
        self.budget = Budget(self.limits.total_bytes)
        self.ratelog = RateLimitedLog(log, self.limits.log_interval)
        self.max_connections = self.limits.connection_cap()
        self._init_claims()
        self.loggers: dict[str, LoggerState] = {}
        self.commands: deque[CommandEntry] = deque(maxlen=500)
        self.counters = {"connections": 0, "frames": 0, "records": 0, "rejected": 0,
                         "acks": 0, "pings": 0, "stray_replies": 0, "late_replies": 0,
                         # what the limits and the identity rules refused or dropped
                         "claims_refused": 0, "holders_closed": 0, "holders_answered": 0,
                         "serials_refused": 0, "serials_not_allowed": 0, "dataloggers_refused": 0,
                         "inverters_refused": 0, "addresses_refused": 0,
                         "connections_refused": 0, "overflowed": 0, "commands_refused": 0,
                         # issue 17: connection limits
                         "address_cap_refused": 0, "garbage_closed": 0, "garbage_cooldown_refused": 0,
                         "first_frame_timeouts": 0, "throttled": 0, "http_refused": 0,
                         "http_slow_closed": 0}
        self.host: str | None = None
        self.port: int | None = None
        self._server: asyncio.AbstractServer | None = None
        self._conns: set[Connection] = set()
        self._per_address: dict[str, int] = {}    # open connections by source address
        self.cooldown = GarbageCooldown(self.limits.garbage_cooldown)
        self._drops_logged: dict[str, int] = {}   # DROP_COUNTERS at the last summary line
        self._tasks: set[asyncio.Task] = set()
        self._housekeeper: asyncio.Task | None = None
        self._listeners: list[Callable[[str, str | None], None]] = []
        # `fn(logger, inverter, values)` for every decoded data record, after its ack (the MQTT
        # bridge): a listener must only enqueue, never wait, and a failing one is logged
        self.record_listeners: list[Callable[[LoggerState, InverterState, object], None]] = []
        self._accept_guard: AcceptGuard | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self, host: str = "0.0.0.0", port: int = DEFAULT_PORT) -> int:
        if self.limits.connections is None:
            raise_fd_limit()
            self.max_connections = self.limits.connection_cap()
        self._accept_guard = AcceptGuard(asyncio.get_running_loop(), self.ratelog)
        try:
            self._server = await asyncio.start_server(self._serve, host, port, backlog=1024)
        except OSError as exc:
            self._accept_guard.remove()
            raise ShineError(f"cannot listen for dataloggers on {host}:{port}: "
                             f"{exc.strerror or exc}") from None
        self.host = host
        self.port = self._server.sockets[0].getsockname()[1]
        self._housekeeper = asyncio.get_running_loop().create_task(self._housekeeping(),
                                                                   name="shine-housekeeping")
        log.info("listening for dataloggers on %s:%d; clock sync sends %s", host, self.port,
                 self.zone_description())
        self._notify("server", None)
        return self.port

    def stop_accepting(self) -> None:
        """Close the listening socket; connections already open carry on (shutdown's first step,
        so a write on its way can still hear its reply)."""
        if self._server is not None:
            self._server.close()

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for conn in list(self._conns):
            conn.abort()
        for task in [self._housekeeper, *self._tasks]:
            if task is not None:
                task.cancel()
        for task in [self._housekeeper, *self._tasks]:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)
        self._server = None
        self._housekeeper = None
        for state in self.loggers.values():
            state.release()
        self.loggers.clear()
        self.ratelog.flush()
        self.log_drops()
        if self._accept_guard is not None:
            self._accept_guard.remove()
            self._accept_guard = None
        self._notify("server", None)

    def subscribe(self, listener: Callable[[str, str | None], None]) -> None:
        """`listener(kind, datalogger)` after every change: kind is server, logger, record, command."""
        self._listeners.append(listener)

    def unsubscribe(self, listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _notify(self, kind: str, serial: str | None) -> None:
        for listener in list(self._listeners):
            try:
                listener(kind, serial)
            except Exception:  # a broken listener must not break the server
                log.exception("server listener failed")

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- what dataloggers send -----------------------------------------------------------------

    def _handle(self, conn: Connection, frame: F.Frame) -> None:
        try:
            record = R.parse_from_logger(frame)
        except RecordError as exc:
            conn.record_errors += 1
            self.counters["rejected"] += 1
            self.ratelog.warning("record-error", "%s:%d: rejected %s: %s", conn.ip, conn.port,
                                 frame, exc)
            return
        conn.protocol = frame.protocol
        t = frame.type
        if t in REPLY_TYPES:
            # a reply never claims a serial: only the connection that owns it can answer for it
            owner = self.loggers.get(record.datalogger)
            late = conn.late_replies
            if owner is None or owner.connection is not conn or not conn.resolve(record, frame.tid):
                if conn.late_replies > late:
                    self.counters["late_replies"] += 1
                    self.ratelog.warning("late-reply", "%s:%d: late reply discarded (its request "
                                         "had ended): %s (%s)", conn.ip, conn.port, frame,
                                         record.datalogger)
                    return
                self.counters["stray_replies"] += 1
                self.ratelog.info("stray-reply", "%s:%d: reply nobody here asked for: %s (%s)",
                                  conn.ip, conn.port, frame, record.datalogger)
                return
            owner.last_seen = time.time()
            if isinstance(record, R.LoggerValue):
                owner.registers[record.register] = record.value
            return
        logger = self._claim(conn, record.datalogger, frame.protocol)
        if logger is None:                 # not this connection's to speak for: ignored
            return
        logger.last_seen = time.time()
        if t == F.PING:
            self.counters["pings"] += 1
            conn.send_frame(frame)                    # echo, unchanged
        elif t in (F.ANNOUNCE, F.DATA, F.BUFFERED):
            self._on_inverter_record(conn, logger, frame, record)
        elif t in (F.METER_LOG, F.METER_DATA):
            self._learn_inverter(logger, record.inverter, frame.unit)
            self._ack(conn, frame)
        elif t == F.PARAM_DUMP:
            logger.registers.update(record.params)   # grottserver sends no reply; neither do we
            self._notify("logger", logger.serial)

    def _ack(self, conn: Connection, frame: F.Frame) -> None:
        self.counters["acks"] += 1
        conn.send_frame(F.Frame(frame.tid, frame.protocol, frame.unit, frame.type, b"\0"))

    def _on_inverter_record(self, conn: Connection, logger: LoggerState, frame: F.Frame,
                            record: R.InverterRecord) -> None:
        self._ack(conn, frame)
        inv = self._learn_inverter(logger, record.inverter, frame.unit)
        if frame.type == F.ANNOUNCE:
            if inv is not None:
                inv.announced = True
                inv.announced_family = layouts.from_announce(record.groups)
                inv.identity = identity_from_groups(layouts.announce_map(inv.announced_family,
                                                                         self.map), record.groups)
                for g in record.groups:
                    for i, w in enumerate(g.words):
                        inv.holding[g.start + i] = w
            if self.sync_on_announce:
                self._spawn(self._sync_quietly(logger.serial, "announce"))
            self._notify("logger", logger.serial)
            return
        self.counters["records"] += 1
        logger.records += 1
        if inv is None:
            return
        inv.records += 1
        layout = layouts.choose(record.groups, inv.announced_family, self.map)
        if not layout.known and inv.layout_text != layout.text:
            log.warning("inverter %s: %s; its values are not decoded", inv.serial, layout.text)
        inv.layout_text = layout.text
        values = record_values(layout.device_map, record)
        values.layout = layout.text
        if record.buffered:
            inv.buffered += 1
        if not record.buffered:
            for g in record.groups:
                for i, w in enumerate(g.words):
                    inv.input_words[g.start + i] = w
            inv.input_at = time.time()
        cur = inv.latest
        if (not record.buffered or cur is None
                or (values.timestamp and cur.timestamp and values.timestamp > cur.timestamp)):
            inv.latest = values
        for listener in list(self.record_listeners):
            try:
                listener(logger, inv, values)
            except Exception as exc:  # a broken sink must not break acking
                self.ratelog.warning("record-listener", "record listener failed: %s: %s",
                                     type(exc).__name__, exc)
        self._notify("record", logger.serial)

    # --- lookups -------------------------------------------------------------------------------

    def find_logger(self, serial: str) -> LoggerState:
        state = self.loggers.get(serial)
        if state is None:
            raise UnknownDevice(f"no datalogger {serial!r} is connected")
        return state

    def find_inverter(self, serial: str) -> tuple[LoggerState, InverterState]:
        for logger in self.loggers.values():
            inv = logger.inverters.get(serial)
            if inv is not None:
                return logger, inv
        raise UnknownDevice(f"no inverter {serial!r} behind a connected datalogger")

    def inverter_device(self, serial: str, journal=None):
        """The inverter behind a datalogger as a register device: the Growatt map over a relay
        link, identified from its announce. Every write to it goes through the write gate."""
        from solartui.devices.readings import Identity
        from solartui.devices.register_device import RegisterDevice
        from solartui.links.shine_relay import ShineRelayLink
        _logger, inv = self.find_inverter(serial)
        m = layouts.announce_map(inv.announced_family, self.map)
        device = RegisterDevice(m, ShineRelayLink(self, serial), inv.unit,
                                journal if journal is not None else self.journal)
        values = {**{k: v for k, v in inv.identity.items() if v is not None}, "serial": serial}
        device.identity = Identity(m.id, values, {})
        return device

    def queue_full(self, inverter: str) -> bool:
        """The command queue of the datalogger behind `inverter` holds its limit already."""
        try:
            logger, _inv = self.find_inverter(inverter)
        except UnknownDevice:
            return False
        conn = logger.connection
        sched = conn.scheduler if conn is not None else None
        return (sched is not None and sched.max_queue is not None
                and sched.pending >= sched.max_queue)

    def registry_json(self) -> dict:
        return {serial: state.grott_json() for serial, state in self.loggers.items()}

    # --- housekeeping --------------------------------------------------------------------------

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(self.housekeeping_every)
            self.housekeep()

    def log_drops(self) -> None:
        """One line with what was refused or dropped since the last such line (if anything)."""
        moved = [(k, self.counters[k] - self._drops_logged.get(k, 0)) for k in DROP_COUNTERS
                 if self.counters[k] > self._drops_logged.get(k, 0)]
        if moved:
            log.warning("refused or dropped since the last summary: %s",
                        ", ".join(f"{k.replace('_', ' ')} {n:,}" for k, n in moved))
            self._drops_logged = {k: self.counters[k] for k in DROP_COUNTERS}

    def housekeep(self) -> None:
        """Close idle connections; re-sync clocks daily and when the zone's UTC offset changes."""
        self.ratelog.flush()
        self.log_drops()
        now = time.monotonic()
        for conn in list(self._conns):
            if now - conn.last_seen > self.idle_timeout:
                log.info("closing %s:%d: silent for %.0f s", conn.ip, conn.port, now - conn.last_seen)
                conn.abort()
        offset = (self._now().utcoffset() or timedelta(0)).total_seconds()
        for logger in list(self.loggers.values()):
            if logger.clock_synced_at is None:
                continue
            if logger.clock_offset_sent is not None and logger.clock_offset_sent != offset:
                self._spawn(self._sync_quietly(logger.serial, "a daylight-saving change"))
            elif time.time() - logger.clock_synced_at > self.resync_every:
                self._spawn(self._sync_quietly(logger.serial, "the daily re-sync"))
