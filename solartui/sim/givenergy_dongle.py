"""A simulated GivEnergy WiFi dongle on loopback TCP, with a plant behind it.

Why: the GivEnergy link has to cope with what real dongles do (protocols/givenergy.md §3-5, §10)
and no test may need hardware. Like a real dongle this one
  * serves several clients at once and FANS OUT every reply to every connected client;
  * passes requests to one inverter that answers them one at a time (optional `latency`);
  * stays silent for absent devices, answers an error frame for a missing bank or a read of
    0 or more than 60 registers, stores FC06 writes on the write-safe list and echoes them,
    and drops or refuses (error frame) writes outside it (`write_outside_list`);
  * drops requests with a bad CRC silently when `strict_crc` (the All-in-One does; hybrids
    never checked);
  * sends a heartbeat to each client every `heartbeat_interval` and disconnects a client that
    misses `missed_heartbeats_to_drop` in a row (no reply within `heartbeat_deadline`), and
    disconnects a client silent for `idle_timeout` (newer AIO dongles, ~10 s);
  * sends unsolicited frames on request or every `unsolicited_interval`: replies to requests
    nobody made, null frames, LAN-config broadcasts.
`mute` makes it a wedged dongle: the sockets stay open, nothing is answered or sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

from solartui.givenergy import frame as F
from solartui.givenergy.capture import chunks, parse_capture
from solartui.givenergy.stream import FrameStream
from solartui.givenergy.write_safe import write_safe_set
from solartui.sim.givenergy_plant import INVERTER, GivEnergyPlant

# the write-safe list each simulated family applies (givenergy/families.py)
_WRITE_MODEL = {"hybrid": "single-phase", "ac": "ac", "aio": "ac", "three-phase": "three-phase",
                "ems": "none", "gateway": "none"}
LAN_TEXT = "127.0.0.1,255.0.0.0,127.0.0.1\r\n\r\n"     # what a WO dongle says about itself


def _family_key(device_type: int) -> str:
    """The simulated family for a captured HR0; an unsupported code replays as a hybrid."""
    from solartui.givenergy.families import classify
    found = classify(device_type)
    return getattr(found, "key", "hybrid")


@dataclass
class _Client:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    stream: FrameStream
    last_rx: float = field(default_factory=time.monotonic)
    missed: int = 0
    awaiting: int | None = None             # the type byte of the heartbeat awaiting a reply
    sent_at: float = 0.0
    replied: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list = field(default_factory=list)


class GivEnergyDongle:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, model: str = "hybrid",
                 adapter_serial: str = "WF2125G000", inverter_serial: str = "SA2114G000",
                 heartbeat_interval: float | None = 180.0, heartbeat_deadline: float = 5.0,
                 missed_heartbeats_to_drop: int = 3, idle_timeout: float | None = None,
                 strict_crc: bool = True, latency: float = 0.0,
                 write_outside_list: str = "drop", unsolicited_interval: float | None = None,
                 plant: GivEnergyPlant | None = None, time_scale: float = 1.0):
        if write_outside_list not in ("drop", "error"):
            raise ValueError("write_outside_list must be 'drop' or 'error'")
        self.host, self.port = host, port
        self.plant = plant or GivEnergyPlant(model, inverter_serial, time_scale=time_scale)
        self.model = self.plant.model
        self.adapter_serial = adapter_serial
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_deadline = heartbeat_deadline
        self.missed_heartbeats_to_drop = missed_heartbeats_to_drop
        self.idle_timeout = idle_timeout
        self.strict_crc = strict_crc
        self.latency = latency
        self.write_outside_list = write_outside_list
        self.unsolicited_interval = unsolicited_interval
        self.safe = write_safe_set(_WRITE_MODEL.get(self.model, "single-phase"))
        self.mute = False
        self.clients: list[_Client] = []
        self.requests: deque = deque(maxlen=10000)     # every decoded request, any client
        self.request_count = 0
        self.bad_crc_dropped = 0
        self.writes: list[tuple[int, int]] = []         # (register, value) stored
        self.heartbeats_sent = 0
        self.heartbeat_replies = 0
        self.heartbeat_latencies: deque = deque(maxlen=10000)   # seconds, send -> reply
        self.accepted = 0
        self.disconnects: Counter = Counter()           # why the dongle closed a client
        self._queue: asyncio.Queue | None = None
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()
        self._handlers: set[asyncio.Task] = set()
        self._foreign = itertools.cycle(("foreign", "null", "broadcast"))

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> int:
        self._queue = asyncio.Queue()
        self._server = await asyncio.start_server(self._serve_client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._spawn(self._inverter())
        if self.unsolicited_interval:
            self._spawn(self._unsolicited())
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop_clients()
        for task in list(self._tasks):
            task.cancel()
        pending = self._tasks | self._handlers
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> GivEnergyDongle:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @classmethod
    def from_capture(cls, path: str | Path, **kwargs) -> GivEnergyDongle:
        """A dongle whose registers start as the last blocks seen in a capture file."""
        stream = FrameStream("to_client")
        replies = [m for c in chunks(parse_capture(path), "rx") for m in stream.feed(c)]
        reads = [m for m in replies if isinstance(m, F.ReadResponse)]
        hr0 = [m.values[0] for m in reads if m.function == 3 and m.base == 0 and m.count
               and m.device in (0x11, 0x31)]
        model = kwargs.pop("model", None) or _family_key(hr0[-1] if hr0 else 0x2001)
        serial = kwargs.pop("inverter_serial", None) or next(
            (m.inverter_serial for m in reversed(reads) if m.device in (0x11, 0x31)), "SA2114G000")
        plant = GivEnergyPlant(model, serial, time_scale=kwargs.pop("time_scale", 1.0))
        for m in reads:
            plant.load_block(m.device, m.function, m.base, list(m.values))
        plant.set_serial(serial)
        adapter = next((m.adapter_serial for m in reversed(replies)
                        if isinstance(m, (F.ReadResponse, F.Heartbeat))), None)
        if adapter and "adapter_serial" not in kwargs:
            kwargs["adapter_serial"] = adapter
        return cls(plant=plant, **kwargs)

    # --- helpers for tests ---------------------------------------------------------------------

    def hr(self, n: int) -> int:
        return self.plant.hr(n)

    def set_hr(self, n: int, value: int) -> None:
        self.plant.set_hr(n, value)

    def ir(self, n: int, device: int = 0x11) -> int:
        return self.plant.ir(n, device)

    def set_ir(self, n: int, value: int, device: int = 0x11) -> None:
        self.plant.set_ir(n, value, device)

    def drop_clients(self) -> None:
        """Close every client socket (the link under test must reconnect)."""
        for c in list(self.clients):
            self._close(c, "dropped on request")

    def inject_foreign(self) -> None:
        """Every client gets a reply to a request nobody made (another client's poll, §5)."""
        if self.plant.device_kind(0x31):
            self._fan_out(self._read_reply(F.ReadRequest(0x31, 4, 0, 60)))
        if self.plant.device_kind(0x32):
            self._fan_out(self._read_reply(F.ReadRequest(0x32, 4, 60, 60)))
        if self.model != "hybrid":
            self._fan_out(self._read_reply(F.ReadRequest(0x11, 4, 180, 60)))

    def inject_null(self, device: int = 0x33, zero_crc: bool = True) -> None:
        self._fan_out(F.encode(F.NullResponse(self.adapter_serial, device, zero_crc=zero_crc)))

    def inject_broadcast(self, text: str = LAN_TEXT) -> None:
        self._fan_out(F.encode(F.LanBroadcast(text, self.adapter_serial)))

    def send_raw(self, data: bytes) -> None:
        """Bytes to every client as they are (garbage, split frames)."""
        self._fan_out(data)

    # --- clients -------------------------------------------------------------------------------

    async def _serve_client(self, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> None:
        c = _Client(reader, writer, FrameStream("to_dongle", check_crc=self.strict_crc))
        task = asyncio.current_task()
        if task is not None:            # ended by closing its socket, never cancelled (asyncio
            self._handlers.add(task)    # reports a cancelled connection handler as an error)
            task.add_done_callback(self._handlers.discard)
        self.clients.append(c)
        self.accepted += 1
        if self.heartbeat_interval:
            c.tasks.append(self._spawn(self._heartbeats(c)))
        try:
            while True:
                wait = None if self.idle_timeout is None else (
                    c.last_rx + self.idle_timeout - time.monotonic())
                try:
                    data = await asyncio.wait_for(reader.read(4096), wait)
                except asyncio.TimeoutError:
                    self._close(c, "idle")
                    break
                if not data:
                    break
                c.last_rx = time.monotonic()
                if self.mute:
                    continue
                before = c.stream.crc_failures
                for msg in c.stream.feed(data):
                    self._received(c, msg)
                self.bad_crc_dropped += c.stream.crc_failures - before   # silently, as an AIO
        except (ConnectionError, OSError):
            pass
        finally:
            self._close(c, None)

    def _received(self, c: _Client, msg) -> None:
        if isinstance(msg, F.Heartbeat):
            self.heartbeat_replies += 1
            if c.awaiting is not None and msg.adapter_type == c.awaiting:
                self.heartbeat_latencies.append(time.monotonic() - c.sent_at)
                c.awaiting = None
                c.replied.set()
            return
        self.request_count += 1
        self.requests.append(msg)
        assert self._queue is not None
        self._queue.put_nowait(msg)

    def _close(self, c: _Client, reason: str | None) -> None:
        if c in self.clients:
            self.clients.remove(c)
            self.disconnects[reason or "closed by client"] += 1
        for task in c.tasks:
            if task is not asyncio.current_task():
                task.cancel()
        with contextlib.suppress(Exception):
            c.writer.close()

    async def _heartbeats(self, c: _Client) -> None:
        while c in self.clients:
            await asyncio.sleep(self.heartbeat_interval)
            if self.mute or c not in self.clients:
                continue
            c.replied.clear()
            c.awaiting = 1
            c.sent_at = time.monotonic()
            self._send(c, F.encode(F.Heartbeat(self.adapter_serial, 1)))
            self.heartbeats_sent += 1
            try:
                await asyncio.wait_for(c.replied.wait(), self.heartbeat_deadline)
                c.missed = 0
            except asyncio.TimeoutError:
                c.missed += 1
                if c.missed >= self.missed_heartbeats_to_drop:
                    c.awaiting = None
                    self._close(c, "missed heartbeats")
                    return
            c.awaiting = None

    def _send(self, c: _Client, data: bytes) -> None:
        if not c.writer.is_closing():
            c.writer.write(data)

    def _fan_out(self, data: bytes | None) -> None:
        if data is None or self.mute:
            return
        for c in list(self.clients):
            self._send(c, data)

    # --- the inverter --------------------------------------------------------------------------

    async def _inverter(self) -> None:
        """One request at a time from every client, as the real inverter serialises them."""
        assert self._queue is not None
        while True:
            msg = await self._queue.get()
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            if self.mute:
                continue
            if isinstance(msg, F.ReadRequest):
                self._fan_out(self._read_reply(msg))
            elif isinstance(msg, F.WriteRequest):
                self._fan_out(self._write_reply(msg))

    def _error(self, device: int, function: int, a: int, b: int) -> bytes:
        return F.encode(F.ErrorResponse(device, function, self.plant.inverter_serial, a, b,
                                        self.adapter_serial))

    def _read_reply(self, msg: F.ReadRequest) -> bytes | None:
        if self.plant.device_kind(msg.device) is None:
            return None                         # absent devices do not answer
        values = self.plant.read(msg.device, msg.function, msg.base, msg.count)
        if values is None:
            return self._error(msg.device, msg.function, msg.base, msg.count)
        return F.encode(F.ReadResponse(msg.device, msg.function, self.plant.inverter_serial,
                                       msg.base, msg.count, tuple(values), self.adapter_serial))

    def _write_reply(self, msg: F.WriteRequest) -> bytes | None:
        kind = self.plant.device_kind(msg.device)
        if kind is None:
            return None
        if msg.register not in self.safe:
            if self.write_outside_list == "drop":
                return None
            return self._error(msg.device, F.WRITE_FUNCTION, msg.register, msg.value)
        if kind != INVERTER or not self.plant.write(msg.register, msg.value):
            return self._error(msg.device, F.WRITE_FUNCTION, msg.register, msg.value)
        self.writes.append((msg.register, msg.value))
        return F.encode(F.WriteResponse(msg.device, self.plant.inverter_serial, msg.register,
                                        msg.value, self.adapter_serial))

    async def _unsolicited(self) -> None:
        while True:
            await asyncio.sleep(self.unsolicited_interval)
            kind = next(self._foreign)
            if kind == "foreign":
                self.inject_foreign()
            elif kind == "null":
                self.inject_null()
            else:
                self.inject_broadcast()
