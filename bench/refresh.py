#!/usr/bin/env python3
"""Benchmark: a full refresh of the Growatt map on a paced link.

Prints, for every readable point of maps/growatt_protocol_ii.yaml:
  * the number of reads the planner makes, against the true minimum (an independent DP) and
    against one read per point;
  * the measured period of a full refresh, polled back to back on the 850 ms paced link, over
    loopback TCP and over a pseudo-terminal (RTU), against reads x 850 ms (target: within 5 %);
  * what one read per point would cost on the same link.
Run: .venv/bin/python bench/refresh.py [--refreshes N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from solartui.devices.register_device import RegisterDevice  # noqa: E402
from solartui.links.pool import LinkPool  # noqa: E402
from solartui.links.target import parse_target  # noqa: E402
from solartui.registers.loader import load_map  # noqa: E402
from solartui.registers.planner import plan_for_map  # noqa: E402
from solartui.sim.modbus_server import ModbusSimulator  # noqa: E402
from solartui.sim.register_bank import RegisterBank  # noqa: E402
from solartui.sim.serial_wire import serve_on_pty  # noqa: E402


def minimum_reads(m, points) -> int:
    """Fewest reads by dynamic programming over the points of each table (independent of the
    planner): best[i] = fewest reads covering the first i points in address order."""
    total = 0
    for table in ("input", "holding"):
        pts = sorted((p for p in points if p.table == table), key=lambda p: (p.address, p.end))
        n = len(pts)
        best = [0] + [10 ** 9] * n
        blocks = m.blocks_for(table)
        holes = m.holes_for(table)
        for i in range(n):
            lo = pts[i].address
            for j in range(i, n):       # one read covering pts[i..j]
                hi = max(p.end for p in pts[i:j + 1])
                fits = (hi - lo + 1 <= m.link.max_read
                        and any(a <= lo and hi <= b for a, b in blocks)
                        and not any(a <= hi and lo <= b for a, b in holes))
                if not fits:
                    break
                best[j + 1] = min(best[j + 1], best[i] + 1)
        total += best[n]
    return total


async def measure(url: str, m, refreshes: int) -> tuple[float, int]:
    pool = LinkPool()
    try:
        target = parse_target(url)
        dev = RegisterDevice(m, pool.get(target, m.link), target.unit)
        points = [p for p in m.points if p.readable]
        await dev.poll(points)                  # warm up: connection, first transaction
        start = time.monotonic()
        for _ in range(refreshes):
            readings = await dev.poll(points)
            assert all(r.ok for r in readings), [r.error for r in readings if not r.ok][:2]
        period = (time.monotonic() - start) / refreshes
        return period, dev.link.stats.requests
    finally:
        await pool.close()


async def main(refreshes: int) -> None:
    m = load_map(ROOT / "maps" / "growatt_protocol_ii.yaml")
    points = [p for p in m.points if p.readable]
    reads = len(plan_for_map(m, points))
    minimum = minimum_reads(m, points)
    period = m.link.min_period_ms / 1000
    limit = reads * period
    print(f"map {m.id}: {len(points)} readable points, max_read {m.link.max_read}, "
          f"min period {period * 1000:.0f} ms")
    print(f"reads per full refresh: planner {reads}, minimum {minimum}, one per point {len(points)}")
    print(f"physical limit: {reads} reads x {period * 1000:.0f} ms = {limit:.2f} s "
          f"(one read per point: {len(points) * period:.1f} s, {len(points) * period / limit:.0f}x slower)")

    tcp = ModbusSimulator([RegisterBank(m, unit=1)])
    port = await tcp.start_tcp("127.0.0.1", 0)
    wire, rtu = await serve_on_pty([RegisterBank(m, unit=1)], baud=9600)
    try:
        for name, url in (("tcp loopback", f"tcp://127.0.0.1:{port}?unit=1"),
                          ("rtu pty 9600", f"rtu://{wire.client_path}?unit=1")):
            got, requests = await measure(url, m, refreshes)
            print(f"{name:13}: full refresh {got:.3f} s measured over {refreshes} refreshes; "
                  f"limit {limit:.3f} s; {100 * (got - limit) / limit:+.1f} % "
                  f"({'within' if abs(got - limit) <= 0.05 * limit else 'OUTSIDE'} 5 %)")
    finally:
        await tcp.stop()
        await rtu.stop()
        await wire.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--refreshes", type=int, default=3)
    asyncio.run(main(ap.parse_args().refreshes))
