"""One power balance for every simulated plant: grid = PV + battery − load, export limiting, and
the two site faults commissioning checks look for.

Why one module: the Growatt register bank and the GivEnergy plant must agree on what a reversed
CT or an ignored export limit looks like, so a check that passes on one and fails on the other
tells us about the check, not about two simulators. Signs: grid + export / − import, battery
+ discharge / − charge (the GivEnergy convention, protocols/givenergy.md §8.4). No I/O here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class PlantFaults:
    """Ways the simulated site can be wrong; change them while it runs (like `Faults`)."""

    reversed_ct: bool = False           # the grid CT clamped the wrong way: its sign is flipped
    ignore_export_limit: bool = False   # an export limit is set but the inverter exports anyway


FAULT_NAMES = ("reversed-ct", "ignore-export-limit")


def apply_fault(faults: PlantFaults, name: str) -> bool:
    """Turn on a fault by its CLI name (reversed-ct, ignore-export-limit); False: not one."""
    key = name.strip().replace("-", "_")
    if key in ("reversed_ct", "ignore_export_limit"):
        setattr(faults, key, True)
        return True
    return False


@dataclass(frozen=True)
class Flows:
    """One instant of the site, in watts."""

    pv: float                # what the panels deliver (after any curtailment)
    load: float              # the house
    battery: float           # + discharge, − charge
    grid: float              # true flow at the meter point: + export, − import
    grid_ct: float           # what the CT reports (the true flow, or its negative when reversed)
    curtailed: float = 0.0   # PV held back to honour the export limit


def sun_fraction(hour_of_day: float) -> float:
    """0 at night, a sine from 06:00 to 20:00 peaking at 13:00."""
    return math.sin(math.pi * (hour_of_day - 6) / 14) if 6 <= hour_of_day < 20 else 0.0


def house_load(now: float, noise: float = 0.0, base: float = 420.0) -> float:
    """A house load that wanders slowly around `base` watts."""
    return max(base + 180 * math.sin(now / 97.0) + noise, 0.0)


def balance(pv: float, load: float, battery: float, *, export_limit_w: float | None = None,
            faults: PlantFaults | None = None) -> Flows:
    """The grid flow that results, with export limiting as the inverter does it: it acts on
    what its CT says, so a reversed CT (reading import) never curtails, and an ignored limit
    never does either."""
    f = faults or PlantFaults()
    grid = pv + battery - load
    ct_sign = -1.0 if f.reversed_ct else 1.0
    curtailed = 0.0
    if export_limit_w is not None and not f.ignore_export_limit:
        seen_export = ct_sign * grid
        if seen_export > export_limit_w:
            curtailed = min(seen_export - export_limit_w, max(pv, 0.0))
            pv -= curtailed
            grid -= curtailed
    return Flows(pv=pv, load=load, battery=battery, grid=grid, grid_ct=ct_sign * grid,
                 curtailed=curtailed)
