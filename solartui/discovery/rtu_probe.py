"""Find Modbus RTU devices on a serial port: baud rate, framing and unit address unknown.

How a sweep goes, per port:
  * settings: the baud rates and parity of the maps first (Growatt: 9600 and 38400, 8N1), then a
    generic list (9600/19200/38400/115200, parity N then E), without repeats;
  * units, per setting: each map's default unit first, then 1-10, then the rest up to the largest
    maximum of the maps (254 for Growatt);
  * each probe is ONE single-register read (FC03/FC04 of the first map's first identification
    register; holding 0 without one) in our own minimal RTU framing over pyserial. No pymodbus
    client here: its retries (3 x 3 s by default), reconnects and disconnect-after-N would turn a
    254-unit sweep into hours;
  * a reply counts only if its CRC checks and its unit and function match. A Modbus exception
    reply counts too: something is there. A valid reply from the unit probed just before (a slow
    device answering after its timeout) is taken as that unit's answer, and the unit being probed
    then is probed again;
  * the timeout of a probe is the wire time at that baud of the request (8 bytes) and of the
    longest expected reply (7 bytes), 11 bits a character, plus a turnaround `margin` (40 ms by
    default) — about 57 ms at 9600 and 44 ms at 38400, not the 850 ms a Growatt allows between
    commands. Input is flushed before each request; after a timeout the sweep keeps a silent
    frame gap (3.5 characters; 1.75 ms above 19200 baud) before the next request;
  * pacing: until something answers, probes go back to back. Once a device has answered, the
    device's minimum command period (the largest `min_period_ms` of the maps that allow its baud
    rate; none when no map does) is kept between the end of one request and the start of the next
    on that port for the rest of the sweep — so a `find_all` sweep continues at that pace
    (850 ms a probe for a Growatt: ~3.6 min for the remaining units of one setting);
  * the sweep stops at the first device unless `find_all`; with `find_all`, a unit found at one
    baud rate is not probed again at the same baud rate with another parity (one device, one
    address);
  * an answering device is identified through the normal stack (LinkPool + choose_map), after the
    probe has closed its handle; "no map fits" is a valid result;
  * a setting the port refuses (the kernel or the adapter rejects that baud or parity: a Linux pty
    may refuse even parity) is skipped and counted as done; a port that refuses every setting
    raises ConnectionFailed.

Cancelling the task running probe_port closes the port and propagates CancelledError.
"""

from __future__ import annotations

import asyncio
import errno
import os
import termios
import time
from dataclasses import dataclass

import serial

from solartui.devices.identify import choose_map
from solartui.devices.register_device import RegisterDevice
from solartui.discovery.results import Found, OnFound, OnProgress, Progress
from solartui.errors import ConnectionFailed, SolartuiError
from solartui.links.crc import crc16_modbus
from solartui.links.pool import LinkPool
from solartui.links.target import parse_target
from solartui.registers import catalog
from solartui.registers.model import READ_FUNCTION, DeviceMap
from solartui.session import merged_spec

GENERIC_BAUDS = (9600, 19200, 38400, 115200)
GENERIC_PARITIES = ("N", "E")
BITS_PER_CHAR = 11               # start + 8 data + parity/stop + stop: the conservative count
REQUEST_BYTES = 8                # unit, fc, address(2), count(2), crc(2)
REPLY_BYTES = 7                  # unit, fc, byte count, one register(2), crc(2)
EXCEPTION_BYTES = 5              # unit, fc|0x80, code, crc(2)
DEFAULT_MARGIN = 0.040           # turnaround: a device's think time plus the adapter's latency
PROGRESS_EVERY = 0.25            # seconds between progress callbacks
LATE_WINDOW = 2                  # a late reply is accepted from this many previous units
DEFAULT_MAX_UNIT = 247
PARITY_NAMES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}


# --- wire arithmetic -------------------------------------------------------------------------

def char_time(baud: int) -> float:
    """Seconds one character takes on the wire."""
    return BITS_PER_CHAR / baud


def probe_timeout(baud: int, margin: float = DEFAULT_MARGIN) -> float:
    """How long to wait for a probe's reply: request and longest reply on the wire, plus margin."""
    return (REQUEST_BYTES + max(REPLY_BYTES, EXCEPTION_BYTES)) * char_time(baud) + margin


def frame_gap(baud: int) -> float:
    """Modbus RTU's silent interval between frames: 3.5 characters, fixed 1.75 ms above 19200."""
    return 3.5 * char_time(baud) if baud <= 19200 else 0.00175


# --- what to try -----------------------------------------------------------------------------

def candidate_settings(maps: list[DeviceMap], bauds=None, parities=None) -> list[tuple[int, str]]:
    """(baud, parity) pairs in the order to try: the maps' own first, then the generic list.

    `bauds` / `parities` narrow the list (and add pairs the default list lacks)."""
    out: list[tuple[int, str]] = []

    def add(b: int, p: str) -> None:
        if (b, p) not in out:
            out.append((b, p))

    for m in maps:
        if m.protocol != "modbus":
            continue
        for b in m.link.baudrates:
            add(int(b), m.link.parity.upper())
    for p in GENERIC_PARITIES:
        for b in GENERIC_BAUDS:
            add(b, p)
    if bauds is None and parities is None:
        return out
    want_b = [int(b) for b in bauds] if bauds is not None else sorted({b for b, _ in out})
    want_p = [p.upper() for p in parities] if parities is not None else list(GENERIC_PARITIES)
    kept = [(b, p) for b, p in out if b in want_b and p in want_p]
    for b in want_b:
        for p in want_p:
            if (b, p) not in kept:
                kept.append((b, p))
    return kept


def unit_order(maps: list[DeviceMap], units=None) -> list[int]:
    """Units in the order to try: map defaults, then 1-10, then the rest up to the maps' maximum.

    Given `units` are kept in their own order (repeats dropped)."""
    out: list[int] = []
    seen: set[int] = set()

    def add(u: int) -> None:
        if u not in seen:
            seen.add(u)
            out.append(u)

    if units is not None:
        for u in units:
            u = int(u)
            if not 1 <= u <= 255:
                raise ValueError(f"unit {u} is outside 1-255")
            add(u)
        return out
    top = max((m.link.units[1] for m in maps), default=DEFAULT_MAX_UNIT)
    for m in maps:
        add(m.link.unit)
    for u in range(1, top + 1):
        add(u)
    return out


def probe_register(maps: list[DeviceMap]) -> tuple[int, int]:
    """(function, address) of the single register a probe reads."""
    for m in maps:
        if m.identify:
            f = next(iter(m.identify.values()))
            return READ_FUNCTION[f.table], f.address
    return 3, 0


def period_for(maps: list[DeviceMap], baud: int) -> float:
    """A device's minimum command period at `baud`: the slowest of the maps that allow the baud."""
    return max((m.link.min_period_ms for m in maps if baud in m.link.baudrates), default=0) / 1000


# --- RTU framing -----------------------------------------------------------------------------

def _with_crc(body: bytes) -> bytes:
    return body + crc16_modbus(body).to_bytes(2, "little")


def read_request(unit: int, function: int, address: int, count: int = 1) -> bytes:
    body = bytes([unit, function]) + address.to_bytes(2, "big") + count.to_bytes(2, "big")
    return _with_crc(body)


@dataclass(frozen=True)
class Reply:
    unit: int
    value: int | None = None         # the register, for a normal reply
    exception: int | None = None     # the exception code, for an exception reply


def find_reply(buf: bytes, function: int, units) -> Reply | None:
    """The first valid reply in `buf` to a one-register read from one of `units`.

    Valid: the CRC checks, the unit is one asked and the function matches (or is its exception).
    Bytes before it (noise, a local echo of the request) are skipped."""
    n = len(buf)
    for i in range(n - EXCEPTION_BYTES + 1):
        unit, fc = buf[i], buf[i + 1]
        if unit not in units:
            continue
        if fc == function and buf[i + 2] == 2 and i + REPLY_BYTES <= n:
            frame = buf[i:i + REPLY_BYTES]
            if crc16_modbus(frame[:5]) == int.from_bytes(frame[5:], "little"):
                return Reply(unit, value=int.from_bytes(frame[3:5], "big"))
        elif fc == function | 0x80:
            frame = buf[i:i + EXCEPTION_BYTES]
            if crc16_modbus(frame[:3]) == int.from_bytes(frame[3:], "little"):
                return Reply(unit, exception=frame[2])
    return None


def rtu_target(port: str, baud: int, parity: str, unit: int) -> str:
    return f"rtu://{port}?baud={baud}&parity={parity}&unit={unit}"


def link_text(port: str, baud: int, parity: str, unit: int) -> str:
    return f"{port} {baud} 8{parity}1 unit {unit}"


# --- the port --------------------------------------------------------------------------------

def open_error(port: str, exc: BaseException) -> ConnectionFailed:
    """One line saying why the port did not open and what to do about it."""
    code = getattr(exc, "errno", None)
    if code in (errno.EACCES, errno.EPERM):
        return ConnectionFailed(
            f"cannot open {port}: permission denied — add your user to the 'dialout' group "
            "(sudo usermod -aG dialout $USER), then log out and back in")
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return ConnectionFailed(f"cannot open {port}: no such port — is the adapter plugged in? "
                                "(`solartui scan --serial` lists the ports)")
    if code in (errno.EBUSY, errno.EAGAIN):
        return ConnectionFailed(f"cannot open {port}: it is in use by another program")
    text = str(exc).strip() or type(exc).__name__
    if "ioctl" in text or "configure port" in text:
        return ConnectionFailed(f"cannot open {port}: not a serial port ({text})")
    return ConnectionFailed(f"cannot open {port}: {text}")


class UnsupportedSetting(Exception):
    """The port opened but refused a baud rate or framing (the sweep skips that setting)."""


class _ProbePort:
    """The port opened at one baud/parity, read without blocking through the event loop."""

    def __init__(self, port: str, baud: int, parity: str):
        self.port = port
        self.baud = baud
        try:
            self.ser = serial.Serial(port, baud, bytesize=8, parity=PARITY_NAMES[parity],
                                     stopbits=1, timeout=0)
        except termios.error as exc:        # e.g. a pty or an adapter without this framing
            raise UnsupportedSetting(f"{port} refuses {baud} 8{parity}1 ({exc.args[-1]})") from None
        except ValueError as exc:
            raise UnsupportedSetting(f"{port} refuses {baud} 8{parity}1 ({exc})") from None
        except (serial.SerialException, OSError) as exc:
            raise open_error(port, exc) from None
        self.fd = self.ser.fileno()
        os.set_blocking(self.fd, False)
        self.buf = bytearray()
        self.error: OSError | None = None
        self._event = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:          # adapter unplugged mid-sweep
            self.error = exc
            self._loop.remove_reader(self.fd)
            data = b""
        if data:
            self.buf += data
            if len(self.buf) > 1024:
                del self.buf[:-256]
        self._event.set()

    async def probe(self, request: bytes, function: int, units, timeout: float) -> Reply | None:
        """Send one request and wait up to `timeout` for a valid reply from one of `units`."""
        try:
            self.ser.reset_input_buffer()
            self.buf.clear()
            self.ser.write(request)
        except (serial.SerialException, OSError) as exc:
            raise ConnectionFailed(f"{self.port}: port lost ({exc})") from None
        deadline = self._loop.time() + timeout
        while True:
            if self.error is not None:
                raise ConnectionFailed(f"{self.port}: port lost ({self.error.strerror})")
            reply = find_reply(bytes(self.buf), function, units)
            left = deadline - self._loop.time()
            if reply is not None or left <= 0:
                return reply
            self._event.clear()
            try:
                await asyncio.wait_for(self._event.wait(), left)
            except asyncio.TimeoutError:
                pass

    def close(self) -> None:
        try:
            self._loop.remove_reader(self.fd)
        except (ValueError, OSError):
            pass
        try:
            self.ser.close()
        except (serial.SerialException, OSError):
            pass


class _Reporter:
    """Progress callbacks, at most a few a second (the first and the last always go out)."""

    def __init__(self, progress: Progress, on_progress: OnProgress | None):
        self.progress = progress
        self.on_progress = on_progress
        self._last = 0.0

    def tell(self, force: bool = False) -> None:
        if self.on_progress is None:
            return
        now = time.monotonic()
        if force or now - self._last >= PROGRESS_EVERY:
            self._last = now
            self.on_progress(self.progress)


# --- identification --------------------------------------------------------------------------

async def identify_at(port: str, baud: int, parity: str, unit: int, maps: list[DeviceMap],
                      reply: Reply | None = None, identify: bool = True) -> Found:
    """What answered at this address: identified through the normal link stack, or unknown."""
    target = rtu_target(port, baud, parity, unit)
    where = link_text(port, baud, parity, unit)
    answered = ("answered with exception "
                f"{reply.exception}" if reply is not None and reply.exception is not None else "")
    candidates = [m for m in maps if m.identify]
    if not identify:
        return Found("modbus-rtu", target, where, detail=answered or "answered (not identified)")
    if not candidates:
        return Found("modbus-rtu", target, where, detail="no map fits")
    pool = LinkPool()
    try:
        link = pool.get(parse_target(target), merged_spec(candidates))
        try:
            dev, ident = await choose_map(candidates, lambda m: RegisterDevice(m, link, unit))
        except SolartuiError:
            return Found("modbus-rtu", target, where, detail="no map fits")
    finally:
        await pool.close()
    values = ident.values

    def text(name):
        v = values.get(name)
        return str(v).strip() if v is not None and str(v).strip() else None

    return Found("modbus-rtu", target, where, vendor=dev.map.vendor, model=text("model"),
                 serial=text("serial"), firmware=text("firmware"), map_id=dev.map.id,
                 detail=dev.map.name, why=ident.reason)


# --- the sweep -------------------------------------------------------------------------------

async def probe_port(port: str, maps: list[DeviceMap] | None = None, *, find_all: bool = False,
                     bauds=None, parities=None, units=None, on_found: OnFound | None = None,
                     on_progress: OnProgress | None = None, identify: bool = True,
                     margin: float = DEFAULT_MARGIN) -> list[Found]:
    """Sweep one serial port for Modbus RTU devices; see the module docstring for the order.

    Returns what was found (also passed to `on_found` as it is found). Raises ConnectionFailed
    when the port cannot be opened or is lost."""
    maps = catalog.all_maps() if maps is None else list(maps)
    maps = [m for m in maps if m.protocol == "modbus"]
    settings = candidate_settings(maps, bauds, parities)
    order = unit_order(maps, units)
    function, address = probe_register(maps)
    progress = Progress(scan=port, total=len(settings) * len(order))
    reporter = _Reporter(progress, on_progress)
    found: list[Found] = []
    taken: set[tuple[int, int]] = set()          # (baud, unit) already found
    period = 0.0                                 # 0 until something answered
    last_end: float | None = None

    async def pace() -> None:
        if period and last_end is not None:
            wait = last_end + period - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)

    refused: list[str] = []
    reporter.tell(force=True)
    for baud, parity in settings:
        timeout = probe_timeout(baud, margin)
        gap = frame_gap(baud)
        i = 0
        while i < len(order):
            hit: Reply | None = None
            try:
                handle = _ProbePort(port, baud, parity)
            except UnsupportedSetting as exc:
                refused.append(str(exc))
                progress.done += len(order) - i
                progress.note = f"{baud} 8{parity}1: the port refuses this setting"
                reporter.tell()
                break
            try:
                recent: list[int] = []
                while i < len(order):
                    unit = order[i]
                    if (baud, unit) in taken:
                        i += 1
                        progress.done += 1
                        continue
                    await pace()
                    progress.note = f"{baud} 8{parity}1 unit {unit}"
                    reporter.tell()
                    hit = await handle.probe(read_request(unit, function, address), function,
                                             {unit, *recent[-LATE_WINDOW:]}, timeout)
                    last_end = time.monotonic()
                    if hit is not None:
                        if hit.unit == unit:         # a late reply leaves this unit to probe again
                            i += 1
                            progress.done += 1
                        break
                    i += 1
                    progress.done += 1
                    recent.append(unit)
                    await asyncio.sleep(gap)
            finally:
                handle.close()
            if hit is None:
                continue
            taken.add((baud, hit.unit))
            period = max(period, period_for(maps, baud))
            progress.note = f"{baud} 8{parity}1 unit {hit.unit}: identifying"
            reporter.tell(force=True)
            if identify:
                await pace()                     # no request goes out otherwise
            try:
                f = await identify_at(port, baud, parity, hit.unit, maps, hit, identify)
            finally:
                last_end = time.monotonic()
            found.append(f)
            if on_found is not None:
                on_found(f)
            if not find_all:
                progress.done = progress.total
                progress.note = "found"
                reporter.tell(force=True)
                return found
    if refused and len(refused) == len(settings):
        raise ConnectionFailed(f"{port} refused every setting tried: {refused[0]}")
    progress.done = progress.total
    progress.note = f"done: {len(found)} found" + (
        f"; {len(refused)} setting(s) refused by the port" if refused else "")
    reporter.tell(force=True)
    return found
