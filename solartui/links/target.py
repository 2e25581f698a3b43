"""Target URLs: how a person names a device on the command line.

  tcp://HOST[:PORT]?unit=1                       Modbus TCP (port 502 by default)
  rtu:///dev/ttyUSB0?baud=9600&parity=N&unit=1   Modbus RTU on a serial port

Optional on both: timeout=<ms>, period=<ms> (override the map's minimum command period).
A malformed URL raises TargetError with one line saying what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlsplit

from solartui.errors import TargetError

SCHEMES = ("tcp", "rtu")
BAUDS = (1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200)
COMMON_KEYS = {"unit", "timeout", "period"}
SCHEME_KEYS = {"tcp": COMMON_KEYS, "rtu": COMMON_KEYS | {"baud", "parity", "stopbits"}}


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

    @property
    def link_key(self) -> str:
        """What identifies the physical link: devices sharing it share one scheduler."""
        return f"tcp://{self.host}:{self.port}" if self.scheme == "tcp" else f"rtu://{self.path}"

    def with_unit(self, unit: int) -> "Target":
        return replace(self, unit=unit)

    def __str__(self) -> str:
        q = []
        if self.unit is not None:
            q.append(f"unit={self.unit}")
        if self.scheme == "rtu":
            if self.baud:
                q.append(f"baud={self.baud}")
            if self.parity:
                q.append(f"parity={self.parity}")
        query = ("?" + "&".join(q)) if q else ""
        return f"{self.link_key}{query}"


def _int(key: str, text: str, lo: int, hi: int) -> int:
    try:
        v = int(text)
    except ValueError:
        raise TargetError(f"{key}={text!r} is not a whole number") from None
    if not lo <= v <= hi:
        raise TargetError(f"{key}={v} is outside {lo}-{hi}")
    return v


def parse_target(url: str) -> Target:
    url = url.strip()
    if "://" not in url:
        raise TargetError(f"{url!r} is not a target URL: use tcp://HOST:PORT?unit=1 or "
                          "rtu:///dev/ttyUSB0?baud=9600&unit=1")
    try:
        parts = urlsplit(url)
        port_text = parts.port
    except ValueError as exc:
        raise TargetError(f"bad target URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise TargetError(f"unknown scheme '{scheme}://' (use tcp:// or rtu://)")
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
    if scheme == "tcp":
        if not parts.hostname:
            raise TargetError(f"{url!r} names no host (tcp://HOST:PORT)")
        if parts.path not in ("", "/"):
            raise TargetError(f"tcp:// takes no path, got {parts.path!r}")
        if port_text == 0:
            raise TargetError(f"port 0 cannot be connected to (leave it out for 502): {url!r}")
        return Target("tcp", host=parts.hostname, port=502 if port_text is None else port_text,
                      unit=unit, timeout_ms=timeout, period_ms=period)
    if parts.netloc:
        raise TargetError(f"rtu:// takes a device path, not a host: rtu:///dev/ttyUSB0 "
                          f"(three slashes), got {url!r}")
    if not parts.path or parts.path == "/":
        raise TargetError(f"{url!r} names no serial device (rtu:///dev/ttyUSB0)")
    baud = None
    if "baud" in query:
        baud = _int("baud", query["baud"], 1, 4_000_000)
        if baud not in BAUDS:
            raise TargetError(f"baud={baud} is not a standard rate ({', '.join(map(str, BAUDS))})")
    parity = query.get("parity")
    if parity is not None:
        parity = parity.upper()
        if parity not in ("N", "E", "O"):
            raise TargetError(f"parity={query['parity']!r} must be N, E or O")
    stopbits = _int("stopbits", query["stopbits"], 1, 2) if "stopbits" in query else 1
    return Target("rtu", path=parts.path, unit=unit, baud=baud, parity=parity,
                  stopbits=stopbits, timeout_ms=timeout, period_ms=period)
