"""A pyusb backend holding simulated 0665:5161 PI30 inverters, so the pyusb transport runs end to
end without hardware: `usb.core.find(idVendor=0x0665, idProduct=0x5161, backend=backend)` finds
them, and the transport's real calls (is_kernel_driver_active, detach, set_configuration, claim,
SET_REPORT control transfers, interrupt reads on 0x81, release, attach) reach the simulator.

What the fake device checks, as the real bridge would fail otherwise:
  * host-to-device data only as HID SET_REPORT (0x21, 0x09, wValue 0x0200, wIndex 0) of exactly
    8 bytes (an unpadded chunk stalls: EPIPE);
  * interface 0 must be claimed for transfers, and it cannot be claimed while usbhid holds it
    (EBUSY), nor by two handles at once.
Each completed request (bytes up to CR, padding skipped) goes to the Pi30Inverter; its reply is
queued as 8-byte interrupt reports (the last zero-padded, or carrying the inverter's junk).
`read` blocks up to its timeout and then raises USBTimeoutError, like libusb.

Faults: `deny_access` (EACCES on open, as without the udev rule), `held_by_other` (claim gives
EBUSY, as with NUT's driver attached), `unplug()` / `inverter.faults.unplug_on` (ENODEV from then
on), `inverter.faults.latency` (reports become readable only after it), `pace` (reports arrive at
2400-baud speed, ~33 ms each).
"""

from __future__ import annotations

import array
import errno
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from types import SimpleNamespace

import usb.backend
import usb.core

from solartui.pi30.codec import hid_chunks
from solartui.sim.pi30_inverter import Pi30Inverter

VID, PID = 0x0665, 0x5161
STRINGS = {1: "INNO TECH", 2: "USB to Serial"}
HID_DESCRIPTOR = bytes([0x09, 0x21, 0x11, 0x01, 0x00, 0x01, 0x22, 0x1B, 0x00])


@dataclass
class Pi30UsbDevice:
    """One simulated inverter on the fake bus."""

    inverter: Pi30Inverter
    bus: int = 1
    address: int = 5
    port_numbers: tuple[int, ...] = (1,)
    deny_access: bool = False
    held_by_other: bool = False
    pace: bool = False
    kernel_driver: bool = True           # usbhid bound to interface 0
    present: bool = True
    configuration: int = 1               # the kernel configured it at enumeration (0: not)
    claimed: bool = False
    open_handles: int = 0
    reports_sent: list[bytes] = field(default_factory=list)   # every SET_REPORT payload
    _reports: deque = field(default_factory=deque)            # (ready_at, 8 bytes)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def unplug(self) -> None:
        with self._cond:
            self.present = False
            self._cond.notify_all()

    def replug(self) -> None:
        with self._cond:
            self.present, self.kernel_driver, self.claimed = True, True, False
            self.configuration, self.open_handles = 1, 0
            self._reports.clear()
            self._cond.notify_all()

    def queue_reply(self, reply: bytes, latency: float = 0.0) -> None:
        """Queue `reply` as 8-byte input reports (also usable to inject stale input)."""
        now = time.monotonic() + latency
        with self._cond:
            for i, chunk in enumerate(hid_chunks(reply)):
                ready = now + (i * 8 * 10 / 2400 if self.pace else 0.0)
                self._reports.append((ready, chunk))
            self._cond.notify_all()

    @property
    def pending_reports(self) -> int:
        with self._cond:
            return len(self._reports)


@dataclass
class _Handle:
    device: Pi30UsbDevice
    closed: bool = False


def _gone() -> usb.core.USBError:
    return usb.core.USBError("No such device (it may have been disconnected)", errno=errno.ENODEV)


class Pi30UsbBackend(usb.backend.IBackend):
    """A pyusb backend whose bus holds simulated PI30 inverters (one per `add_device`)."""

    def __init__(self, inverter: Pi30Inverter | None = None, **device_options):
        self.devices: list[Pi30UsbDevice] = []
        if inverter is not None or device_options:
            self.add_device(inverter or Pi30Inverter(), **device_options)

    def add_device(self, inverter: Pi30Inverter | None = None, **options) -> Pi30UsbDevice:
        dev = Pi30UsbDevice(inverter or Pi30Inverter(), **options)
        self.devices.append(dev)
        return dev

    @property
    def device(self) -> Pi30UsbDevice:
        return self.devices[0]

    # --- enumeration and descriptors ------------------------------------------------------------

    def enumerate_devices(self):
        return [d for d in self.devices if d.present]

    def get_parent(self, dev):
        return None

    def get_device_descriptor(self, dev: Pi30UsbDevice):
        return SimpleNamespace(
            bLength=18, bDescriptorType=1, bcdUSB=0x0110, bDeviceClass=0, bDeviceSubClass=0,
            bDeviceProtocol=0, bMaxPacketSize0=8, idVendor=VID, idProduct=PID, bcdDevice=0x0002,
            iManufacturer=1, iProduct=2, iSerialNumber=0, bNumConfigurations=1,
            address=dev.address, bus=dev.bus, port_number=dev.port_numbers[-1],
            port_numbers=dev.port_numbers, speed=1)

    def get_configuration_descriptor(self, dev, config):
        if config != 0:
            raise IndexError("no such configuration")
        return SimpleNamespace(bLength=9, bDescriptorType=2, wTotalLength=34, bNumInterfaces=1,
                               bConfigurationValue=1, iConfiguration=0, bmAttributes=0x80,
                               bMaxPower=50, extra_descriptors=[])

    def get_interface_descriptor(self, dev, intf, alt, config):
        if (intf, alt, config) != (0, 0, 0):
            raise IndexError("no such interface")
        return SimpleNamespace(bLength=9, bDescriptorType=4, bInterfaceNumber=0,
                               bAlternateSetting=0, bNumEndpoints=1, bInterfaceClass=3,
                               bInterfaceSubClass=0, bInterfaceProtocol=0, iInterface=0,
                               extra_descriptors=list(HID_DESCRIPTOR))

    def get_endpoint_descriptor(self, dev, ep, intf, alt, config):
        if (ep, intf, alt, config) != (0, 0, 0, 0):
            raise IndexError("no such endpoint")
        return SimpleNamespace(bLength=7, bDescriptorType=5, bEndpointAddress=0x81,
                               bmAttributes=0x03, wMaxPacketSize=8, bInterval=10, bRefresh=0,
                               bSynchAddress=0, extra_descriptors=[])

    # --- handles -------------------------------------------------------------------------------

    def _dev(self, handle: _Handle) -> Pi30UsbDevice:
        if handle.closed:
            raise usb.core.USBError("Invalid parameter (handle closed)", errno=errno.EINVAL)
        if not handle.device.present:
            raise _gone()
        return handle.device

    def open_device(self, dev: Pi30UsbDevice) -> _Handle:
        if not dev.present:
            raise _gone()
        if dev.deny_access:
            raise usb.core.USBError("Access denied (insufficient permissions)",
                                    errno=errno.EACCES)
        dev.open_handles += 1
        return _Handle(dev)

    def close_device(self, handle: _Handle) -> None:
        if not handle.closed:
            handle.closed = True
            handle.device.open_handles -= 1

    def set_configuration(self, handle, config_value):
        dev = self._dev(handle)
        if dev.claimed or dev.kernel_driver:
            raise usb.core.USBError("Resource busy", errno=errno.EBUSY)
        dev.configuration = config_value

    def get_configuration(self, handle):
        dev = self._dev(handle)
        return dev.configuration

    def set_interface_altsetting(self, handle, intf, altsetting):
        self._dev(handle)

    def claim_interface(self, handle, intf):
        dev = self._dev(handle)
        if intf != 0:
            raise usb.core.USBError("Entity not found", errno=errno.ENOENT)
        if dev.kernel_driver or dev.held_by_other or dev.claimed:
            raise usb.core.USBError("Resource busy", errno=errno.EBUSY)
        dev.claimed = True

    def release_interface(self, handle, intf):
        dev = self._dev(handle)
        dev.claimed = False

    def is_kernel_driver_active(self, handle, intf):
        return self._dev(handle).kernel_driver

    def detach_kernel_driver(self, handle, intf):
        dev = self._dev(handle)
        if not dev.kernel_driver:
            raise usb.core.USBError("Entity not found", errno=errno.ENOENT)
        dev.kernel_driver = False

    def attach_kernel_driver(self, handle, intf):
        dev = self._dev(handle)
        if dev.claimed:
            raise usb.core.USBError("Resource busy", errno=errno.EBUSY)
        dev.kernel_driver = True

    # --- transfers -----------------------------------------------------------------------------

    def ctrl_transfer(self, handle, bmRequestType, bRequest, wValue, wIndex, data, timeout):
        dev = self._dev(handle)
        if bmRequestType == 0x80 and bRequest == 0x06 and (wValue >> 8) == 3:  # GET_DESCRIPTOR
            index = wValue & 0xFF
            if index == 0:
                desc = bytes([4, 3, 0x09, 0x04])
            elif index in STRINGS:
                text = STRINGS[index].encode("utf-16-le")
                desc = bytes([2 + len(text), 3]) + text
            else:
                raise usb.core.USBError("Pipe error", errno=errno.EPIPE)
            n = min(len(desc), len(data))
            data[:n] = array.array("B", desc[:n])
            return n
        if (bmRequestType, bRequest, wValue, wIndex) != (0x21, 0x09, 0x0200, 0):
            raise usb.core.USBError("Pipe error (unsupported request)", errno=errno.EPIPE)
        if not dev.claimed:
            raise usb.core.USBError("Resource busy (interface not claimed)", errno=errno.EBUSY)
        payload = bytes(data)
        if len(payload) != 8:
            raise usb.core.USBError(f"Pipe error (output report of {len(payload)} bytes, "
                                    "expected 8)", errno=errno.EPIPE)
        dev.reports_sent.append(payload)
        inverter = dev.inverter
        for ex in inverter.feed(payload):
            if inverter.faults.unplug_on is not None and ex.command == inverter.faults.unplug_on:
                dev.unplug()
                break
            if ex.reply is not None:
                dev.queue_reply(ex.reply, inverter.faults.latency)
        return len(payload)

    def intr_read(self, handle, ep, intf, buff, timeout):
        dev = self._dev(handle)
        if ep != 0x81:
            raise usb.core.USBError("Invalid parameter (endpoint)", errno=errno.EINVAL)
        if not dev.claimed:
            raise usb.core.USBError("Resource busy (interface not claimed)", errno=errno.EBUSY)
        deadline = time.monotonic() + (timeout / 1000.0 if timeout else 3600.0)
        with dev._cond:
            while True:
                if not dev.present:
                    raise _gone()
                now = time.monotonic()
                if dev._reports and dev._reports[0][0] <= now:
                    _, chunk = dev._reports.popleft()
                    n = min(len(chunk), len(buff))
                    buff[:n] = array.array("B", chunk[:n])
                    return n
                wake = deadline
                if dev._reports:
                    wake = min(wake, dev._reports[0][0])
                if now >= deadline:
                    raise usb.core.USBTimeoutError("Operation timed out", errno=errno.ETIMEDOUT)
                dev._cond.wait(max(0.0, wake - now))

    def intr_write(self, handle, ep, intf, data, timeout):
        raise usb.core.USBError("Pipe error (no interrupt OUT endpoint)", errno=errno.EPIPE)

    def clear_halt(self, handle, ep):
        self._dev(handle)

    def reset_device(self, handle):
        self._dev(handle)
