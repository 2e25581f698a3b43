"""The GivEnergy dongle link: one TCP socket to port 8899 (protocols/givenergy.md §1-6).

Why not Modbus TCP: the dongle wraps Modbus in its own envelope, sends heartbeats that must be
answered within seconds, and forwards every reply to every connected client (the cloud, the app,
Home Assistant...). So a reader task runs for the life of the socket and
  * answers each heartbeat at once, from the reader task itself, with the same type byte;
  * matches each reply to the oldest pending request of the same shape (device, function, base,
    count) / (device, 6, register) — there is no transaction id — and error frames also on
    (device, function, base) when their echoed count is 0;
  * counts and ignores everything else (other clients' replies, null frames, LAN broadcasts).
A dropped socket, or one that has been silent longer than `stale_timeout` (the dongle sends a
heartbeat at least every 180 s), is reopened by the next request, with exponential back-off
between failed attempts. Requests are still one at a time: GivEnergyLink puts them through a
LinkScheduler with >= 0.25 s between commands (0.3 s by default).

GivEnergyLink offers exactly ModbusLink's interface, so RegisterDevice runs on it unchanged; reads
are cut at the inverter's 60-register blocks and writes are single FC06 writes of registers on the
write-safe list only.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable

from solartui.errors import ConnectionFailed, LinkError, NoAnswer, ValueRejected
from solartui.givenergy import frame as F
from solartui.givenergy.errors import GivErrorReply, GivWriteMismatch
from solartui.givenergy.stream import FrameStream
from solartui.givenergy.write_safe import check_write_safe
from solartui.links.scheduler import PRIORITY_READ, PRIORITY_WRITE, LinkFront, LinkScheduler
from solartui.links.target import Target, url_host as _bracket
from solartui.registers.model import LinkSpec

DEFAULT_DEVICE = 0x11           # the inverter on every model (§4)
DEFAULT_PERIOD_MS = 300         # §6.2: >= 0.25 s between frames, "empirically load-bearing"
BLOCK = F.MAX_REGISTERS         # reads never cross a multiple of 60
CONNECT_TIMEOUT = 2.0
STALE_TIMEOUT = 400.0           # > 2 heartbeat intervals of 180 s without a byte: a dead socket
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0


def split_blocks(address: int, count: int, block: int = BLOCK) -> list[tuple[int, int]]:
    """(base, count) reads covering address..address+count-1, none crossing a block boundary."""
    out = []
    a, end = address, address + count
    while a < end:
        stop = min(end, (a // block + 1) * block)
        out.append((a, stop - a))
        a = stop
    return out


class GivEnergyTransport:
    """The socket, its reader task and the table of requests waiting for their reply."""

    def __init__(self, host: str, port: int, *, adapter_serial: str = F.DEFAULT_ADAPTER,
                 connect_timeout: float = CONNECT_TIMEOUT, stale_timeout: float = STALE_TIMEOUT):
        self.host, self.port = host, port
        self.description = f"givenergy://{_bracket(host)}:{port}"
        self.adapter_serial = adapter_serial
        self.connect_timeout = connect_timeout
        self.stale_timeout = stale_timeout
        self._sink: Callable[[str, bytes], None] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task | None = None
        self._pending: dict[tuple, list[asyncio.Future]] = {}
        self._failures = 0
        self._retry_at = 0.0
        self.stream: FrameStream | None = None
        self.last_rx = 0.0
        self.connects = 0               # sockets opened (the first one included)
        self.heartbeats = 0             # heartbeats answered
        self.dongle_serial: str | None = None
        self.seen: Counter = Counter()  # unmatched frames by kind: foreign, error, null, broadcast
        self.rejected = 0               # garbage and CRC failures over every socket so far

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

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
        if self.connected and time.monotonic() - self.last_rx > self.stale_timeout:
            await self._drop(f"nothing received for {self.stale_timeout:.0f} s")
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
            self._failed("connection refused (is port 8899 open on the dongle?)")
        except OSError as exc:
            self._failed(exc.strerror or str(exc))
        self._failures, self._retry_at = 0, 0.0
        self.connects += 1
        self.last_rx = time.monotonic()
        self.stream = FrameStream("to_client")
        self._writer = writer
        self._reader_task = asyncio.get_running_loop().create_task(
            self._read_loop(reader, writer, self.stream), name=f"givenergy-reader {self.where}")

    def _failed(self, reason: str):
        self._failures += 1
        delay = min(BACKOFF_FIRST * 2 ** (self._failures - 1), BACKOFF_MAX)
        self._retry_at = time.monotonic() + delay
        raise ConnectionFailed(f"cannot connect to {self.where}: {reason}") from None

    async def _read_loop(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         stream: FrameStream) -> None:
        reason = "closed by the dongle"
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    break
                self.last_rx = time.monotonic()
                self._trace("rx", data)
                before = stream.rejected
                for msg in stream.feed(data):
                    self._dispatch(msg, writer)
                self.rejected += stream.rejected - before
        except (ConnectionError, OSError) as exc:
            reason = exc.strerror or type(exc).__name__
        finally:
            stream.finish()
            if self._writer is writer:
                self._lost(reason)

    def _dispatch(self, msg, writer: asyncio.StreamWriter) -> None:
        if isinstance(msg, F.Heartbeat):
            # at once and from here: a reply queued behind a request could miss the deadline
            reply = F.encode(F.Heartbeat(msg.adapter_serial, msg.adapter_type))
            if not writer.is_closing():
                writer.write(reply)
                self._trace("tx", reply)
                self.heartbeats += 1
            self.dongle_serial = msg.adapter_serial
            return
        if isinstance(msg, F.NullResponse):
            self.seen["null"] += 1
            return
        if isinstance(msg, F.LanBroadcast):
            self.seen["broadcast"] += 1
            return
        if not self._resolve(msg):
            self.seen["error" if isinstance(msg, F.ErrorResponse) else "foreign"] += 1

    def _resolve(self, msg) -> bool:
        """Complete the oldest pending request this reply fits; False if none does."""
        keys = [F.match_key(msg)]
        if isinstance(msg, F.ErrorResponse) and msg.count == 0 and msg.function != F.WRITE_FUNCTION:
            keys += [k for k in self._pending if len(k) == 4 and k[:3] == keys[0][:3]]
        for key in keys:
            for fut in self._pending.get(key, ()):
                if not fut.done():
                    fut.set_result(msg)
                    return True
        return False

    def _lost(self, reason: str) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
        exc = ConnectionFailed(f"{self.where}: connection lost ({reason})")
        for futures in self._pending.values():
            for fut in futures:
                if not fut.done():
                    fut.set_exception(exc)

    async def _drop(self, reason: str) -> None:
        task = self._reader_task
        self._lost(reason)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._reader_task = None

    async def close(self) -> None:
        await self._drop("closed")

    # --- requests ------------------------------------------------------------------------------

    async def request(self, msg, timeout: float, what: str, *, retry_on_drop: bool = False):
        """Send one request and return its matched reply (a response message)."""
        try:
            return await self._request(msg, timeout, what)
        except ConnectionFailed:
            if not retry_on_drop or self.connected:
                raise
        return await self._request(msg, timeout, what)     # the socket died: once more, afresh

    async def _request(self, msg, timeout: float, what: str):
        await self.connect()
        key = F.match_key(msg)
        fut = asyncio.get_running_loop().create_future()
        waiting = self._pending.setdefault(key, [])
        waiting.append(fut)
        data = F.encode(msg)
        try:
            assert self._writer is not None
            self._writer.write(data)
            self._trace("tx", data)
            return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            if time.monotonic() - self.last_rx > self.stale_timeout:
                await self._drop("silent socket")
            raise NoAnswer(f"no answer to {what} from {self.where} within "
                           f"{timeout * 1000:.0f} ms") from None
        except (ConnectionError, OSError) as exc:
            self._lost(exc.strerror or type(exc).__name__)
            raise ConnectionFailed(f"{self.where}: connection lost while sending") from None
        finally:
            if fut in waiting:
                waiting.remove(fut)
            if not waiting and self._pending.get(key) is waiting:
                del self._pending[key]

    async def read(self, function: int, unit: int, address: int, count: int,
                   timeout: float) -> list[int]:
        what = f"FC{function:02d} @0x{unit:02x} {address}+{count}"
        reply = await self.request(F.ReadRequest(unit, function, address, count,
                                                 self.adapter_serial),
                                   timeout, what, retry_on_drop=True)
        if isinstance(reply, F.ErrorResponse):
            raise GivErrorReply(reply.device, reply.function, reply.base, reply.count)
        if len(reply.values) != count:
            raise LinkError(f"{what}: reply carried {len(reply.values)} registers")
        return list(reply.values)

    async def write_register(self, unit: int, register: int, value: int, timeout: float) -> None:
        what = f"FC06 @0x{unit:02x} HR{register} = {value}"
        reply = await self.request(F.WriteRequest(unit, register, value, self.adapter_serial),
                                   timeout, what)
        if isinstance(reply, F.ErrorResponse):
            raise GivErrorReply(reply.device, F.WRITE_FUNCTION, reply.base, reply.count)
        if reply.value != value:
            raise GivWriteMismatch(f"{what}: the inverter echoed {reply.value}")


class GivEnergyLink(LinkFront):
    """ModbusLink's interface over a GivEnergy dongle: what RegisterDevice needs, nothing else."""

    def __init__(self, target: Target, spec: LinkSpec, *, model: str = "single-phase",
                 adapter_serial: str = F.DEFAULT_ADAPTER, stale_timeout: float = STALE_TIMEOUT):
        self.target = target
        self.model = model
        check_write_safe(20, 1, model)          # an unknown model fails here, not at a write
        period_ms, timeout_ms = target.pacing_ms(spec.min_period_ms or DEFAULT_PERIOD_MS,
                                                 spec.timeout_ms)
        self.timeout = timeout_ms / 1000
        self.transport = GivEnergyTransport(target.host, target.port,
                                            adapter_serial=adapter_serial,
                                            stale_timeout=stale_timeout)
        self.scheduler = LinkScheduler(self.transport, period_ms / 1000, self.timeout)
        self.scheduler.rx_is_reply = False      # heartbeats and other clients' replies arrive

    async def read(self, function: int, unit: int | None, address: int, count: int,
                   priority: int = PRIORITY_READ) -> list[int]:
        if function not in (3, 4):
            raise LinkError(f"function {function} is not a GivEnergy register read (3 or 4)")
        if count < 1 or address < 0 or address + count > 0x10000:
            raise ValueRejected(f"cannot read {count} registers at {address}")
        device = DEFAULT_DEVICE if unit is None else unit
        words: list[int] = []
        for base, n in split_blocks(address, count):
            words += await self.scheduler.submit(
                lambda t, b=base, n=n: t.read(function, device, b, n, self.timeout), priority)
        return words

    def check_write(self, address: int, count: int = 1) -> None:
        """ValueRejected unless every register is on the write-safe list (nothing is sent)."""
        check_write_safe(address, count, self.model)

    async def write(self, function: int, unit: int | None, address: int, words: list[int],
                    priority: int = PRIORITY_WRITE, build=None) -> None:
        """Single FC06 writes in register order; FC16 is accepted and sent the same way (the
        dongle has no block write). `build` (async, returns words like `words`) is awaited inside
        each register's transaction, after the pacing wait, and that register's word sent."""
        if function not in (6, 16):
            raise LinkError(f"function {function} is not a register write")
        words = list(words)
        if not words or any(not isinstance(w, int) or not 0 <= w <= 0xFFFF for w in words):
            raise ValueRejected("register values must be whole numbers 0-65535")
        self.check_write(address, len(words))
        device = DEFAULT_DEVICE if unit is None else unit
        for i, w in enumerate(words):
            async def run(t, i=i, r=address + i, v=w):
                if build is not None:
                    v = (await build())[i]
                await t.write_register(device, r, v, self.timeout)
            await self.scheduler.submit(run, priority)
