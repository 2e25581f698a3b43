"""PI30 over RS232 (or a USB-serial adapter on the inverter's RJ45 port): 2400 8N1, no flow control.

pyserial opens and configures the port; reading is done by the event loop (`loop.add_reader` on
the non-blocking descriptor pyserial keeps), so no thread waits and nothing polls. Per exchange:
read and discard whatever is pending (a late reply to an earlier command), write the whole frame,
collect bytes until the first CR or the deadline. The caller (Pi30Link) parses.

`_FdStream` and `FdTransport` are shared with the hidraw transport: a descriptor read by the
loop into a buffer, and the exchange around it.
"""

from __future__ import annotations

import asyncio
import errno
import os
from typing import Callable

from solartui.errors import ConnectionFailed, NoAnswer
from solartui.pi30.codec import DEFAULT_TIMING, Pi30Timing
from solartui.pi30.errors import (
    DIALOUT_HINT,
    Pi30DeviceBusy,
    Pi30DeviceGone,
    Pi30DeviceNotFound,
    Pi30Error,
    Pi30PermissionDenied,
)

FrameSinkFn = Callable[[str, bytes], None]


def command_of(request: bytes) -> str:
    """The command text of a request frame, for messages ('QPIGS' from b'QPIGS\\xb7\\xa9\\r')."""
    return bytes(request[:-3]).decode("ascii", "replace") or "request"


class _FdStream:
    """A non-blocking descriptor the event loop reads into a buffer; `wait_cr` waits for a CR."""

    def __init__(self, fd: int, what: str):
        self.fd = fd
        self.what = what
        self.buf = bytearray()
        self.gone: OSError | None = None
        self._event = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(fd, self._on_readable)

    def _on_readable(self) -> None:
        try:
            data = os.read(self.fd, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:          # EIO/ENODEV: the device (or the pty's other end) vanished
            self._lost(exc)
            return
        if not data:                    # readable yet empty: hung up (pyserial's rule)
            self._lost(OSError(errno.EIO, "device reports readiness to read but returned no data"))
            return
        self.buf += data
        self._event.set()

    def _lost(self, exc: OSError) -> None:
        self.gone = exc
        self._loop.remove_reader(self.fd)
        self._event.set()

    def read_pending(self) -> bytes:
        """Everything that arrived so far, plus what the descriptor holds right now."""
        if self.gone is None:
            while True:
                try:
                    data = os.read(self.fd, 4096)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as exc:
                    self._lost(exc)
                    break
                if not data:            # a tty with VMIN=0 reads b"" when empty
                    break
                self.buf += data
        out = bytes(self.buf)
        self.buf.clear()
        self._event.clear()
        return out

    async def wait_cr(self, timeout: float) -> bytes:
        """Bytes received until the first CR (and whatever came with it), or all that came
        before the deadline (maybe b""). Raises OSError if the descriptor died meanwhile."""
        deadline = self._loop.time() + timeout
        while b"\r" not in self.buf:
            if self.gone is not None:
                raise self.gone
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                break
            self._event.clear()
            try:
                await asyncio.wait_for(self._event.wait(), remaining)
            except asyncio.TimeoutError:
                break
        if self.gone is not None and b"\r" not in self.buf:
            raise self.gone
        out = bytes(self.buf)
        self.buf.clear()
        return out

    def close(self) -> None:
        if self.gone is None:
            self._loop.remove_reader(self.fd)
            self.gone = OSError(errno.EBADF, "closed")


async def collect_reply(stream: _FdStream, request: bytes, timeout: float, description: str,
                        emit: Callable[[str, bytes], None]) -> bytes:
    """Wait for the reply on `stream`; NoAnswer on silence, Pi30DeviceGone if the device went."""
    try:
        raw = await stream.wait_cr(timeout)
    except OSError as exc:
        raise Pi30DeviceGone(f"{description} disappeared during {command_of(request)} "
                             f"(unplugged? {exc.strerror or exc})") from None
    if raw:
        emit("rx", raw)
        return raw
    raise NoAnswer(f"no answer to {command_of(request)} within {timeout * 1000:.0f} ms "
                   f"on {description}")


class FdTransport:
    """What the serial and hidraw transports share: a descriptor read by the loop (`_FdStream`),
    the frame sink, and the exchange: discard stale input, write (`_send`, per transport),
    optionally pause, collect the reply up to CR."""

    description = "PI30 device"
    timing: Pi30Timing = DEFAULT_TIMING
    _stream: _FdStream | None = None
    _sink: FrameSinkFn | None = None

    def set_frame_sink(self, sink: FrameSinkFn | None) -> None:
        self._sink = sink

    def _emit(self, direction: str, data: bytes) -> None:
        if self._sink is not None and data:
            self._sink(direction, bytes(data))

    @property
    def connected(self) -> bool:
        return self._stream is not None and self._stream.gone is None

    async def connect(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def _send(self, request: bytes) -> None:
        """Put the whole request frame on the wire; raise Pi30DeviceGone (after close) if not."""
        raise NotImplementedError

    async def exchange(self, request: bytes, timeout: float | None = None) -> bytes:
        """Send one request frame; return the raw reply bytes (up to the first CR and whatever
        arrived with it). NoAnswer on silence; partial bytes without CR are returned as they are
        (the parser reports them as truncated)."""
        await self.connect()
        assert self._stream is not None
        stream = self._stream
        stale = stream.read_pending()
        if stale:
            self._emit("rx", stale)
        if stream.gone is not None:
            await self.close()
            raise Pi30DeviceGone(f"{self.description} disappeared (unplugged?)")
        self._emit("tx", request)
        await self._send(request)
        if self.timing.first_read_delay > 0:
            await asyncio.sleep(self.timing.first_read_delay)
        t = self.timing.timeout if timeout is None else timeout
        try:
            return await collect_reply(stream, request, t, self.description, self._emit)
        except Pi30DeviceGone:
            await self.close()
            raise


class Pi30SerialTransport(FdTransport):
    """One RS232 port to one PI30 inverter."""

    def __init__(self, path: str, *, baud: int = 2400, timing: Pi30Timing = DEFAULT_TIMING,
                 exclusive: bool = True):
        self.path = path
        self.baud = baud
        self.timing = timing
        self.exclusive = exclusive
        self.description = f"{path} {baud} 8N1"
        self._serial = None
        self._stream: _FdStream | None = None
        self._sink: FrameSinkFn | None = None

    async def connect(self) -> None:
        if self.connected:
            return
        await self.close()
        import serial
        try:
            port = serial.Serial(port=self.path, baudrate=self.baud, bytesize=serial.EIGHTBITS,
                                 parity=serial.PARITY_NONE, stopbits=serial.STOPBITS_ONE,
                                 timeout=0, write_timeout=self.timing.write_timeout,
                                 xonxoff=False, rtscts=False, dsrdtr=False,
                                 exclusive=self.exclusive)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise serial_open_error(self.path, exc) from None
        self._serial = port
        self._stream = _FdStream(port.fileno(), self.description)

    async def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        if self._serial is not None:
            try:
                self._serial.close()
            except Exception:  # pylint: disable=broad-except  # closing a vanished port
                pass
            self._serial = None

    async def _send(self, request: bytes) -> None:
        assert self._serial is not None
        try:
            self._serial.write(request)
        except Exception as exc:  # pylint: disable=broad-except  # SerialException, OSError
            await self.close()
            raise Pi30DeviceGone(f"{self.description}: cannot write {command_of(request)} "
                                 f"(unplugged? {exc})") from None


def serial_open_error(path: str, exc: BaseException) -> Pi30Error | ConnectionFailed:
    """One clear line for a serial port that would not open."""
    code = getattr(exc, "errno", None)
    if code in (errno.EACCES, errno.EPERM):
        return Pi30PermissionDenied(f"permission denied on {path}: {DIALOUT_HINT}")
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return Pi30DeviceNotFound(f"no serial port {path} (adapter plugged in? see "
                                  "'solartui scan')")
    if code in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK):
        return Pi30DeviceBusy(f"{path} is in use by another program (ModemManager, a "
                              "monitoring script, another solartui?); stop it and retry")
    return ConnectionFailed(f"cannot open {path}: {exc}")
