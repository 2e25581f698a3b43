#!/usr/bin/env python3
"""Benchmark: a SunSpec device (models 1, 103, 120, 121, 122, 123 at 40000) and identification.

Prints:
  1. a full refresh of every point of the SunSpec simulator: reads per refresh (one per model:
     each is under 125 registers, and a value and its scale factor must share a request) against
     the physical limit — over loopback TCP, reads x period (0 ms and 850 ms pacing); over a pty
     at 9600 baud, the bytes on the wire at 10 bits a byte plus 3.5 character times per frame
     (the pty itself does not pace bytes: that figure is computed, the pty figure measured);
  2. identification time without --map for each family, through Session.connect against its
     simulator: SunSpec, Growatt (Protocol II), GivEnergy (dongle on 8899), PI30 (pty, 2400
     baud paced) — with each family's default pacing and, for Modbus, with period=0.
Run: .venv/bin/python bench/sunspec.py [--refreshes N]
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

from solartui.registers.loader import load_map  # noqa: E402
from solartui.registers.planner import plan_for_map  # noqa: E402
from solartui.session import Session  # noqa: E402
from solartui.sim.modbus_server import ModbusSimulator  # noqa: E402
from solartui.sim.register_bank import RegisterBank  # noqa: E402
from solartui.sim.serial_wire import serve_on_pty  # noqa: E402
from solartui.sim.sunspec_bank import SunSpecBank  # noqa: E402

BITS = 10                      # 8N1


def rtu_wire_seconds(reads, baud: int) -> float:
    """FC03 request 8 bytes, reply 5 + 2n bytes, each frame followed by 3.5 character times."""
    char = BITS / baud
    return sum((8 + 3.5) * char + (5 + 2 * r.count + 3.5) * char for r in reads)


async def refresh(url: str, refreshes: int) -> tuple[float, int, list]:
    s = Session()
    try:
        dev = await s.connect(url, "sunspec")
        points = [p for p in dev.map.points if p.readable]
        reads = plan_for_map(dev.map, points)
        await dev.poll(points)
        times = []
        for _ in range(refreshes):
            t0 = time.monotonic()
            readings = await dev.poll(points)
            times.append(time.monotonic() - t0)
            assert all(r.ok for r in readings)
        return statistics.median(times), len(points), reads
    finally:
        await s.close()


async def identify_time(url: str, runs: int, **session_kw) -> tuple[float, str]:
    times, reason = [], ""
    for _ in range(runs):
        s = Session(**session_kw)
        try:
            t0 = time.monotonic()
            dev = await s.connect(url)
            times.append(time.monotonic() - t0)
            reason = getattr(dev.identity, "reason", "") or f"{dev.map.id} (single candidate)"
            requests = dev.link.stats.requests if hasattr(dev.link, "stats") else None
        finally:
            await s.close()
    return statistics.median(times), reason + (f" [{requests} requests]" if requests else "")


async def main(refreshes: int, runs: int) -> None:
    bank = SunSpecBank(sun=0.5)
    tcp = ModbusSimulator([bank])
    port = await tcp.start_tcp("127.0.0.1", 0)
    wire, rtu = await serve_on_pty([SunSpecBank(sun=0.5)], baud=9600)
    rows = []
    try:
        print("1. full refresh, SunSpec models 1,103,120,121,122,123")
        for name, url, period in (
                ("tcp loopback, 0 ms", f"tcp://127.0.0.1:{port}?unit=1&period=0", 0.0),
                ("tcp loopback, 850 ms", f"tcp://127.0.0.1:{port}?unit=1&period=850", 0.85),
                ("rtu pty 9600, 0 ms", f"rtu://{wire.client_path}?baud=9600&unit=1&period=0",
                 0.0)):
            got, npoints, reads = await refresh(url, refreshes)
            regs = sum(r.count for r in reads)
            if name.startswith("rtu"):
                limit = rtu_wire_seconds(reads, 9600)
                how = (f"wire time at 9600 baud {limit * 1000:.0f} ms (computed; the pty does "
                       "not pace bytes)")
            else:
                limit = len(reads) * period     # refreshes back to back: a period per read
                how = f"{len(reads)} x {period * 1000:.0f} ms = {limit * 1000:.0f} ms"
                if limit:
                    how += f" ({100 * (got - limit) / limit:+.1f} %)"
            rows.append((name, npoints, len(reads), regs, got, how))
        print(f"   {'link':22} {'points':>6} {'reads':>5} {'regs':>5} {'measured':>10}  limit")
        for name, npoints, nreads, regs, got, how in rows:
            print(f"   {name:22} {npoints:>6} {nreads:>5} {regs:>5} {got * 1000:>8.1f} ms  {how}")

        print("\n2. identification without --map (median of %d)" % runs)
        ident_rows = []
        url = f"tcp://127.0.0.1:{port}?unit=1"
        ident_rows.append(("SunSpec, tcp, default pacing", *await identify_time(url, runs)))
        ident_rows.append(("SunSpec, tcp, period=0", *await identify_time(url + "&period=0", runs)))
        url = f"rtu://{wire.client_path}?baud=9600&unit=1&period=0"
        ident_rows.append(("SunSpec, rtu pty, period=0", *await identify_time(url, runs)))
        gm = load_map(ROOT / "maps" / "growatt_protocol_ii.yaml")
        gsim = ModbusSimulator([RegisterBank(gm, unit=1)])
        gport = await gsim.start_tcp("127.0.0.1", 0)
        try:
            gurl = f"tcp://127.0.0.1:{gport}?unit=1"
            ident_rows.append(("Growatt, tcp, default pacing", *await identify_time(gurl, runs)))
            ident_rows.append(("Growatt, tcp, period=0",
                               *await identify_time(gurl + "&period=0", runs)))
        finally:
            await gsim.stop()
        try:
            from solartui.sim.givenergy_dongle import GivEnergyDongle
            async with GivEnergyDongle("127.0.0.1", 0, heartbeat_interval=None) as d:
                ident_rows.append(("GivEnergy, dongle 8899",
                                   *await identify_time(f"givenergy://127.0.0.1:{d.port}", runs)))
        except Exception as exc:  # noqa: BLE001  a bench prints what it could not measure
            ident_rows.append(("GivEnergy, dongle 8899", float("nan"), f"not measured: {exc}"))
        try:
            from solartui.sim.pi30_inverter import Pi30Inverter
            from solartui.sim.pi30_pty import serve_pi30_on_pty
            server = await serve_pi30_on_pty(Pi30Inverter(), mode="serial", pace=True)
            try:
                ident_rows.append(("PI30, pty 2400 paced",
                                   *await identify_time(f"pi30://{server.client_path}", runs)))
            finally:
                await server.stop()
        except Exception as exc:  # noqa: BLE001
            ident_rows.append(("PI30, pty 2400 paced", float("nan"), f"not measured: {exc}"))
        print(f"   {'family':30} {'time':>9}  picked")
        for name, t, reason in ident_rows:
            print(f"   {name:30} {t * 1000:>7.0f} ms  {reason}")
    finally:
        await tcp.stop()
        await rtu.stop()
        await wire.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--refreshes", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    asyncio.run(main(a.refreshes, a.runs))
