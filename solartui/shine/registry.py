"""What the server knows: the dataloggers connected now and the inverters behind them.

Why a separate room: the HTTP API, the TUI pane and the CLI all read this, and grottserver's
registry JSON (the shape scripts parse) is rendered from it here and nowhere else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from solartui.shine.values import RecordValues


@dataclass
class InverterState:
    serial: str
    unit: int                          # unit byte from its announce/data header: 0x01, 0x51 ...
    first_seen: float = field(default_factory=time.time)
    last_seen: float = field(default_factory=time.time)
    records: int = 0
    buffered: int = 0
    announced: bool = False
    identity: dict = field(default_factory=dict)       # from the announce's holding groups
    latest: RecordValues | None = None
    holding: dict[int, int] = field(default_factory=dict)   # 0x05/0x06 replies, raw words
    input_words: dict[int, int] = field(default_factory=dict)   # latest live record, FC04 words
    input_at: float | None = None      # when those arrived
    # which map decodes its records (shine/layouts.py): the announce's word, then each record's
    announced_family: tuple | None = None
    layout_text: str = ""

    def as_json(self) -> dict:
        return {"serial": self.serial, "unit": self.unit, "records": self.records,
                "buffered": self.buffered, "announced": self.announced,
                "last_seen": round(self.last_seen, 3), "identity": self.identity,
                "layout": self.layout_text or None,
                "latest": self.latest.as_json() if self.latest else None}


@dataclass
class LoggerState:
    serial: str
    ip: str
    port: int
    protocol: int
    connection: object = field(repr=False, default=None)   # the live Connection that owns it
    connected_at: float = field(default_factory=time.time)
    last_seen: float = field(default_factory=time.time)
    records: int = 0
    inverters: dict[str, InverterState] = field(default_factory=dict)
    registers: dict[int, bytes] = field(default_factory=dict)   # 0x19 replies and 0x29 dumps
    clock_sent: str | None = None      # the last date-time string sent
    clock_status: str = "not synced"
    clock_synced_at: float | None = None
    clock_offset_sent: float | None = None     # UTC offset (s) of the zone at that sync
    previous: str | None = None        # ip:port of the connection it had before this one
    moved: bool = False                # ... from another IP address (not just a new port)
    changed_at: float | None = None    # when it came back on this connection
    probed_at: float | None = None     # last liveness check (another connection claimed it)

    def release(self) -> None:
        """Give back what its registers and inverters charged to the server's budget."""
        for store in (self.registers, *(m for inv in self.inverters.values()
                                         for m in (inv.holding, inv.input_words))):
            store.clear()

    @property
    def history(self) -> str:
        """"moved from 10.0.0.5:4211 at 14:02:11" / "reconnected (was :4211) at ..." / ""."""
        if self.previous is None or self.changed_at is None:
            return ""
        at = time.strftime("%H:%M:%S", time.localtime(self.changed_at))
        if self.moved:
            return f"moved from {self.previous} at {at}"
        return f"reconnected (was port {self.previous.rsplit(':', 1)[-1]}) at {at}"

    @property
    def protocol_text(self) -> str:
        return f"{self.protocol:02d}"

    def grott_json(self) -> dict:
        """grottserver's registry shape: ip, port, protocol, then one key per inverter."""
        out: dict = {"ip": self.ip, "port": self.port, "protocol": self.protocol_text}
        for serial, inv in self.inverters.items():
            out[serial] = {"inverterno": f"{inv.unit:02x}", "power": 0}
        return out

    def status_json(self) -> dict:
        """GET /datalogger?command=status: where it is connected, and where it was before."""
        return {"serial": self.serial, "ip": self.ip, "port": self.port,
                "protocol": self.protocol_text, "connected_at": round(self.connected_at, 3),
                "last_seen": round(self.last_seen, 3), "records": self.records,
                "previous": self.previous, "moved": self.moved, "history": self.history,
                "inverters": sorted(self.inverters)}

    def as_json(self) -> dict:
        return {"serial": self.serial, "ip": self.ip, "port": self.port,
                "protocol": self.protocol_text, "records": self.records,
                "connected_at": round(self.connected_at, 3), "last_seen": round(self.last_seen, 3),
                "clock": {"sent": self.clock_sent, "status": self.clock_status},
                "previous": self.previous, "moved": self.moved,
                "registers": {str(k): v.decode("latin-1") for k, v in sorted(self.registers.items())},
                "inverters": [inv.as_json() for inv in self.inverters.values()]}


@dataclass(frozen=True)
class CommandEntry:
    """One command the server sent, and how it ended: the pane's command log."""

    time: float
    datalogger: str
    inverter: str | None
    what: str
    outcome: str
    ok: bool
    seconds: float

    def line(self) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.time))
        who = self.inverter or self.datalogger
        return f"{stamp} {who} {self.what}: {self.outcome} ({self.seconds * 1000:.0f} ms)"
