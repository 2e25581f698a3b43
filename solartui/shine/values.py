"""Data records decoded into named values with units, through the same Growatt map as Modbus.

A 0x04/0x50 record carries verbatim input-register groups and a 0x03 announce holding-register
groups, so each group is fed to the map's codec exactly as an FC04/FC03 reply would be: a point is
decoded when all its words are inside one group. Points a record does not cover are simply absent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime

from solartui.devices.readings import Reading
from solartui.errors import CodecError
from solartui.registers.codec import decode, scaled, words_to_raw
from solartui.registers.model import DeviceMap


@dataclass(eq=False)
class RecordValues:
    """The latest reading of one inverter, from one data record.

    The groups are kept raw and decoded on first use: a server with a thousand dataloggers
    ingests every record but only decodes the ones someone looks at.
    """

    inverter: str
    received: float                    # host time the record arrived
    timestamp: datetime | None         # the datalogger's own time stamp (local time, no zone)
    buffered: bool                     # history sent after an outage, not a live value
    groups: tuple = ()
    device_map: DeviceMap | None = field(default=None, repr=False)
    layout: str = ""                   # the map chosen and why, or "unknown layout: ..." (layouts.py)

    @cached_property
    def readings(self) -> tuple[Reading, ...]:
        if self.device_map is None:
            return ()
        return tuple(decode_groups(self.device_map, "input", self.groups, self.received))

    def as_json(self) -> dict:
        return {"inverter": self.inverter, "received": round(self.received, 3),
                "timestamp": self.timestamp.isoformat() if self.timestamp else None,
                "buffered": self.buffered,
                **({"layout": self.layout} if self.layout else {}),
                "values": {r.point.name: {"value": r.decoded.value, "unit": r.point.unit,
                                          "text": r.decoded.text}
                           for r in self.readings if r.decoded}}


def decode_groups(device_map: DeviceMap, table: str, groups, when: float | None = None) -> list[Reading]:
    """One Reading per map point of `table` whose words all lie inside one group."""
    when = time.time() if when is None else when
    out: list[Reading] = []
    for g in groups:
        end = g.start + len(g.words) - 1
        for p in device_map.points:
            if p.table != table or not p.readable or p.address < g.start or p.end > end:
                continue
            words = list(g.words[p.address - g.start:p.end - g.start + 1])
            try:
                out.append(Reading(p, decode(p, words), when))
            except CodecError as exc:
                out.append(Reading(p, None, when, error=str(exc)))
    return out


def record_values(device_map: DeviceMap, record, when: float | None = None) -> RecordValues:
    when = time.time() if when is None else when
    return RecordValues(record.inverter, when, record.timestamp, record.buffered, record.groups,
                        device_map)


def identity_from_groups(device_map: DeviceMap, groups) -> dict:
    """Serial, firmware, model... from an announce's holding groups, as `identify` would read them."""
    out: dict = {}
    for name, f in device_map.identify.items():
        if f.table != "holding":
            continue
        for g in groups:
            if g.start <= f.address and f.end <= g.start + len(g.words) - 1:
                words = list(g.words[f.address - g.start:f.end - g.start + 1])
                try:
                    raw = words_to_raw(f.type, words, f.words)
                except CodecError:
                    break
                if name == "model" and isinstance(raw, int):
                    out[name] = f"0x{raw:08X}"
                else:
                    out[name] = raw.strip() if isinstance(raw, str) else scaled(raw, f.scale)
                break
    return out
