"""Target URLs: how a person names a device on the command line.

  tcp://HOST[:PORT]?unit=1                       Modbus TCP (port 502 by default)
  rtu:///dev/ttyUSB0?baud=9600&parity=N&unit=1   Modbus RTU on a serial port
  givenergy://HOST[:PORT]                        GivEnergy dongle (port 8899 by default)
  solarman://HOST[:PORT]?serial=N&unit=1         Solarman V5 logger (port 8899 by default);
                                                 N is the logger's (stick's) serial, in decimal
  pi30:///dev/ttyUSB0[?baud=2400]                PI30 inverter on RS232
  hid://0665:5161[?bus=1&address=4]              PI30 inverter on USB, through libusb
  hidraw:///dev/hidraw0                          PI30 inverter on USB, through the kernel
  broadcast:///dev/ttyUSB0?map=outback-flexmax   listen-only device broadcasting status pages
                                                 (baud= overrides the map's line speed)

Optional on all: timeout=<ms>, period=<ms> (override the map's minimum command period).
A malformed URL raises TargetError with one line saying what is wrong; numbers are ASCII digits
only and '#' is refused (urlsplit would drop what follows it). str() gives a URL that parses
back to the same device (IPv6 hosts bracketed; the pacing options are left out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlsplit

from solartui.errors import TargetError

SCHEMES = ("tcp", "rtu", "givenergy", "solarman", "pi30", "hid", "hidraw", "broadcast")
PI30_SCHEMES = ("pi30", "hid", "hidraw")      # command devices (PI30), not Modbus
BAUDS = (1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200)
PACING_KEYS = {"timeout", "period"}
COMMON_KEYS = {"unit"} | PACING_KEYS
SCHEME_KEYS = {"tcp": COMMON_KEYS, "rtu": COMMON_KEYS | {"baud", "parity", "stopbits"},
               "givenergy": COMMON_KEYS, "solarman": COMMON_KEYS | {"serial"},
               "pi30": PACING_KEYS | {"baud"},
               "hid": PACING_KEYS | {"bus", "address"}, "hidraw": PACING_KEYS,
               "broadcast": {"map", "baud", "timeout"}}
DEFAULT_PORTS = {"tcp": 502, "givenergy": 8899, "solarman": 8899}
_HEX4 = re.compile(r"[0-9A-Fa-f]{1,4}")    # ASCII only: int(x, 16) also takes "0_1" and "0x1"
USAGE = ("use tcp://HOST:PORT?unit=1, rtu:///dev/ttyUSB0?baud=9600&unit=1, givenergy://HOST, "
         "solarman://HOST?serial=LOGGER_SERIAL&unit=1, pi30:///dev/ttyUSB0, hid://0665:5161, "
         "hidraw:///dev/hidraw0 or broadcast:///dev/ttyUSB0?map=outback-flexmax")
_MAP_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def url_host(host: str) -> str:
    """A host as it goes into a URL: an IPv6 address in brackets, so the port stays apart."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str = ""
    port: int = 0
    path: str = ""
    unit: int | None = None          # None: take the map's default
    baud: int | None = None          # None: take the map's default
    parity: str | None = None
    stopbits: int = 1
    timeout_ms: int | None = None
    period_ms: int | None = None
    usb_id: tuple[int, int] | None = None     # hid: (vendor id, product id)
    usb_bus: int | None = None                # hid: pin one device by bus + address
    usb_address: int | None = None
    serial: int | None = None                 # solarman: the logger's serial number
    page_map: str | None = None               # broadcast: the page map's id

    @property
    def is_broadcast(self) -> bool:
        """A listen-only device: it broadcasts pages and takes no requests (and no writes)."""
        return self.scheme == "broadcast"

    def pacing_ms(self, period_ms: int, timeout_ms: int) -> tuple[int, int]:
        """(period, timeout) in ms: the URL's period= and timeout= over the map's."""
        return (self.period_ms if self.period_ms is not None else period_ms,
                self.timeout_ms if self.timeout_ms is not None else timeout_ms)

    @property
    def is_pi30(self) -> bool:
        return self.scheme in PI30_SCHEMES

    @property
    def link_key(self) -> str:
        """What identifies the physical link: devices sharing it share one scheduler."""
        if self.scheme in ("tcp", "givenergy"):
            return f"{self.scheme}://{url_host(self.host)}:{self.port}"   # parses back
        if self.scheme == "solarman":           # the serial is part of the link: it parses back
            return f"solarman://{url_host(self.host)}:{self.port}?serial={self.serial}"
        if self.scheme == "hid":
            assert self.usb_id is not None
            return f"hid://{self.usb_id[0]:04x}:{self.usb_id[1]:04x}"
        return f"{self.scheme}://{self.path}"

    def with_unit(self, unit: int) -> "Target":
        return replace(self, unit=unit)

    def __str__(self) -> str:
        q = []
        if self.unit is not None:
            q.append(f"unit={self.unit}")
        if self.page_map is not None:
            q.append(f"map={self.page_map}")
        if self.scheme in ("rtu", "pi30", "broadcast"):
            if self.baud:
                q.append(f"baud={self.baud}")
            if self.parity:
                q.append(f"parity={self.parity}")
        if self.scheme == "broadcast" and self.timeout_ms is not None:
            q.append(f"timeout={self.timeout_ms}")
        if self.scheme == "rtu" and self.stopbits != 1:
            q.append(f"stopbits={self.stopbits}")
        if self.usb_bus is not None:
            q.append(f"bus={self.usb_bus}")
        if self.usb_address is not None:
            q.append(f"address={self.usb_address}")
        key = self.link_key
        query = (("&" if "?" in key else "?") + "&".join(q)) if q else ""
        return f"{key}{query}"


def _int(key: str, text: str, lo: int, hi: int) -> int:
    """ASCII digits only: int() would also take "1_0" (as 10), " 7" and other scripts' digits."""
    if not (text.isascii() and text.isdigit()):
        raise TargetError(f"{key}={text!r} is not a whole number (ASCII digits 0-9 only)")
    v = int(text)
    if not lo <= v <= hi:
        raise TargetError(f"{key}={v} is outside {lo}-{hi}")
    return v


def parse_target(url: str) -> Target:
    url = url.strip()
    if "://" not in url:
        raise TargetError(f"{url!r} is not a target URL: {USAGE}")
    if "#" in url:          # urlsplit would drop everything after it without a word
        raise TargetError(f"'#' cannot appear in a target URL (everything after it would be "
                          f"ignored): {url!r}")
    if any(ord(c) < 0x20 or c == "\x7f" for c in url):   # a NUL cannot reach open(); say so
        raise TargetError(f"a target URL cannot hold control characters: {url!r}")
    try:
        parts = urlsplit(url)
        port_text = parts.port
    except ValueError as exc:
        raise TargetError(f"bad target URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise TargetError(f"unknown scheme '{scheme}://' ({USAGE})")
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in query:
            raise TargetError(f"{key!r} is given twice")
        query[key] = value
    unknown = sorted(set(query) - SCHEME_KEYS[scheme])
    if unknown:
        raise TargetError(f"unknown option(s) {', '.join(map(repr, unknown))} for {scheme}:// "
                          f"(allowed: {', '.join(sorted(SCHEME_KEYS[scheme]))})")
    unit = _int("unit", query["unit"], 1, 255) if "unit" in query else None
    timeout = _int("timeout", query["timeout"], 1, 60000) if "timeout" in query else None
    period = _int("period", query["period"], 0, 60000) if "period" in query else None
    if scheme in DEFAULT_PORTS:
        default = DEFAULT_PORTS[scheme]
        if not parts.hostname:
            raise TargetError(f"{url!r} names no host ({scheme}://HOST:PORT)")
        if parts.path not in ("", "/"):
            raise TargetError(f"{scheme}:// takes no path, got {parts.path!r}")
        if port_text == 0:
            raise TargetError(f"port 0 cannot be connected to (leave it out for {default}): {url!r}")
        serial = None
        if scheme == "solarman":
            if "serial" not in query:
                raise TargetError(f"solarman:// needs the logger's serial number: "
                                  f"solarman://HOST?serial=LOGGER_SERIAL&unit=1, got {url!r}")
            serial = _int("serial", query["serial"], 1, 0xFFFFFFFF)
        return Target(scheme, host=parts.hostname,
                      port=default if port_text is None else port_text,
                      unit=unit, timeout_ms=timeout, period_ms=period, serial=serial)
    if scheme == "hid":
        return _hid_target(url, parts, query, timeout, period)
    example = {"rtu": "rtu:///dev/ttyUSB0", "pi30": "pi30:///dev/ttyUSB0",
               "hidraw": "hidraw:///dev/hidraw0",
               "broadcast": "broadcast:///dev/ttyUSB0?map=outback-flexmax"}[scheme]
    if parts.netloc:
        raise TargetError(f"{scheme}:// takes a device path, not a host: {example} "
                          f"(three slashes), got {url!r}")
    if not parts.path or parts.path == "/":
        what = "HID device" if scheme == "hidraw" else "serial device"
        raise TargetError(f"{url!r} names no {what} ({example})")
    if scheme == "hidraw":
        return Target("hidraw", path=parts.path, timeout_ms=timeout, period_ms=period)
    baud = None
    if "baud" in query:
        baud = _int("baud", query["baud"], 1, 4_000_000)
        if baud not in BAUDS:
            raise TargetError(f"baud={baud} is not a standard rate ({', '.join(map(str, BAUDS))})")
    if scheme == "broadcast":
        page_map = query.get("map", "")
        if not _MAP_ID.fullmatch(page_map):
            raise TargetError("broadcast:// needs map=ID, the page map of the device (e.g. "
                              f"map=outback-flexmax), got {url!r}")
        return Target("broadcast", path=parts.path, baud=baud, timeout_ms=timeout,
                      page_map=page_map)
    parity = query.get("parity")
    if parity is not None:
        parity = parity.upper()
        if parity not in ("N", "E", "O"):
            raise TargetError(f"parity={query['parity']!r} must be N, E or O")
    stopbits = _int("stopbits", query["stopbits"], 1, 2) if "stopbits" in query else 1
    return Target(scheme, path=parts.path, unit=unit, baud=baud, parity=parity,
                  stopbits=stopbits, timeout_ms=timeout, period_ms=period)


def _hid_target(url: str, parts, query: dict[str, str], timeout, period) -> Target:
    """hid://VID:PID (hex), optionally pinned to one device with bus= and address=."""
    ident = parts.netloc or parts.path.strip("/")
    vid_text, sep, pid_text = ident.partition(":")
    if not (sep and _HEX4.fullmatch(vid_text) and _HEX4.fullmatch(pid_text)):
        raise TargetError(f"{url!r}: hid:// takes a USB id VID:PID in hex, "
                          "e.g. hid://0665:5161")
    vid, pid = int(vid_text, 16), int(pid_text, 16)
    if parts.path not in ("", "/") and parts.netloc:
        raise TargetError(f"hid:// takes no path, got {parts.path!r}")
    bus = _int("bus", query["bus"], 0, 255) if "bus" in query else None
    address = _int("address", query["address"], 1, 127) if "address" in query else None
    if (bus is None) != (address is None):
        raise TargetError("hid://: give bus= and address= together, or neither")
    return Target("hid", path=f"{vid:04x}:{pid:04x}", usb_id=(vid, pid), usb_bus=bus,
                  usb_address=address, timeout_ms=timeout, period_ms=period)
