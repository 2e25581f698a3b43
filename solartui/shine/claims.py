"""Who may speak for a datalogger serial: one live connection, and only after the last is gone.

Why: the audit took over a connected datalogger with one ping from another socket — its entry,
its inverters and the next PUT went to the impostor, which answered "verified". Now a serial held
by a live connection is never taken by another: the other's frames for it are ignored (no echo,
no ack), counted and logged (rate-limited), and the holder gets a liveness check (a 0x19 read of
its clock register). A holder that answers keeps the serial; one that does not answer within the
datalogger timeout is closed — a rebooted datalogger's half-open socket, which is what a real
move looks like — and the next frame from the new connection registers it, logged as a move
(another IP address) or a reconnect, and shown in the pane. Writes planned on the old connection
are then refused by the relay link (links/shine_relay.py), which pins the connection it was
planned on. `serve --allow` limits which serials may register and which networks may connect.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict

from solartui.errors import LinkError, NotSent, SolartuiError
from solartui.shine import frame as F
from solartui.shine import records as R
from solartui.shine.bounded import BoundedStore
from solartui.shine.connection import Connection
from solartui.shine.registry import InverterState, LoggerState

log = logging.getLogger("solartui.shine")

PROBE_REGISTER = 31          # the datalogger clock: every datalogger answers a read of it
LAST_ADDRESSES = 4096        # serials whose last address is remembered (to tell a move)


class ShineClaims:
    """Mixed into ShineServer (loggers, limits, budget, counters, ratelog, _spawn, _notify)."""

    def _init_claims(self) -> None:
        self._last_address: OrderedDict[str, str] = OrderedDict()

    def _refuse(self, conn: Connection, kind: str, counter: str, msg: str, *args) -> None:
        self.counters[counter] += 1
        conn.refused_serials += 1
        self.ratelog.warning(kind, msg, *args)

    def _claim(self, conn: Connection, serial: str, protocol: int) -> LoggerState | None:
        """The entry of `serial` for a frame on `conn`, or None: the frame is ignored."""
        state = self.loggers.get(serial)
        if state is not None and state.connection is conn:
            state.last_seen = time.time()
            return state
        if not self.limits.allow.serial(serial):
            self._refuse(conn, "not-allowed", "serials_not_allowed",
                         "%s: datalogger %r is not in --allow: ignored", conn.address, serial)
            return None
        if serial not in conn.serials and len(conn.serials) >= self.limits.serials_per_connection:
            self._refuse(conn, "serials-per-connection", "serials_refused",
                         "%s: datalogger %r would be serial %d on one connection (limit %d): "
                         "ignored", conn.address, serial, len(conn.serials) + 1,
                         self.limits.serials_per_connection)
            return None
        if state is not None and not state.connection.closed:
            self._refuse(conn, "claim-refused", "claims_refused",
                         "%s: claims datalogger %s, which is live on %s: ignored (it keeps the "
                         "serial while it answers)", conn.address, serial, state.connection.address)
            self._probe(state, conn)
            return None
        if state is None and len(self.loggers) >= self.limits.dataloggers:
            self._refuse(conn, "dataloggers", "dataloggers_refused",
                         "%s: datalogger %r refused: %d dataloggers known (limit)",
                         conn.address, serial, len(self.loggers))
            return None
        if state is not None:              # its old connection closed; _drop has not run yet
            self._forget(state)
        return self._register(conn, serial, protocol)

    def _register(self, conn: Connection, serial: str, protocol: int) -> LoggerState:
        state = LoggerState(serial, conn.ip, conn.port, protocol, connection=conn)
        state.registers = BoundedStore(self.budget, self.limits.registers_per_datalogger,
                                       self.limits.register_bytes_per_datalogger)
        before = self._last_address.pop(serial, None)
        self._last_address[serial] = conn.address
        while len(self._last_address) > LAST_ADDRESSES:
            self._last_address.popitem(last=False)
        if before is not None and before != conn.address:
            state.previous, state.changed_at = before, time.time()
            state.moved = before.rsplit(":", 1)[0] != conn.ip
        self.loggers[serial] = state
        conn.serials.add(serial)
        if state.moved:
            log.warning("datalogger %s moved from %s to %s (protocol %02d)", serial,
                        state.previous, conn.address, protocol)
        else:
            self.ratelog.info("datalogger", "datalogger %s (protocol %02d) at %s", serial,
                              protocol, conn.address, burst=20)
        self._notify("logger", serial)
        return state

    def _forget(self, state: LoggerState) -> None:
        if self.loggers.get(state.serial) is state:
            del self.loggers[state.serial]
        state.release()

    def _probe(self, state: LoggerState, claimant: Connection) -> None:
        """Ask the holder of a claimed serial whether it is still there (at most every
        `limits.probe_every` s); close it if it does not answer."""
        now = time.monotonic()
        if state.probed_at is not None and now - state.probed_at < self.limits.probe_every:
            return
        state.probed_at = now
        self._spawn(self._check_holder(state, claimant.address))

    async def _check_holder(self, state: LoggerState, claimant: str) -> None:
        holder = state.connection
        try:
            await self._command(
                state, lambda: R.ReadLogger(state.serial, PROBE_REGISTER, PROBE_REGISTER),
                what=f"liveness check ({claimant} claims this serial)", expect=F.READ_LOGGER,
                match=lambda r: r.register == PROBE_REGISTER, timeout=self.logger_timeout)
        except asyncio.CancelledError:
            raise
        except NotSent:                    # its queue is full: it is busy, not gone
            state.probed_at = None
            return
        except (LinkError, SolartuiError) as exc:
            if holder.closed:
                return
            log.warning("datalogger %s did not answer on %s (%s) while %s claims it: closing "
                        "that connection", state.serial, holder.address, exc, claimant)
            self.counters["holders_closed"] += 1
            holder.abort()
            return
        self.counters["holders_answered"] += 1

    def _learn_inverter(self, logger: LoggerState, serial: str, unit: int) -> InverterState | None:
        if not serial or not serial.isprintable():
            return None
        inv = logger.inverters.get(serial)
        if inv is None:
            if len(logger.inverters) >= self.limits.inverters_per_datalogger:
                self.counters["inverters_refused"] += 1
                self.ratelog.warning("inverters", "datalogger %s: inverter %r refused: %d "
                                     "inverters behind it (limit)", logger.serial, serial,
                                     len(logger.inverters))
                return None
            inv = logger.inverters[serial] = InverterState(serial, unit)
            inv.holding = BoundedStore(self.budget, self.limits.words_per_inverter)
            inv.input_words = BoundedStore(self.budget, self.limits.words_per_inverter)
            self.ratelog.info("inverter", "inverter %s (unit %02x) behind datalogger %s",
                              serial, unit, logger.serial, burst=20)
        inv.unit = unit
        inv.last_seen = time.time()
        return inv
