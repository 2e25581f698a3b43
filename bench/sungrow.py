#!/usr/bin/env python3
"""Benchmark: Sungrow hybrid and string inverters, simulated, as solartui reaches them.

Prints, for each family (SH10RT hybrid, SG10RT string):
  * identification time without --map (every shipped map's probe in its order, SunSpec's too)
    over loopback TCP, unpaced and at the map's 30 ms WiNet-S pacing, and the requests it took;
  * a full refresh of every readable point: the planner's reads, the measured period over
    loopback TCP at 30 ms pacing against reads x 30 ms, and over a pty (RTU) likewise;
  * the physical floor of that refresh on RS485 at 9600 8N1: request and reply bytes of every
    read at 10 bits a byte, plus the 30 ms spacing (a real unit's own turnaround comes on top).
Run: .venv/bin/python bench/sungrow.py [--rounds N]
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

from solartui.registers.planner import plan_for_map  # noqa: E402
from solartui.session import Session  # noqa: E402
from solartui.sim.modbus_server import ModbusSimulator  # noqa: E402
from solartui.sim.serial_wire import serve_on_pty  # noqa: E402
from solartui.sim.sungrow import make_bank  # noqa: E402

PERIOD_MS = 30


async def identify_once(url: str, sim) -> tuple[float, int, str]:
    before = sim.requests
    session = Session()
    try:
        t0 = time.perf_counter()
        dev = await session.connect(url)
        dt = time.perf_counter() - t0
        return dt, sim.requests - before, f"{dev.map.id} {dev.identity.values.get('model')}"
    finally:
        await session.close()


async def refresh(url: str, map_id: str, rounds: int) -> list[float]:
    session = Session()
    try:
        dev = await session.connect(url, map_id)
        await dev.poll()
        out = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            await dev.poll()
            out.append(time.perf_counter() - t0)
        return out
    finally:
        await session.close()


def rs485_floor(reads) -> float:
    """Seconds on a 9600 8N1 wire: FC03/04 request 8 bytes, reply 5 + 2n, 10 bits a byte."""
    byte_s = 10 / 9600
    return sum((8 + 5 + 2 * r.count) * byte_s + PERIOD_MS / 1000 for r in reads)


async def family(name: str, rounds: int) -> None:
    bank = make_bank(name)
    m = bank.map
    reads = plan_for_map(m, [p for p in m.points if p.readable])
    regs = sum(r.count for r in reads)
    sim = ModbusSimulator([bank], tick_interval=0.5)
    port = await sim.start_tcp("127.0.0.1", 0)
    base = f"tcp://127.0.0.1:{port}?unit=1&timeout=1000"
    try:
        print(f"{name}: {m.id}, {sum(p.readable for p in m.points)} readable points -> "
              f"{len(reads)} reads ({regs} registers; "
              f"{sum(r.table == 'input' for r in reads)} FC04, "
              f"{sum(r.table == 'holding' for r in reads)} FC03)")
        for period in (0, PERIOD_MS):
            times = []
            for _ in range(rounds):
                dt, n, picked = await identify_once(f"{base}&period={period}", sim)
                times.append(dt)
            print(f"  identify (TCP, period {period} ms): median {statistics.median(times)*1000:.1f} ms"
                  f" over {rounds}, {n} requests, picked {picked}")
        t = await refresh(f"{base}&period={PERIOD_MS}", m.id, rounds)
        want = len(reads) * PERIOD_MS / 1000
        print(f"  full refresh (TCP, {PERIOD_MS} ms): median {statistics.median(t)*1000:.0f} ms; "
              f"reads x period = {want*1000:.0f} ms ({statistics.median(t)/want*100:.0f} %)")
    finally:
        await sim.stop()
    bank = make_bank(name)
    wire, sim = await serve_on_pty([bank], 9600)
    try:
        url = f"rtu://{wire.client_path}?baud=9600&unit=1&period={PERIOD_MS}&timeout=1000"
        t = await refresh(url, m.id, rounds)
        print(f"  full refresh (pty RTU, {PERIOD_MS} ms): median {statistics.median(t)*1000:.0f} ms"
              f" (a pty has no baud rate); RS485 9600 8N1 floor {rs485_floor(reads)*1000:.0f} ms")
    finally:
        await sim.stop()
        await wire.stop()


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    for name in ("hybrid", "string"):
        await family(name, args.rounds)


if __name__ == "__main__":
    asyncio.run(main())
