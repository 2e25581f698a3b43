"""The Solarman V5 link: Modbus RTU frames in the V5 envelope on one TCP socket to a logger
(LSW-3 and relatives, port 8899; protocols/solarman-v5.md).

Shaped like the GivEnergy link, for the same reasons: the logger may push heartbeats and other
frames on the socket at any time, so a reader task runs for the life of the socket, cuts the
stream (V5Stream, which resyncs on garbage), answers logger-initiated frames at once, and hands
the pending request the response carrying its sequence byte (§3); everything else is counted
and dropped. One request is in flight at a time — the LinkScheduler guarantees it and keeps the
pacing (0.5 s between requests by default, §7). A socket the logger closed (it does after its
idle timeout, §8) is reopened by the next request, and a read interrupted by the drop is sent
once more on the new socket; a write is not re-sent blind (the gate reads it back). A socket on
which SILENT_DROP requests in a row went unanswered is closed too (a logger that rebooted or
lost Wi-Fi sends no FIN), so the next request starts afresh.

Failures are told apart, one line each: silence (NoAnswer), the logger's "no data" because the
inverter did not reply (LoggerNoReply), "not my serial" (LoggerSerialMismatch, naming the real
one), a reply that fails its Modbus CRC (SolarmanBadReply), a refused or lost socket
(ConnectionFailed). SolarmanLink offers ModbusLink's interface, so RegisterDevice, the write gate,
logging and the report run on it unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Callable

from solartui.errors import ConnectionFailed, DeviceException, LinkError, NoAnswer, ValueRejected
from solartui.links import solarman_frame as F
from solartui.links.scheduler import PRIORITY_READ, PRIORITY_WRITE, LinkFront, LinkScheduler
from solartui.links.solarman_errors import (
    LoggerError, LoggerNoReply, LoggerSerialMismatch, SolarmanBadReply, SolarmanFrameError,
)
from solartui.links.solarman_stream import V5Stream
from solartui.links.target import Target, url_host
from solartui.registers.model import LinkSpec
from solartui.registers.write_rules import check_read_count, check_write_count

DEFAULT_PORT = 8899
DEFAULT_PERIOD_MS = 500         # §7: ha-solarman keeps >= 0.1 s; the notes suggest 0.5 s
CONNECT_TIMEOUT = 3.0
BACKOFF_FIRST, BACKOFF_MAX = 0.2, 30.0       # §7: reconnects >= 0.2 s apart
NO_REPLY = 0x05                 # the "no data" tail: the inverter did not reply (§5)
SILENT_DROP = 3                 # unanswered requests in a row before the socket is reopened


class _Dropped(ConnectionFailed):
    """The socket died while a request was out: a read is worth sending once more."""


class SolarmanTransport:
    """The socket, its reader task and the one request waiting for its reply."""

    def __init__(self, host: str, port: int, serial: int, *,
                 connect_timeout: float = CONNECT_TIMEOUT):
        self.host, self.port, self.serial = host, port, serial
        self.description = f"solarman://{url_host(host)}:{port}?serial={serial}"
        self.connect_timeout = connect_timeout
        self._sink: Callable[[str, bytes], None] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task | None = None
        self._waiting: tuple[int, asyncio.Future] | None = None     # (seq, future)
        self._seq = random.randint(1, 254)          # §3: a random start, +1 per request
        self._failures = 0
        self._retry_at = 0.0
        self._silent = 0                # requests unanswered in a row on this socket
        self.stream = V5Stream()
        self.connects = 0               # sockets opened
        self.heartbeats = 0             # logger-initiated frames answered
        self.seen: Counter = Counter()  # frames dropped, by why: stale-seq, foreign, ...
        self.bad_crc = 0                # replies whose inner Modbus CRC failed

    @property
    def where(self) -> str:
        return f"{url_host(self.host)}:{self.port}"

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    def set_frame_sink(self, sink: Callable[[str, bytes], None] | None) -> None:
        self._sink = sink

    def _trace(self, direction: str, data: bytes) -> None:
        if self._sink is not None and data:
            self._sink(direction, data)

    # --- the socket ----------------------------------------------------------------------------

    async def connect(self) -> None:
        if self.connected:
            return
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            raise ConnectionFailed(f"cannot connect to {self.where}: retrying in {wait:.1f} s "
                                   f"after {self._failures} failed attempt(s)")
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.connect_timeout)
        except asyncio.TimeoutError:
            self._failed(f"no answer within {self.connect_timeout:.0f} s")
        except ConnectionRefusedError:
            self._failed("connection refused (is port 8899 open on the logger?)")
        except OSError as exc:
            self._failed(exc.strerror or str(exc))
        self._failures, self._retry_at = 0, 0.0
        self.connects += 1
        self.stream.reset()
        self._writer = writer
        self._reader_task = asyncio.get_running_loop().create_task(
            self._read_loop(reader, writer), name=f"solarman-reader {self.where}")

    def _failed(self, reason: str):
        self._failures += 1
        delay = min(BACKOFF_FIRST * 2 ** (self._failures - 1), BACKOFF_MAX)
        self._retry_at = time.monotonic() + delay
        raise ConnectionFailed(f"cannot connect to {self.where}: {reason}") from None

    async def _read_loop(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        reason = "closed by the logger"
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    break
                self._trace("rx", data)
                for frame in self.stream.feed(data):
                    self._dispatch(frame, writer)
        except (ConnectionError, OSError) as exc:
            reason = exc.strerror or type(exc).__name__
        finally:
            if self._writer is writer:
                self._lost(reason)

    def _dispatch(self, frame: F.V5Frame, writer: asyncio.StreamWriter) -> None:
        if frame.control in F.LOGGER_CODES:
            # answered at once, from here, as both maintained libraries do (§4)
            reply = F.heartbeat_reply(frame, int(time.time()))
            if not writer.is_closing():
                writer.write(reply)
                self._trace("tx", reply)
                self.heartbeats += 1
            return
        waiting = self._waiting
        if not frame.is_response:
            self.seen["other"] += 1
        elif waiting is None or frame.seq != waiting[0]:
            self.seen["stale-seq"] += 1     # an earlier request's late reply, another client's
        elif not waiting[1].done():
            waiting[1].set_result(frame)

    def _lost(self, reason: str) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
        if self._waiting is not None and not self._waiting[1].done():
            self._waiting[1].set_exception(
                _Dropped(f"{self.where}: connection lost ({reason})"))

    async def close(self) -> None:
        task, self._reader_task = self._reader_task, None
        self._lost("closed")
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # --- one exchange --------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq = self._seq % 255 + 1             # 1..255; the logger echoes it
        return self._seq

    async def exchange(self, rtu: bytes, timeout: float, what: str) -> F.RtuReply:
        """Send one RTU request in a V5 frame; return the inverter's RTU reply (an exception
        reply raises DeviceException)."""
        await self.connect()
        seq = self._next_seq()
        data = F.request_frame(self.serial, seq, rtu)
        fut = asyncio.get_running_loop().create_future()
        self._waiting = (seq, fut)
        rejected = self.stream.rejected
        try:
            assert self._writer is not None
            self._writer.write(data)
            self._trace("tx", data)
            frame = await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            self._silent += 1
            if self._silent >= SILENT_DROP:         # a logger gone without a FIN: start afresh
                self._silent = 0
                await self.close()
            bad = self.stream.rejected - rejected
            if bad:
                reason, data = self.stream.rejections[-bad if bad <= len(self.stream.rejections) else 0]
                raise NoAnswer(f"no valid reply from the logger at {self.where} to {what} "
                               f"within {timeout * 1000:.0f} ms: {bad} corrupt frame(s) arrived "
                               f"({reason}: {data[:16].hex(' ')})") from None
            raise NoAnswer(f"no reply from the logger at {self.where} to {what} within "
                           f"{timeout * 1000:.0f} ms (a logger stays silent when serial= is "
                           "not its own)") from None
        except (ConnectionError, OSError) as exc:
            self._lost(exc.strerror or type(exc).__name__)
            raise _Dropped(f"{self.where}: connection lost while sending") from None
        finally:
            if self._waiting is not None and self._waiting[1] is fut:
                self._waiting = None
        self._silent = 0
        return self._answer(frame, rtu, what)

    def _answer(self, frame: F.V5Frame, rtu: bytes, what: str) -> F.RtuReply:
        try:
            resp = F.parse_response(frame)
        except SolarmanFrameError as exc:
            raise SolarmanBadReply(f"{what}: {exc}") from None
        unit = rtu[0]
        if resp.no_data:
            code = resp.rtu[0] if resp.rtu else None
            if frame.serial != self.serial:         # 06 00, with the logger's real serial
                raise LoggerSerialMismatch(self.where, self.serial, frame.serial)
            if code == NO_REPLY:
                raise LoggerNoReply(self.where, self.serial, unit, what)
            raise LoggerError(self.where, resp.rtu, what)
        if frame.serial != self.serial:
            self.seen["foreign"] += 1
            raise SolarmanBadReply(f"{what}: the reply names logger {frame.serial}, "
                                   f"not {self.serial}")
        try:
            reply = F.parse_rtu_reply(resp.rtu)
        except SolarmanFrameError as exc:
            self.bad_crc += 1
            raise SolarmanBadReply(f"{what}: {exc}") from None
        if reply.unit != unit or reply.function != rtu[1]:
            raise SolarmanBadReply(f"{what}: the reply is from unit {reply.unit} "
                                   f"FC{reply.function:02d}")
        if reply.exception is not None:
            raise DeviceException(reply.function, reply.exception)
        return reply

    async def read(self, function: int, unit: int, address: int, count: int,
                   timeout: float) -> list[int]:
        what = f"FC{function:02d} unit {unit} {address}+{count}"
        rtu = F.rtu_read(unit, function, address, count)
        try:
            reply = await self.exchange(rtu, timeout, what)
        except _Dropped:
            reply = await self.exchange(rtu, timeout, what)      # the socket died: once more
        if len(reply.words) != count:
            raise SolarmanBadReply(f"{what}: reply carried {len(reply.words)} registers")
        return list(reply.words)

    async def write(self, function: int, unit: int, address: int, words: list[int],
                    timeout: float) -> None:
        what = f"FC{function:02d} unit {unit} {address}={words}"
        if function == 6 and len(words) != 1:
            raise LinkError("FC06 writes exactly one register")
        try:
            reply = await self.exchange(F.rtu_write(unit, function, address, words), timeout,
                                        what)
        except LoggerNoReply as exc:
            # not a refusal: the inverter may have taken the write and its reply been lost
            raise NoAnswer(str(exc)) from None
        expect = (address, words[0] if function == 6 else len(words))
        if tuple(reply.words) != expect:
            raise SolarmanBadReply(f"{what}: the inverter echoed {reply.words}")


def _check_unit_and_span(unit: int, address: int, count: int) -> None:
    """What an RTU frame can carry; refused before anything is queued or sent."""
    if not 0 <= unit <= 255:
        raise ValueRejected(f"unit {unit} is outside 0-255")
    if count < 1 or address < 0 or address + count > 0x10000:
        raise ValueRejected(f"cannot address {count} registers at {address}")


class SolarmanLink(LinkFront):
    """ModbusLink's interface over a Solarman V5 logger."""

    def __init__(self, target: Target, spec: LinkSpec):
        if target.serial is None:
            raise LinkError("a solarman:// target needs serial=LOGGER_SERIAL")
        self.target = target
        period_ms, timeout_ms = target.pacing_ms(max(spec.min_period_ms or 0, DEFAULT_PERIOD_MS),
                                                 spec.timeout_ms)
        self.timeout = timeout_ms / 1000
        self.transport = SolarmanTransport(target.host, target.port, target.serial)
        self.scheduler = LinkScheduler(self.transport, period_ms / 1000, self.timeout)
        self.scheduler.rx_is_reply = False      # heartbeats arrive between replies

    async def read(self, function: int, unit: int, address: int, count: int,
                   priority: int = PRIORITY_READ) -> list[int]:
        if function not in (3, 4):
            raise LinkError(f"function {function} is not a register read")
        check_read_count(count)
        _check_unit_and_span(unit, address, count)
        return await self.scheduler.submit(
            lambda t: t.read(function, unit, address, count, self.timeout), priority)

    async def write(self, function: int, unit: int, address: int, words: list[int],
                    priority: int = PRIORITY_WRITE, build=None) -> None:
        if function not in (6, 16):
            raise LinkError(f"function {function} is not a register write")
        if function == 16:
            check_write_count(len(words))
        _check_unit_and_span(unit, address, len(words))
        if any(not isinstance(w, int) or not 0 <= w <= 0xFFFF for w in words):
            raise ValueRejected("register values must be whole numbers 0-65535")

        async def run(t):
            sent = list(await build()) if build is not None else list(words)
            await t.write(function, unit, address, sent, self.timeout)
        await self.scheduler.submit(run, priority)
