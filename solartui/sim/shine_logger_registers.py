"""The simulated datalogger's own registers (the 0x18/0x19 space, growatt-shine.md §3.1).

Why a module of its own: which registers a ShineWiFi-X knows, what each holds by default and which
values a write may set are facts of the device, not of the connection handling in shine_logger.
Values are ASCII bytes, as on the wire. No I/O here.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta

INTERVAL, SERIAL, LOCAL_IP, LOCAL_PORT, MAC = 4, 8, 14, 15, 16
SERVER_IP, SERVER_PORT, SERVER_HOST, FIRMWARE = 17, 18, 19, 21
TIME_ZONE, DATE_TIME, REBOOT, SSID, WIFI_PASSWORD, RSSI = 30, 31, 32, 56, 57, 76
TEXT_WRITABLE = frozenset({SERVER_IP, SERVER_HOST, TIME_ZONE, SSID, WIFI_PASSWORD})
CLOCK_FORMAT = "%Y-%m-%d %H:%M:%S"
ACK, NACK = 0, 3
FIRMWARE_VERSION = "3.1.0.5"


def host_time_zone() -> str:
    """The host's UTC offset in the logger's own spelling ("GMT+8", "GMT-3:30")."""
    offset = time.localtime().tm_gmtoff // 60
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset), 60)
    return f"GMT{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def fake_mac(serial: str) -> str:
    """A stable, locally administered MAC per serial (why: two simulated loggers must differ)."""
    digest = hashlib.sha256(serial.encode("latin-1", "replace")).digest()
    octets = bytes((0x02, *digest[:5]))
    return ":".join(f"{b:02X}" for b in octets)


def default_registers(serial: str) -> dict[int, bytes]:
    """What a freshly configured ShineWiFi-X answers to 0x19 (values from [sciurius] and #131)."""
    text = {
        INTERVAL: "5", 5: "1", 6: "32", SERIAL: serial, 10: "0", 11: "0#0#0.0.0.0#0#", 13: "2",
        LOCAL_IP: "192.168.1.50", LOCAL_PORT: "5279", MAC: fake_mac(serial),
        SERVER_IP: "0.0.0.0", SERVER_PORT: "5279", SERVER_HOST: "server.growatt.com",
        FIRMWARE: FIRMWARE_VERSION, TIME_ZONE: host_time_zone(), DATE_TIME: "",
        SSID: "SolarSim", WIFI_PASSWORD: "simulated", RSSI: "-52",
    }
    return {reg: value.encode("latin-1") for reg, value in text.items()}


def logger_time(clock_offset: float) -> datetime:
    """The datalogger's local wall-clock time, whole seconds."""
    return (datetime.now() + timedelta(seconds=clock_offset)).replace(microsecond=0)


def parse_interval(value: bytes) -> float | None:
    """Register 4: minutes as ASCII ("5", "0.5"), 0.1-60; None if the logger would refuse it."""
    try:
        minutes = float(value.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return None
    return minutes if 0.1 <= minutes <= 60 else None


def parse_clock(value: bytes) -> datetime | None:
    """Register 31: "YYYY-MM-DD HH:MM:SS"; None if it is not exactly that."""
    try:
        return datetime.strptime(value.decode("ascii"), CLOCK_FORMAT)
    except (UnicodeDecodeError, ValueError):
        return None


def parse_port(value: bytes) -> int | None:
    try:
        port = int(value.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return None
    return port if 1 <= port <= 65535 else None


def parse_reboot(value: bytes) -> bool | None:
    """Register 32: a number; non-zero reboots, zero is accepted and does nothing."""
    try:
        return float(value.decode("ascii").strip()) != 0
    except (UnicodeDecodeError, ValueError):
        return None


def minutes_text(seconds: float) -> str:
    """An interval in seconds as register 4 would hold it."""
    return f"{seconds / 60:g}"


class LoggerRegisters(dict):
    """dict[int, bytes] whose register 31 is the logger's clock, computed whenever it is read
    with [] or get() (a bulk copy such as dict(registers) may hold a value seconds old)."""

    def __init__(self, values: dict[int, bytes], clock):
        super().__init__(values)
        self._clock = clock            # () -> datetime: the logger's local time
        self._refresh()

    def _refresh(self) -> None:
        super().__setitem__(DATE_TIME, self._clock().strftime(CLOCK_FORMAT).encode("ascii"))

    def __getitem__(self, reg: int) -> bytes:
        if reg == DATE_TIME:
            self._refresh()
        return super().__getitem__(reg)

    def get(self, reg, default=None):
        return self[reg] if reg in self else default
