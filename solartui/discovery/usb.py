"""USB discovery: list USB devices (pyusb) and HID raw nodes (/dev/hidraw* via sysfs), and
recognise the ones solartui can talk to.

Why both listings: pyusb sees every device, with manufacturer and product strings when the
person may read them, but needs libusb; the kernel's hidraw nodes need nothing but sysfs and are
what a PI30 inverter (Voltronic/Axpert, USB HID 0665:5161) is opened through on Linux. Either can
be missing (no libusb, no USB at all, a container): listing then returns what it can and never
raises.

Identification of a PI30 device by its `QPI` query is a hook, `scan_usb(identify_pi30=...)`
(discovery.pi30_identify gives it), so listing stays free of the PI30 link.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Awaitable, Callable

from solartui.discovery.results import Found, OnFound, OnProgress, Progress
from solartui.errors import SolartuiError

HIDRAW_SYSFS = "/sys/class/hidraw"
PI30_VID_PID = (0x0665, 0x5161)
KNOWN_USB: dict[tuple[int, int], str] = {
    PI30_VID_PID: "Voltronic/Axpert-style inverter (PI30 over USB HID; also used by some UPSes)",
}
PI30_PENDING = "not identified (QPI not asked)"

IdentifyPi30 = Callable[[Found], Awaitable["Found | None"]]


@dataclass(frozen=True)
class UsbDeviceInfo:
    vid: int
    pid: int
    source: str                      # "pyusb" or "hidraw"
    manufacturer: str | None = None
    product: str | None = None
    serial_number: str | None = None
    bus: int | None = None           # pyusb only
    address: int | None = None       # pyusb only
    path: str | None = None          # hidraw only: /dev/hidrawN
    name: str | None = None          # hidraw only: the kernel's HID_NAME

    @property
    def id(self) -> str:
        return f"{self.vid:04x}:{self.pid:04x}"

    @property
    def description(self) -> str:
        words = " ".join(x for x in (self.manufacturer, self.product) if x) or self.name or ""
        where = self.path or (f"bus {self.bus} address {self.address}"
                              if self.bus is not None else "")
        return " ".join(x for x in (self.id, words, f"({where})" if where else "") if x)


# --- pure helpers --------------------------------------------------------------------------------

def parse_hid_uevent(text: str) -> tuple[int, int, str | None] | None:
    """(vid, pid, name) from a hidraw device's uevent (HID_ID=0003:00000665:00005161,
    HID_NAME=...), or None when it carries no readable HID_ID."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    parts = values.get("HID_ID", "").split(":")
    if len(parts) != 3:
        return None
    try:
        vid, pid = int(parts[1], 16), int(parts[2], 16)
    except ValueError:
        return None
    if not (0 <= vid <= 0xFFFF and 0 <= pid <= 0xFFFF):
        return None
    return vid, pid, values.get("HID_NAME") or None


def recognise(vid: int, pid: int) -> str | None:
    """What solartui knows a VID:PID to be, or None."""
    return KNOWN_USB.get((vid, pid))


# --- listing -------------------------------------------------------------------------------------

def list_hidraw(sysfs_root: str | os.PathLike = HIDRAW_SYSFS,
                dev_root: str = "/dev") -> list[UsbDeviceInfo]:
    """Every hidraw node the kernel lists under `sysfs_root` (read from its uevent file)."""
    root = Path(sysfs_root)
    try:
        entries = sorted(root.iterdir(), key=lambda p: (len(p.name), p.name))
    except OSError:
        return []
    out = []
    for entry in entries:
        try:
            text = (entry / "device" / "uevent").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        parsed = parse_hid_uevent(text)
        if parsed is None:
            continue
        vid, pid, name = parsed
        out.append(UsbDeviceInfo(vid, pid, "hidraw", path=f"{dev_root.rstrip('/')}/{entry.name}",
                                 name=name))
    return out


def _usb_string(dev, attr: str) -> str | None:
    # reading a string descriptor opens the device: without permission pyusb raises
    # ValueError ("no langid"), USBError or NotImplementedError depending on the backend
    try:
        value = getattr(dev, attr)
    except Exception:  # pylint: disable=broad-except
        return None
    return (value.strip() or None) if isinstance(value, str) else None


def list_pyusb(backend=None) -> list[UsbDeviceInfo]:
    """Every USB device pyusb sees ([] when pyusb has no backend, i.e. libusb is missing)."""
    try:
        import usb.core
    except ImportError:
        return []
    out = []
    try:
        for dev in usb.core.find(find_all=True, backend=backend):
            try:
                vid, pid = int(dev.idVendor), int(dev.idProduct)
            except Exception:  # pylint: disable=broad-except
                continue
            out.append(UsbDeviceInfo(
                vid, pid, "pyusb", manufacturer=_usb_string(dev, "manufacturer"),
                product=_usb_string(dev, "product"),
                serial_number=_usb_string(dev, "serial_number"),
                bus=getattr(dev, "bus", None), address=getattr(dev, "address", None)))
    except Exception:  # pylint: disable=broad-except  # NoBackendError, USBError, OSError...
        pass
    return out


def list_usb_devices(*, sysfs_root: str | os.PathLike = HIDRAW_SYSFS, dev_root: str = "/dev",
                     backend=None, use_pyusb: bool = True) -> list[UsbDeviceInfo]:
    """pyusb's devices, then the hidraw nodes; what can be listed, never an exception."""
    return (list_pyusb(backend) if use_pyusb else []) + list_hidraw(sysfs_root, dev_root)


# --- scan ----------------------------------------------------------------------------------------

def recognised(devices: list[UsbDeviceInfo]) -> list[Found]:
    """One Found per recognised device: per hidraw node where there is one; a device pyusb sees
    without a hidraw node of the same VID:PID gets a hid://VID:PID target."""
    out = []
    with_node = {(d.vid, d.pid) for d in devices if d.source == "hidraw"}
    for d in devices:
        what = recognise(d.vid, d.pid)
        if what is None:
            continue
        if d.source == "hidraw":
            target, link = f"hidraw://{d.path}", f"{d.path} (USB {d.id})"
        elif (d.vid, d.pid) in with_node:
            continue                 # reported through its hidraw node
        else:
            pinned = d.bus is not None and d.address is not None
            target = f"hid://{d.id}" + (f"?bus={d.bus}&address={d.address}" if pinned else "")
            link = f"USB {d.id}" + (f" bus {d.bus} address {d.address}" if pinned else "")
        names = " ".join(x for x in (d.manufacturer, d.product) if x) or d.name
        detail = what + (f" [{names}]" if names else "") + f"; {PI30_PENDING}"
        out.append(Found(kind="usb", target=target, link=link, serial=d.serial_number,
                         detail=detail))
    return out


async def scan_usb(*, on_found: OnFound | None = None, on_progress: OnProgress | None = None,
                   identify_pi30: IdentifyPi30 | None = None,
                   sysfs_root: str | os.PathLike = HIDRAW_SYSFS, dev_root: str = "/dev",
                   backend=None, use_pyusb: bool = True) -> list[Found]:
    """List USB devices and report the recognised ones (today: PI30 inverters, 0665:5161).

    `identify_pi30(found)` is the hook for the PI30 `QPI` identification: it gets the preliminary
    Found and returns an identified one (or None: keep the preliminary). Without it, each result
    says it was not identified. A SolartuiError from the hook is kept in the
    result's detail; cancellation passes through."""
    devices = await asyncio.to_thread(list_usb_devices, sysfs_root=sysfs_root, dev_root=dev_root,
                                      backend=backend, use_pyusb=use_pyusb)
    candidates = recognised(devices)
    progress = Progress(scan="usb", total=len(candidates),
                        note=f"{len(devices)} USB/HID device(s) listed")
    if on_progress is not None:
        on_progress(replace(progress))
    found = []
    for item in candidates:
        progress.note = f"identifying {item.link}"
        if identify_pi30 is not None:
            try:
                item = await identify_pi30(item) or item
            except SolartuiError as exc:
                item = replace(item, detail=f"{item.detail.replace(PI30_PENDING, '').rstrip('; ')}"
                                            f"; QPI failed: {exc}")
        found.append(item)
        if on_found is not None:
            on_found(item)
        progress.done += 1
        if on_progress is not None:
            on_progress(replace(progress))
    return found
