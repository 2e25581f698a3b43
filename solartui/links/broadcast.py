"""A listen-only serial link: open the port with the map's line settings and handshake levels,
then only read. The device talks without being asked (OutBack MATE: one status page per device
every second while DTR is set and RTS cleared), so there is no request, no pacing and no
scheduler queue here: nothing is ever written to the port.

The levels are given to pyserial *before* it opens the port, so RTS never goes high for a moment
(pyserial raises RTS and DTR on open by default, which on a MATE would stop the pages). A port
without modem lines (a pty, some adapters) cannot take them: `lines_set` is then False and
`lines_note` says so, and listening goes on.

Each complete page goes through `parse_page`; good ones are kept per address (`latest`), bad ones
counted (`bad`, `last_error`) and dropped. `wait_page()` returns the next good page or raises
NoAnswer after the map's silence time.
"""

from __future__ import annotations

import asyncio
import errno
import os
import time
from dataclasses import dataclass

from solartui.errors import ConnectionFailed, NoAnswer, PageError
from solartui.links.broadcast_page import ForeignPage, Page, PageCutter, parse_page
from solartui.registers.page_map import PageMap


@dataclass(frozen=True)
class Received:
    page: Page
    at: float            # time.time() when its end character arrived


class BroadcastListener:
    def __init__(self, path: str, page_map: PageMap, *, baud: int | None = None):
        self.path = path
        self.map = page_map
        self.baud = baud or page_map.link.baud
        self.latest: dict[str, Received] = {}
        self.good = 0
        self.bad = 0
        self.foreign = 0             # other devices' pages on the same MATE (an FX's): skipped
        self.last_error: str = ""
        self.lines_set = False
        self.lines_note = ""
        self.on_page = None          # (raw page, "" or why it was dropped) -> None: --trace
        self._serial = None
        self._cutter = PageCutter(page_map.page)
        self._event = asyncio.Event()
        self._gone: OSError | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def description(self) -> str:
        return f"{self.path} ({self.baud} baud, listening)"

    async def open(self) -> None:
        if self._serial is not None:
            return
        import serial
        spec = self.map.link
        ser = serial.Serial()
        ser.port = self.path
        ser.baudrate = self.baud
        ser.bytesize = spec.bytesize
        ser.parity = spec.parity
        ser.stopbits = spec.stopbits
        ser.rtscts = ser.dsrdtr = ser.xonxoff = False     # RTS/DTR are power lines here
        ser.timeout = 0
        if spec.dtr is not None:
            ser.dtr = spec.dtr               # applied as the port opens: no glitch
        if spec.rts is not None:
            ser.rts = spec.rts
        try:
            ser.open()
        except (serial.SerialException, OSError) as exc:
            raise ConnectionFailed(_open_message(self.path, exc)) from None
        self._serial = ser
        self.lines_set, self.lines_note = _assert_lines(ser, spec.dtr, spec.rts)
        self._loop = asyncio.get_running_loop()
        ser.reset_input_buffer()             # a page half-sent before we listened is useless
        self._loop.add_reader(ser.fd, self._on_readable)

    def _on_readable(self) -> None:
        assert self._serial is not None
        try:
            data = os.read(self._serial.fd, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._lost(exc)
            return
        if not data:
            self._lost(OSError(errno.EIO, "port reports data but returned none (unplugged?)"))
            return
        self.feed(data)

    def feed(self, data: bytes) -> None:
        """Bytes from the line (public so a test or another transport can drive it)."""
        now = time.time()
        for raw in self._cutter.feed(data):
            try:
                page = parse_page(raw, self.map)
            except ForeignPage:
                self.foreign += 1
                continue
            except PageError as exc:
                self.bad += 1
                self.last_error = str(exc)
                if self.on_page is not None:
                    self.on_page(raw, self.last_error)
                continue
            if self.on_page is not None:
                self.on_page(raw, "")
            self.good += 1
            self.latest[page.address] = Received(page, now)
            self._event.set()

    def _lost(self, exc: OSError) -> None:
        self._gone = exc
        if self._loop is not None and self._serial is not None:
            self._loop.remove_reader(self._serial.fd)
        self._event.set()

    async def wait_page(self, timeout: float | None = None) -> Received:
        """The next good page to arrive (any address); NoAnswer after `timeout` seconds
        (default: the map's silence time) without one; ConnectionFailed if the port went."""
        if self._gone is not None:          # lost earlier: close, so the next call reopens
            await self.close()
            self._gone = None
        await self.open()
        t = self.map.link.silence_ms / 1000 if timeout is None else timeout
        before = self.good
        deadline = time.monotonic() + t
        while self.good == before:
            if self._gone is not None:
                gone, self._gone = self._gone, None
                await self.close()
                raise ConnectionFailed(f"{self.path} disappeared (unplugged?): "
                                       f"{gone.strerror or gone}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                bad = f"; {self.bad} bad page(s), last: {self.last_error}" if self.bad else ""
                hint = "" if self.bad else (
                    f" (is it a {self.map.vendor} device? DTR set and RTS cleared? "
                    "a keypad in use stops pages for a while)")
                raise NoAnswer(f"no good {self.map.id} page on {self.path} within "
                               f"{t * 1000:.0f} ms{bad}{hint}")
            self._event.clear()
            try:
                await asyncio.wait_for(self._event.wait(), remaining)
            except asyncio.TimeoutError:
                pass
        return max(self.latest.values(), key=lambda r: r.at)

    async def close(self) -> None:
        ser, self._serial = self._serial, None
        if ser is not None:
            if self._loop is not None:
                try:
                    self._loop.remove_reader(ser.fd)
                except (ValueError, OSError):
                    pass
            ser.close()


def _assert_lines(ser, dtr, rts) -> tuple[bool, str]:
    """Set the levels again and say whether the port has the lines at all."""
    try:
        if dtr is not None:
            ser.dtr = dtr
        if rts is not None:
            ser.rts = rts
    except OSError as exc:
        if exc.errno in (errno.ENOTTY, errno.EINVAL):
            return False, (f"{ser.port} has no modem control lines (a pty or a bare adapter): "
                           "DTR/RTS could not be set")
        raise ConnectionFailed(f"cannot set DTR/RTS on {ser.port}: {exc.strerror}") from None
    return True, ""


def _open_message(path: str, exc: Exception) -> str:
    code = getattr(exc, "errno", None)
    if code == errno.ENOENT or "No such file" in str(exc):
        return f"{path} does not exist (is the adapter plugged in?)"
    if code == errno.EACCES or "Permission denied" in str(exc):
        return (f"no permission to open {path}: add yourself to the dialout group "
                "('sudo usermod -aG dialout $USER'), then log out and in again")
    if code == errno.EBUSY or "busy" in str(exc).lower():
        return f"{path} is busy (another program has it open)"
    return f"cannot open {path}: {exc}"
