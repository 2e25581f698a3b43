"""A reading as the JSON on `{base}/{device}/state` (or `/buffered`): what Home Assistant's
value templates, Node-RED flows and InfluxDB (telegraf's mqtt_consumer) read.

    {"time": "2026-12-04T15:11:21+00:00", "epoch": 1796397081.0, "device": "abc123",
     "serial": "ABC123", "map": "growatt-protocol-ii", "buffered": false,
     "values": {"pv1_voltage": 231.4, "status": "normal", ...}}

Values are engineering units (the map's scale applied; the unit is the map's, also in the Home
Assistant discovery config); a point with labels (enum, special values, bit names) is its label.
A point that failed to read is absent, not null. `time` is the reading's own time: for a
datalogger record its time stamp (the datalogger's clock, which the server syncs), otherwise when
it was read. A buffered record (history sent after an outage) goes to `/buffered`, never `/state`.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone

from solartui.mqtt.model import DeviceInfo, Message, StateReading
from solartui.mqtt.topics import Topics


def engineering(reading) -> object | None:
    """The published value of one Reading (register maps) or field (PI30); None if it failed."""
    d = getattr(reading, "decoded", None)
    if d is None:
        return None
    raw, value = getattr(d, "raw", None), d.value
    p = getattr(reading, "point", None)
    if isinstance(raw, int) and p is not None and (
            (getattr(p, "special", None) and raw in p.special) or getattr(p, "enum", None)
            or getattr(p, "bits", None) is not None):
        return d.text
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (int, float, str, bool)):
        return value
    return d.text


def values_of(readings) -> dict:
    """{point name: value} of the readings that decoded."""
    out: dict = {}
    for r in readings:
        if getattr(r, "absent", False):
            continue
        v = engineering(r)
        if v is not None:
            out[r.point.name] = v
    return out


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def state_message(topics: Topics, device: DeviceInfo, reading: StateReading) -> Message:
    body = {"time": iso(reading.time), "epoch": round(reading.time, 3),
            "device": device.device_id, "serial": device.serial, "map": device.map_id,
            "buffered": reading.buffered, "values": reading.values}
    topic = (topics.buffered if reading.buffered else topics.state)(device.device_id)
    return Message(topic, json.dumps(body, ensure_ascii=False, separators=(",", ":"),
                                     default=str))


# --- the serve path: 1,000 records/s, so only what is published is decoded ----------------------

def published_points(device_map) -> tuple[str, ...] | None:
    """The point names the map publishes (its `publish:` section, registers/publish_spec.py);
    None (every point) where that section's code is not there or says nothing."""
    try:
        from solartui.registers.publish_spec import publish_for
    except ImportError:
        return None
    try:
        names = publish_for(device_map).state_names   # + remote-safe settings: their entities show them
    except Exception:
        return None
    return names or None


_PLANS: dict[tuple, tuple] = {}


def _plan(device_map, table: str, names: tuple[str, ...] | None) -> tuple:
    """The map's readable points of `table` (those in `names`), sorted by address: computed once."""
    key = (id(device_map), table, names)
    plan = _PLANS.get(key)
    if plan is None:
        wanted = None if names is None else set(names)
        plan = tuple(sorted((p for p in device_map.points
                             if p.table == table and p.readable
                             and (wanted is None or p.name in wanted)),
                            key=lambda p: p.address))
        if len(_PLANS) > 64:
            _PLANS.clear()
        _PLANS[key] = plan
    return plan


def group_values(device_map, groups, names: tuple[str, ...] | None = None,
                 table: str = "input") -> dict:
    """{point: value} straight from a record's register groups, decoding only `names` (None:
    every readable point): a point is decoded when all its words lie inside one group."""
    from solartui.errors import CodecError
    from solartui.registers.codec import decode
    from solartui.devices.readings import Reading
    out: dict = {}
    plan = _plan(device_map, table, names)
    for g in groups:
        end = g.start + len(g.words) - 1
        for p in plan:
            if p.address < g.start:
                continue
            if p.address > end:
                break
            if p.end > end or p.name in out:
                continue
            try:
                d = decode(p, list(g.words[p.address - g.start:p.end - g.start + 1]))
            except CodecError:
                continue
            v = engineering(Reading(p, d, 0.0))
            if v is not None:
                out[p.name] = v
    return out
