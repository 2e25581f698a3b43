#!/usr/bin/env python3
"""Benchmark: how long telling a GivEnergy family apart takes. Prints figures, asserts nothing.

For each family the simulated dongle presents (its HR0 code and register banks), a loop of
`Session.connect("givenergy://…")` without a map — open the link, read HR(0,60), pick the map
from HR0 (solartui/givenergy/families.py), close — measuring the wall time and the requests the
dongle saw. Twice: with the link's default 0.3 s pacing (what a person waits for) and with
`period=0` (the cost of the work itself). Also a code no map fits (0x6001): the refusal's time.
Then one full read of every point of the chosen map with default pacing (reads × period).

Run: .venv/bin/python bench/givenergy_families.py [--loops 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from solartui.givenergy.families import SIM_CODES, UnsupportedFamily  # noqa: E402
from solartui.session import Session  # noqa: E402
from solartui.sim.givenergy_dongle import GivEnergyDongle  # noqa: E402

FAMILIES = ("hybrid", "ac", "aio", "three-phase", "ems", "gateway", "unknown 0x6001")


async def identify_once(port: int, query: str) -> tuple[float, str]:
    session = Session()
    t0 = time.perf_counter()
    try:
        dev = await session.connect(f"givenergy://127.0.0.1:{port}{query}")
        what = dev.map.id
    except UnsupportedFamily:
        what = "refused"
    finally:
        elapsed = time.perf_counter() - t0
        await session.close()
    return elapsed, what


async def full_read(port: int) -> tuple[float, int, int]:
    session = Session()
    try:
        dev = await session.connect(f"givenergy://127.0.0.1:{port}")
        t0 = time.perf_counter()
        readings = await dev.poll()
        return time.perf_counter() - t0, len(readings), sum(1 for r in readings if r.ok)
    finally:
        await session.close()


async def main(loops: int) -> None:
    print(f"GivEnergy identification by HR0, {loops} connects per family and pacing "
          "(median / max, requests per connect)")
    print(f"  {'family':<16}{'HR0':>7}  {'map':<24}{'paced 0.3 s':>16}{'period=0':>16}"
          f"{'reqs':>6}")
    for family in FAMILIES:
        model = "ems" if family.startswith("unknown") else family
        async with GivEnergyDongle(model=model, heartbeat_interval=None) as dongle:
            if family.startswith("unknown"):
                dongle.set_hr(0, 0x6001)
            cols, what = [], ""
            for query in ("", "?period=0"):
                times = []
                before = dongle.request_count
                for _ in range(loops):
                    t, what = await identify_once(dongle.port, query)
                    times.append(t)
                reqs = (dongle.request_count - before) / loops
                cols.append(f"{statistics.median(times) * 1000:7.1f}/{max(times) * 1000:5.1f} ms")
            print(f"  {family:<16}{dongle.hr(0):>7X}  {what:<24}{cols[0]:>16}{cols[1]:>16}"
                  f"{reqs:>6.0f}")
    print("\nOne poll of every point of the chosen map (default 0.3 s pacing)")
    for family in FAMILIES[:-1]:
        async with GivEnergyDongle(model=family, heartbeat_interval=None) as dongle:
            before = dongle.request_count
            t, n, ok = await full_read(dongle.port)
            reads = dongle.request_count - before - 1      # minus the identification read
            print(f"  {family:<16}{n:>4} points ({ok} ok) in {reads:>2} reads: {t:6.2f} s "
                  f"(floor {(reads - 1) * 0.3:.1f} s = gaps x 0.3 s)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loops", type=int, default=5)
    asyncio.run(main(ap.parse_args().loops))
