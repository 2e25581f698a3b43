"""The machine's serial ports, with the common RS485/USB-serial adapters named.

An installer plugs in a USB-RS485 adapter and sees `/dev/ttyUSB0`; this module says what it is
("CH340", "FTDI FT232R", ...) from its USB VID:PID, and names a Raspberry Pi's own UARTs.
Listing goes through pyserial's `comports()`; `adapter_name()` is the pure naming rule.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from serial.tools import list_ports

# (vid, pid) -> friendly chip name. Only chips seen on RS485 sticks and USB cables of inverters.
KNOWN_ADAPTERS: dict[tuple[int, int], str] = {
    (0x1A86, 0x7523): "CH340",
    (0x1A86, 0x5523): "CH341",
    (0x0403, 0x6001): "FTDI FT232R",
    (0x0403, 0x6015): "FTDI FT231X",
    (0x0403, 0x6011): "FTDI FT4232H",
    (0x0403, 0x6014): "FTDI FT232H",
    (0x10C4, 0xEA60): "Silicon Labs CP210x",
    (0x10C4, 0xEA70): "Silicon Labs CP2105",
    (0x067B, 0x2303): "Prolific PL2303",
    (0x067B, 0x23A3): "Prolific PL2303GC",
}
# a chip of a known vendor whose product id is not in the table above
KNOWN_VENDORS: dict[int, str] = {
    0x1A86: "WCH (CH34x)",
    0x0403: "FTDI",
    0x10C4: "Silicon Labs",
    0x067B: "Prolific",
}
PI_UARTS = ("ttyAMA0", "ttyS0", "serial0", "serial1", "ttyAMA1")
_PI_LINKS = ("/dev/serial0", "/dev/serial1")


def adapter_name(vid: int | None, pid: int | None, device: str = "", *,
                 raspberry_pi: bool = True) -> str | None:
    """A friendly name for a port's adapter, or None when it is not one we know.

    `raspberry_pi=False` (a PC) names /dev/ttyS0 as an on-board UART instead of a Pi's.
    """
    if vid is not None and pid is not None:
        name = KNOWN_ADAPTERS.get((vid, pid))
        if name:
            return name
    if vid is not None and vid in KNOWN_VENDORS:
        return KNOWN_VENDORS[vid]
    base = os.path.basename(device or "")
    if base in PI_UARTS:
        if base.startswith("ttyS") and not raspberry_pi:
            return "on-board UART"
        return "Raspberry Pi UART"
    return None


@dataclass(frozen=True)
class SerialPortInfo:
    device: str                      # the path to open, e.g. /dev/ttyUSB0
    vid: int | None = None
    pid: int | None = None
    manufacturer: str | None = None
    product: str | None = None
    serial_number: str | None = None
    description: str = ""
    adapter: str | None = None       # "CH340", "FTDI FT232R", "Raspberry Pi UART", ...

    @property
    def vid_pid(self) -> str | None:
        """`1a86:7523`, or None for a port that is not on USB."""
        if self.vid is None or self.pid is None:
            return None
        return f"{self.vid:04x}:{self.pid:04x}"

    @property
    def usb(self) -> bool:
        return self.vid is not None

    def title(self) -> str:
        """One line for a listing: path, adapter, VID:PID, product and serial."""
        bits = [self.adapter or ""]
        if self.vid_pid:
            bits.append(self.vid_pid)
        prod = " ".join(x for x in (self.manufacturer, self.product) if x)
        if prod:
            bits.append(prod)
        elif self.description and self.description != "n/a" and self.description != self.device:
            bits.append(self.description)
        if self.serial_number:
            bits.append(f"serial {self.serial_number}")
        rest = ", ".join(b for b in bits if b)
        return f"{self.device} ({rest})" if rest else self.device

    def as_json(self) -> dict:
        return {"device": self.device, "vid_pid": self.vid_pid, "manufacturer": self.manufacturer,
                "product": self.product, "serial_number": self.serial_number,
                "description": self.description, "adapter": self.adapter}


def is_raspberry_pi() -> bool:
    try:
        model = Path("/proc/device-tree/model").read_bytes()
    except OSError:
        return False
    return b"Raspberry Pi" in model


def _from_comport(p, pi: bool) -> SerialPortInfo:
    return SerialPortInfo(
        device=p.device, vid=p.vid, pid=p.pid, manufacturer=p.manufacturer, product=p.product,
        serial_number=p.serial_number, description=p.description or "",
        adapter=adapter_name(p.vid, p.pid, p.device, raspberry_pi=pi))


def list_serial_ports() -> list[SerialPortInfo]:
    """Every serial port pyserial sees, USB adapters first, plus a Pi's /dev/serial0|1 links.

    pyserial hides a Pi's mini UART (/dev/ttyS0 is a "platform" device); the /dev/serial0 link
    names whichever UART the Pi routes to its GPIO header, so it is listed instead of its target.
    """
    pi = is_raspberry_pi()
    ports = [_from_comport(p, pi) for p in list_ports.comports()]
    for link in _PI_LINKS:
        if not os.path.exists(link):
            continue
        target = os.path.realpath(link)
        ports = [p for p in ports if os.path.realpath(p.device) != target]
        ports.append(SerialPortInfo(device=link, description=f"{link} -> {target}",
                                    adapter=adapter_name(None, None, link, raspberry_pi=pi)))
    return sorted(ports, key=lambda p: (not p.usb, p.device))
