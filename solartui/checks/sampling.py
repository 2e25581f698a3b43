"""Reading named points from any device kind, as plain numbers and labels, for the checks.

Why: a check names points by the roles of the map's checks section; whether they are Modbus
registers (a poll) or PI30 fields (queries) is the device's business. Every read goes through
the device's paced link like any other read.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from solartui.registers.checks_spec import ChecksSpec


@dataclass
class Sample:
    time: float
    values: dict[str, Any] = field(default_factory=dict)     # name -> value (None: unread)
    texts: dict[str, str] = field(default_factory=dict)      # name -> as shown (label, unit)
    errors: dict[str, str] = field(default_factory=dict)


def _is_pi30(dev) -> bool:
    return getattr(dev, "kind", "") == "pi30"


async def read(dev, names: list[str]) -> Sample:
    """One paced read of these points (or PI30 fields)."""
    names = list(dict.fromkeys(names))
    if _is_pi30(dev):
        readings = await dev.poll([dev.field(n) for n in names])
    else:
        readings = await dev.poll([dev.map.point(n) for n in names])
    s = Sample(time.time())
    for r in readings:
        name = r.point.name
        if r.ok:
            s.values[name] = r.decoded.value
            s.texts[name] = r.decoded.text
        else:
            s.values[name] = None
            s.errors[name] = str(r.error or "unreadable")
    return s


def total(sample: Sample, names) -> float | None:
    """The sum of these points' values (None when any is unread or not a number)."""
    out = 0.0
    for n in names:
        v = sample.values.get(n)
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            return None
        out += float(v)
    return out


def grid(spec: ChecksSpec, sample: Sample) -> float | None:
    """Grid power, + export / − import, from a signed point or from two unsigned flows."""
    if spec.role("grid_power"):
        return total(sample, spec.role("grid_power"))
    exp = total(sample, spec.role("grid_export_power"))
    imp = total(sample, spec.role("grid_import_power"))
    return None if exp is None or imp is None else exp - imp


def battery(spec: ChecksSpec, sample: Sample) -> float:
    """Battery power, + discharge / − charge (0 where the map has no battery points)."""
    if spec.role("battery_power"):
        return total(sample, spec.role("battery_power")) or 0.0
    if spec.has_battery_power:
        dis = total(sample, spec.role("battery_discharge_power")) or 0.0
        chg = total(sample, spec.role("battery_charge_power")) or 0.0
        return dis - chg
    return 0.0


def grid_names(spec: ChecksSpec) -> list[str]:
    return [*spec.role("grid_power"), *spec.role("grid_export_power"),
            *spec.role("grid_import_power")]


def battery_names(spec: ChecksSpec) -> list[str]:
    return [*spec.role("battery_power"), *spec.role("battery_charge_power"),
            *spec.role("battery_discharge_power")]


async def over_window(dev, names: list[str], window_s: float, samples: int) -> list[Sample]:
    """`samples` reads spread over `window_s` seconds (at least one; the link's pacing may
    stretch it: a read is never hurried)."""
    samples = max(1, samples)
    gap = window_s / (samples - 1) if samples > 1 else 0.0
    out = []
    start = time.monotonic()
    for i in range(samples):
        wait = start + i * gap - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        out.append(await read(dev, names))
    return out
