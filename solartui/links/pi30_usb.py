"""PI30 over the inverter's USB HID bridge (0665:5161) through pyusb/libusb (section 4.2).

connect: find the device (optionally pinned by bus/address or port path), detach the kernel's
usbhid driver from interface 0 if it is bound, set the configuration if none is active, claim
interface 0. Per exchange: drain stale input reports from endpoint 0x81, send the request as
8-byte zero-padded HID SET_REPORT control transfers (bmRequestType 0x21, bRequest 0x09, wValue
0x0200 = Output report 0, wIndex 0), read 8-byte interrupt reports until a CR arrives or the
deadline passes. close: release the interface, give the interface back to usbhid (so
/dev/hidrawN reappears) and free libusb's resources.

pyusb calls block, so they run in a worker thread (`asyncio.to_thread`); a lock keeps one thread
on the device at a time, also against close(). Frames are reported to the trace from the loop.
"""

from __future__ import annotations

import asyncio
import errno
import threading
import time

from solartui.errors import ConnectionFailed, NoAnswer
from solartui.links.pi30_serial import FrameSinkFn, command_of
from solartui.pi30.codec import DEFAULT_TIMING, Pi30Timing, hid_chunks, read_until_cr
from solartui.pi30.errors import (
    UDEV_HINT,
    Pi30DeviceBusy,
    Pi30DeviceGone,
    Pi30DeviceNotFound,
    Pi30Error,
    Pi30PermissionDenied,
)

PI30_VID = 0x0665
PI30_PID = 0x5161
SET_REPORT = (0x21, 0x09, 0x0200, 0)    # bmRequestType, bRequest, wValue, wIndex
ENDPOINT_IN = 0x81
INTERFACE = 0


def _is_timeout(exc: BaseException) -> bool:
    import usb.core
    return isinstance(exc, usb.core.USBTimeoutError) or getattr(exc, "errno", None) == errno.ETIMEDOUT


class Pi30UsbTransport:
    """One 0665:5161 USB device to one PI30 inverter, through pyusb.

    Pin a device with `bus` + `address`, or `bus` + `port_numbers` (stable across replugs);
    without a pin the first match is used. `backend` is a pyusb backend (None: pyusb picks
    libusb; tests pass solartui.sim.pi30_usb_backend.Pi30UsbBackend)."""

    def __init__(self, *, vid: int = PI30_VID, pid: int = PI30_PID, bus: int | None = None,
                 address: int | None = None, port_numbers: tuple[int, ...] | None = None,
                 backend=None, timing: Pi30Timing = DEFAULT_TIMING):
        self.vid, self.pid = vid, pid
        self.bus, self.address = bus, address
        self.port_numbers = tuple(port_numbers) if port_numbers is not None else None
        self.backend = backend
        self.timing = timing
        self._dev = None
        self._detached = False
        self._lock = threading.Lock()
        self._sink: FrameSinkFn | None = None
        self.description = self._describe()

    def _describe(self, dev=None) -> str:
        where = ""
        bus = getattr(dev, "bus", None) if dev is not None else self.bus
        addr = getattr(dev, "address", None) if dev is not None else self.address
        ports = getattr(dev, "port_numbers", None) if dev is not None else self.port_numbers
        if bus is not None:
            where = f" bus {bus}"
            if ports:
                where += " port " + ".".join(str(p) for p in ports)
            elif addr is not None:
                where += f" address {addr}"
        return f"USB {self.vid:04x}:{self.pid:04x}{where}"

    def set_frame_sink(self, sink: FrameSinkFn | None) -> None:
        self._sink = sink

    def _emit(self, direction: str, data: bytes) -> None:
        if self._sink is not None and data:
            self._sink(direction, bytes(data))

    @property
    def connected(self) -> bool:
        return self._dev is not None

    # --- open / close --------------------------------------------------------------------------

    async def connect(self) -> None:
        if self._dev is None:
            await asyncio.to_thread(self._open_sync)

    def _match(self, dev) -> bool:
        if self.bus is not None and getattr(dev, "bus", None) != self.bus:
            return False
        if self.address is not None and getattr(dev, "address", None) != self.address:
            return False
        if self.port_numbers is not None and \
                tuple(getattr(dev, "port_numbers", None) or ()) != self.port_numbers:
            return False
        return True

    def _open_sync(self) -> None:
        import usb.core
        import usb.util
        with self._lock:
            if self._dev is not None:
                return
            try:
                found = usb.core.find(find_all=True, idVendor=self.vid, idProduct=self.pid,
                                      backend=self.backend)
                devs = [d for d in found if self._match(d)]
            except usb.core.NoBackendError:
                raise ConnectionFailed("pyusb found no libusb: install libusb-1.0 (e.g. 'apt "
                                       "install libusb-1.0-0'), or use the hidraw:// path "
                                       "on Linux") from None
            except usb.core.USBError as exc:
                raise self._usb_error(exc, "cannot list USB devices") from None
            if not devs:
                raise Pi30DeviceNotFound(f"no {self.description} found (plugged in, cable "
                                         "data-capable, passed through to this VM?)")
            dev = devs[0]
            self.description = self._describe(dev)
            detached = False
            try:
                try:
                    if dev.is_kernel_driver_active(INTERFACE):
                        dev.detach_kernel_driver(INTERFACE)
                        detached = True
                except NotImplementedError:      # backends/OSes without kernel drivers
                    pass
                try:
                    active = dev.get_active_configuration()
                except usb.core.USBError:
                    active = None
                if active is None:
                    try:
                        dev.set_configuration()
                    except usb.core.USBError as exc:
                        if exc.errno != errno.EBUSY:
                            raise
                usb.util.claim_interface(dev, INTERFACE)
            except usb.core.USBError as exc:
                self._give_back(dev, detached)
                raise self._usb_error(exc, "cannot open") from None
            self._dev, self._detached = dev, detached

    def _usb_error(self, exc, doing: str) -> Pi30Error | ConnectionFailed:
        code = getattr(exc, "errno", None)
        if code in (errno.EACCES, errno.EPERM):
            return Pi30PermissionDenied(f"permission denied on {self.description}: {UDEV_HINT}")
        if code == errno.EBUSY:
            return Pi30DeviceBusy(f"{self.description} is busy: another program or driver "
                                  "holds it (NUT's nutdrv_qx claims 0665:5161, or another "
                                  "monitoring tool); stop it and retry")
        if code in (errno.ENODEV, errno.ENOENT):
            return Pi30DeviceGone(f"{self.description} disappeared (unplugged?)")
        return ConnectionFailed(f"{self.description}: {doing}: {exc}")

    @staticmethod
    def _give_back(dev, detached: bool) -> None:
        import usb.core
        import usb.util
        try:
            usb.util.release_interface(dev, INTERFACE)
        except (usb.core.USBError, NotImplementedError, ValueError):
            pass
        if detached:
            try:
                dev.attach_kernel_driver(INTERFACE)
            except (usb.core.USBError, NotImplementedError):
                pass
        try:
            usb.util.dispose_resources(dev)
        except (usb.core.USBError, NotImplementedError):
            pass

    def _close_sync(self) -> None:
        with self._lock:
            dev, self._dev = self._dev, None
            if dev is not None:
                self._give_back(dev, self._detached)
            self._detached = False

    async def close(self) -> None:
        if self._dev is not None:
            await asyncio.to_thread(self._close_sync)

    # --- exchange ------------------------------------------------------------------------------

    def _drain_sync(self) -> bytes:
        import usb.core
        out = bytearray()
        ms = max(1, int(self.timing.drain_timeout * 1000))
        with self._lock:
            dev = self._dev
            if dev is None:
                raise Pi30DeviceGone(f"{self.description} is closed")
            for _ in range(64):                 # a stuck device cannot keep us here
                try:
                    out += bytes(dev.read(ENDPOINT_IN, 8, timeout=ms))
                except usb.core.USBError as exc:
                    if _is_timeout(exc):
                        break
                    self._lost(dev)
                    raise self._usb_error(exc, "draining") from None
        return bytes(out)

    def _exchange_sync(self, request: bytes, timeout: float) -> bytes:
        import usb.core
        t = self.timing
        with self._lock:
            dev = self._dev
            if dev is None:
                raise Pi30DeviceGone(f"{self.description} is closed")
            try:
                for i, chunk in enumerate(hid_chunks(request)):
                    if i and t.chunk_gap > 0:
                        time.sleep(t.chunk_gap)
                    dev.ctrl_transfer(*SET_REPORT, chunk, timeout=int(t.write_timeout * 1000))
                if t.first_read_delay > 0:
                    time.sleep(t.first_read_delay)

                def read(remaining: float) -> bytes:
                    ms = max(1, int(min(t.read_timeout, remaining) * 1000))
                    try:
                        return bytes(dev.read(ENDPOINT_IN, 8, timeout=ms))
                    except usb.core.USBError as exc:
                        if _is_timeout(exc):
                            return b""
                        raise

                return read_until_cr(read, timeout)
            except usb.core.USBError as exc:
                self._lost(dev)
                if getattr(exc, "errno", None) in (errno.ENODEV, errno.EIO, errno.ENOENT):
                    raise Pi30DeviceGone(f"{self.description} disappeared during "
                                         f"{command_of(request)} (unplugged?)") from None
                raise self._usb_error(exc, f"during {command_of(request)}") from None

    def _lost(self, dev) -> None:
        """Forget a device that failed mid-transfer (lock held); the next call finds it anew."""
        self._dev = None
        import usb.util
        try:
            usb.util.dispose_resources(dev)
        except Exception:  # pylint: disable=broad-except  # the device is gone anyway
            pass

    async def exchange(self, request: bytes, timeout: float | None = None) -> bytes:
        """Send one request frame; return the raw reply bytes (see Pi30SerialTransport)."""
        await self.connect()
        stale = await asyncio.to_thread(self._drain_sync)
        if stale:
            self._emit("rx", stale)
        self._emit("tx", request)
        t = self.timing.timeout if timeout is None else timeout
        raw = await asyncio.to_thread(self._exchange_sync, request, t)
        if not raw:
            raise NoAnswer(f"no answer to {command_of(request)} within {t * 1000:.0f} ms "
                           f"on {self.description}")
        self._emit("rx", raw)
        return raw
