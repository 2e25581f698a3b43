"""What a scan reports: devices found (with a target URL to open them) and progress with an ETA.

Scanners take two optional callbacks, on_found(Found) and on_progress(Progress), so the CLI and
the TUI show results as they come; cancelling the scanning task stops a scan.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Found:
    kind: str                    # "modbus-rtu", "modbus-tcp", "usb", "tcp-port"
    target: str                  # a URL `solartui read` takes, or "" when there is none yet
    link: str                    # e.g. "/dev/ttyUSB0 9600 8N1 unit 1" or "127.0.0.2:502"
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    map_id: str | None = None    # None: answered, but no map fits (open it in the browser)
    detail: str = ""
    why: str = ""                # which map identification picked and why (devices/identify.py)

    def title(self) -> str:
        if self.map_id:
            # the serial first: it is what tells two inverters of one model apart
            who = " ".join(x for x in (self.vendor, self.serial) if x) or self.map_id
            extra = ", ".join(f"{k} {v}" for k, v in (("model", self.model),
                                                       ("firmware", self.firmware)) if v)
            return f"{who} at {self.link}" + (f" ({extra})" if extra else "")
        what = {"modbus-rtu": "unknown Modbus device", "modbus-tcp": "unknown Modbus TCP device",
                "usb": "USB device", "tcp-port": "open port"}.get(self.kind, self.kind)
        return f"{what} at {self.link}" + (f" — {self.detail}" if self.detail else "")

    def as_json(self) -> dict:
        return {"kind": self.kind, "target": self.target, "link": self.link,
                "vendor": self.vendor, "model": self.model, "serial": self.serial,
                "firmware": self.firmware, "map": self.map_id, "detail": self.detail,
                "why": self.why}


@dataclass
class Progress:
    scan: str                    # what is being scanned: a port path, a CIDR, "usb"
    total: int
    done: int = 0
    note: str = ""               # what is being tried now, e.g. "9600 8N1 unit 7"
    started: float = field(default_factory=time.monotonic)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @property
    def eta(self) -> float | None:
        """Seconds left, from the pace so far (None until something is done)."""
        if not self.done or self.done >= self.total:
            return None if self.done < self.total else 0.0
        spent = time.monotonic() - self.started
        return spent / self.done * (self.total - self.done)


OnFound = Callable[[Found], None]
OnProgress = Callable[[Progress], None]
