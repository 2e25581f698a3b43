"""A simulated Solarman V5 logger (LSW-3 style, TCP 8899) with a Modbus inverter behind it.

Why: the solarman:// link, discovery on 8899 and the CLI must run end to end without a stick.
It speaks the envelope as the protocol notes describe a real logger (protocols/solarman-v5.md):
it answers 0x4510 requests carrying its serial with 0x1510 frames echoing the client's sequence
byte and counting its own, puts the inverter's RTU reply inside (RegisterBanks, one per unit),
answers "no data" (05 00) when no unit answers, "not my serial" (06 00 with its real serial) or
nothing when the serial is wrong, and can push heartbeats. Faults are switched on while it runs
(tests flip them between requests): see LoggerFaults.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import struct
import time
from dataclasses import dataclass

from solartui.links import solarman_frame as F
from solartui.links.solarman_errors import SolarmanFrameError
from solartui.links.solarman_stream import V5Stream
from solartui.sim.register_bank import ILLEGAL_FUNCTION, RegisterBank

DEFAULT_SERIAL = 2385267882     # the notes' worked example (§2.6)
WRONG_SERIAL_MODES = ("error", "silent")
FAULT_HELP = ("silent, inverter-silent, wrong-serial=error|silent, bad-checksum, bad-crc, "
              "drop-after=N, delay=S, garbage, heartbeat=S")


@dataclass
class LoggerFaults:
    silent: bool = False                # the logger says nothing at all
    inverter_silent: bool = False       # the logger answers "no data" (05 00) to everything
    wrong_serial: str = "error"         # a request for another serial: "error" (06 00) or "silent"
    bad_checksum: bool = False          # replies go out with a broken V5 checksum
    bad_crc: bool = False               # replies carry an RTU frame with a broken CRC
    drop_after: int | None = None       # close each connection after N requests
    delay: float = 0.0                  # seconds before each reply
    garbage: bool = False               # junk bytes (AT text, a stray A5) before each reply
    heartbeat: float | None = None      # push a heartbeat every S seconds


def parse_logger_faults(specs) -> LoggerFaults:
    """`--fault` values for `simulate solarman`; ValueError (with FAULT_HELP) on anything else."""
    f = LoggerFaults()
    for spec in specs:
        key, _, value = spec.partition("=")
        key = key.strip().replace("-", "_")
        if key in ("silent", "inverter_silent", "bad_checksum", "bad_crc", "garbage") and not value:
            setattr(f, key, True)
        elif key == "wrong_serial" and value in WRONG_SERIAL_MODES:
            f.wrong_serial = value
        elif key == "drop_after" and value.isascii() and value.isdigit():
            f.drop_after = int(value)
        elif key in ("delay", "heartbeat"):
            try:
                seconds = float(value)
            except ValueError:
                raise ValueError(f"unknown fault '{spec}' ({FAULT_HELP})") from None
            if not 0 <= seconds <= 3600:
                raise ValueError(f"fault '{spec}': seconds must be 0-3600")
            setattr(f, key, seconds)
        else:
            raise ValueError(f"unknown fault '{spec}' ({FAULT_HELP})")
    return f


class SolarmanLogger:
    def __init__(self, banks: list[RegisterBank] | RegisterBank, host: str = "127.0.0.1",
                 port: int = 0, *, serial: int = DEFAULT_SERIAL,
                 faults: LoggerFaults | None = None, tick_interval: float = 1.0):
        banks = [banks] if isinstance(banks, RegisterBank) else list(banks)
        self.banks = {b.unit: b for b in banks}
        self.host, self.port = host, port
        self.serial = serial
        self.faults = faults if faults is not None else LoggerFaults()
        self.tick_interval = tick_interval
        self.requests = 0               # V5 requests received (any serial)
        self.frames: collections.deque = collections.deque(maxlen=10_000)   # the requests, as
                                        # received: what tests check reached (or not) the wire
        self.connections = 0
        self.heartbeats_answered = 0
        self.rejected = 0               # garbage / bad frames received from clients
        self._logger_seq = 0x10
        self._started = time.time() - 10_000
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._last_tick = time.monotonic()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop_clients()
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def __aenter__(self) -> SolarmanLogger:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    def drop_clients(self) -> None:
        """Close every client socket, as a logger does after its idle timeout (§8)."""
        for w in list(self._writers):
            w.close()

    def bank(self, unit: int = 1) -> RegisterBank:
        return self.banks[unit]

    # --- a connection ----------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        stream = V5Stream()
        beat = None
        if self.faults.heartbeat:
            beat = asyncio.get_running_loop().create_task(self._heartbeats(writer))
        handled = 0
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    break
                before = stream.rejected
                frames = stream.feed(data)
                self.rejected += stream.rejected - before
                for frame in frames:
                    if frame.control in (0x1710, 0x1110, 0x1210, 0x1310, 0x1810):
                        self.heartbeats_answered += 1
                        continue
                    if frame.control != F.REQUEST:
                        continue
                    handled += 1
                    if self.faults.drop_after is not None and handled > self.faults.drop_after:
                        return
                    self.frames.append(frame)
                    await self._answer(frame, writer)
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            if beat is not None:
                beat.cancel()
            self._writers.discard(writer)
            writer.close()
            self._tasks.discard(task)

    async def _heartbeats(self, writer: asyncio.StreamWriter) -> None:
        while not writer.is_closing():
            await asyncio.sleep(self.faults.heartbeat or 60.0)
            frame = F.encode(F.V5Frame(F.HEARTBEAT, 0, self._next_logger_seq(), self.serial,
                                       b"\0"))
            writer.write(frame)

    def _next_logger_seq(self) -> int:
        self._logger_seq = (self._logger_seq + 1) & 0xFF
        return self._logger_seq

    def _times(self) -> tuple[int, int, int]:
        now = time.time()
        total = int(now - self._started) + 1_000_000
        return total, int(now - self._started), int(now) - total

    async def _answer(self, frame: F.V5Frame, writer: asyncio.StreamWriter) -> None:
        f = self.faults
        self.requests += 1
        if f.silent:
            return
        if frame.serial != self.serial:
            if f.wrong_serial == "silent":
                return
            rtu = bytes([0x06, 0x00])
        elif f.inverter_silent:
            rtu = bytes([0x05, 0x00])
        else:
            rtu = self._inverter(frame)
        if f.delay > 0:
            await asyncio.sleep(f.delay)
        if f.bad_crc and len(rtu) > F.NO_DATA_MAX:
            rtu = rtu[:-1] + bytes([rtu[-1] ^ 0xFF])
        out = F.response_frame(self.serial, frame.seq, self._next_logger_seq(), rtu,
                               times=self._times())
        if f.bad_checksum:
            out = out[:-2] + bytes([out[-2] ^ 0x5A, out[-1]])
        if f.garbage:
            out = b"AT+YZCMPVER=MW3_16U_5406_2.32-D1\r\n\xa5\x99" + out
        if not writer.is_closing():
            writer.write(out)

    def _inverter(self, frame: F.V5Frame) -> bytes:
        """The RTU reply of the addressed unit, or "no data" (05 00) when nothing answers."""
        now = time.monotonic()
        if now - self._last_tick >= self.tick_interval:
            self._last_tick = now
            for b in self.banks.values():
                b.tick()
        try:
            unit, function, address, arg = F.parse_rtu_request(F.parse_request(frame))
        except SolarmanFrameError:
            return bytes([0x05, 0x00])          # the inverter ignores a frame it cannot parse
        bank = self.banks.get(unit)
        if bank is None:
            return bytes([0x05, 0x00])
        if function in (3, 4):
            result = bank.read("holding" if function == 3 else "input", address, int(arg))
            if isinstance(result, int):
                return F.with_crc(bytes([unit, function | 0x80, result]))
            return F.with_crc(bytes([unit, function, 2 * len(result)])
                              + struct.pack(f">{len(result)}H", *result))
        if function in (6, 16):
            words = list(arg)
            code = bank.write(address, words)
            if code is not None:
                return F.with_crc(bytes([unit, function | 0x80, code]))
            tail = words[0] if function == 6 else len(words)
            return F.with_crc(struct.pack(">BBHH", unit, function, address, tail))
        return F.with_crc(bytes([unit, function | 0x80, ILLEGAL_FUNCTION]))
