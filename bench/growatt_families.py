#!/usr/bin/env python3
"""Benchmark: identification time for each Growatt family. Prints figures; nothing here is a
timed test.

For each family (Protocol II, legacy V3.15, SPF off-grid) a Modbus simulator serves that map on
loopback TCP (and on a pty at 9600 8N1), and identification runs as `solartui read` without
--map does: every shipped Modbus map's fingerprint in the data-driven order (identify.probe
hints), on one link paced for the slowest candidate. Per family: the map picked, the reads it
took (and how many ended in an exception), the highest address read (must stay below 30000;
on an SPF it is a hazard, growatt-modbus.md §4.10), the time at Growatt's documented 850 ms
command period, and the time unpaced (period=0: what the protocol exchange itself costs).

The paced figure is reads × 850 ms plus wire time: the period, not the wire, sets it.

Run: .venv/bin/python bench/growatt_families.py [--pty] [--repeat 3]
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

from solartui.devices.identify import HIGH_ADDRESS, choose_map  # noqa: E402
from solartui.devices.register_device import RegisterDevice  # noqa: E402
from solartui.links.pool import LinkPool  # noqa: E402
from solartui.links.target import parse_target  # noqa: E402
from solartui.registers import catalog  # noqa: E402
from solartui.session import merged_spec  # noqa: E402
from solartui.sim import ModbusSimulator, RegisterBank  # noqa: E402
from solartui.sim.register_bank import ILLEGAL_ADDRESS  # noqa: E402
from solartui.sim.serial_wire import serve_on_pty  # noqa: E402

FAMILIES = ["growatt-protocol-ii", "growatt-legacy", "growatt-spf"]


class Counting(RegisterBank):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.asked: list[tuple[str, int, int]] = []
        self.refused = 0

    def read(self, table, address, count):
        self.asked.append((table, address, count))
        got = super().read(table, address, count)
        self.refused += isinstance(got, int)
        return got


async def identify_once(map_id: str, period: int | None, pty: bool):
    bank = Counting(catalog.resolve(map_id), identity={"serial": "BENCH00001"})
    maps = [m for m in catalog.all_maps("modbus") if m.identify]
    wire = None
    if pty:
        wire, sim = await serve_on_pty([bank], baud=9600)
        url = f"rtu://{wire.client_path}?unit=1&baud=9600"
    else:
        sim = ModbusSimulator([bank])
        port = await sim.start_tcp("127.0.0.1", 0)
        url = f"tcp://127.0.0.1:{port}?unit=1"
    if period is not None:
        url += f"&period={period}"
    pool = LinkPool()
    link = pool.get(parse_target(url), merged_spec(maps))
    try:
        t0 = time.perf_counter()
        dev, ident = await choose_map(maps, lambda m: RegisterDevice(m, link, 1))
        seconds = time.perf_counter() - t0
    finally:
        await pool.close()
        await sim.stop()
        if wire is not None:
            await wire.stop()
    highest = max(a + c - 1 for _t, a, c in bank.asked)
    return dev.map.id, len(bank.asked), bank.refused, highest, seconds, ident.reason


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pty", action="store_true", help="also over a pty at 9600 8N1")
    ap.add_argument("--repeat", type=int, default=3, help="unpaced runs per family (median)")
    args = ap.parse_args()
    links = [False, True] if args.pty else [False]
    print(f"{'family (served map)':22} {'link':5} {'picked':20} {'reads':>5} {'refused':>7} "
          f"{'max addr':>8} {'paced 850 ms':>12} {'unpaced':>9}")
    for pty in links:
        for map_id in FAMILIES:
            picked, reads, refused, highest, paced, reason = await identify_once(map_id, None, pty)
            unpaced = statistics.median([(await identify_once(map_id, 0, pty))[4]
                                         for _ in range(args.repeat)])
            safe = "" if highest < HIGH_ADDRESS else " !30000+"
            print(f"{map_id:22} {'pty' if pty else 'tcp':5} {picked:20} {reads:5d} {refused:7d} "
                  f"{highest:8d}{safe} {paced:11.2f}s {unpaced * 1000:7.1f}ms")
            print(f"{'':28} why: {reason}")


if __name__ == "__main__":
    asyncio.run(main())
