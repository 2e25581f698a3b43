#!/usr/bin/env python3
"""Benchmark: how close to the host's time a clock sync lands.

Each sync goes through the real device, link and scheduler at the map's own pacing; the
simulated device logs when each clock write arrives and what second it set (its `clock_sets`:
the independent witness). The figure per sync is |written − arrival| (goal ≤ 0.5 s, every sync).
  * Growatt (850 ms pacing, one FC16 write): over loopback TCP and over a pty (RTU at 9600),
    plus the old way for comparison (value built from the truncated host time before the pacing
    wait, then sent);
  * GivEnergy (300 ms pacing, six FC06 writes, the seconds first and timed; the figure is the
    clock the last write left, sub-second included);
  * PI30 (500 ms pacing, DAT over a pty);
  * Shine datalogger (register 31, behind an 850 ms command gap).
Run: .venv/bin/python bench/clock_sync.py [--syncs N] [--others M]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from solartui.devices.clock import encode_clock  # noqa: E402
from solartui.devices.register_device import RegisterDevice  # noqa: E402
from solartui.journal import Journal  # noqa: E402
from solartui.links.pool import LinkPool  # noqa: E402
from solartui.links.scheduler import PRIORITY_WRITE  # noqa: E402
from solartui.links.target import parse_target  # noqa: E402
from solartui.registers import catalog  # noqa: E402
from solartui.session import Session  # noqa: E402
from solartui.shine.server import ShineServer  # noqa: E402
from solartui.sim.givenergy_dongle import GivEnergyDongle  # noqa: E402
from solartui.sim.modbus_server import ModbusSimulator  # noqa: E402
from solartui.sim.pi30_inverter import Pi30Inverter  # noqa: E402
from solartui.sim.pi30_pty import serve_pi30_on_pty  # noqa: E402
from solartui.sim.register_bank import RegisterBank  # noqa: E402
from solartui.sim.serial_wire import serve_on_pty  # noqa: E402
from solartui.sim.shine_logger import SimulatedDatalogger  # noqa: E402

GOAL = 0.5


def errors(clock_sets, zone=None) -> list[float]:
    """Written minus arrival (s) of each logged set."""
    out = []
    for arrival, written in clock_sets:
        host = datetime.fromtimestamp(arrival, zone).replace(tzinfo=None)
        out.append((written - host).total_seconds())
    return out


def row(name: str, errs: list[float], extra: str = "") -> None:
    a = [abs(e) for e in errs]
    ok = sum(x <= GOAL for x in a)
    print(f"| {name} | {len(a)} | {statistics.median(a):.3f} | {max(a):.3f} | "
          f"{min(errs):+.3f} … {max(errs):+.3f} | {ok}/{len(a)} |{extra}")


async def growatt(url_of, syncs: int, old_way: bool = False) -> list[float]:
    m = catalog.resolve("growatt-protocol-ii")
    bank = RegisterBank(m, unit=1, clock_offset=-3600.37)
    url, stop = await url_of(bank)
    pool = LinkPool()
    try:
        link = pool.get(parse_target(url), m.link)
        dev = RegisterDevice(m, link, 1, Journal(Path(tempfile.mkdtemp()) / "j.jsonl"))
        for i in range(syncs):
            bank.clock_offset = -3600.37 + i * 0.173          # a different phase each time
            plan = await dev.plan_clock()
            if old_way:     # as on main before: truncated host time, then the pacing wait
                words = encode_clock(m.clock, datetime.now().replace(microsecond=0))
                await link.write(16, 1, m.clock.address, words, PRIORITY_WRITE)
            else:
                out = await dev.set_clock(plan)
                assert out.ok, out.line()
    finally:
        await pool.close()
        await stop()
    return errors(bank.clock_sets)


async def over_tcp(bank):
    sim = ModbusSimulator([bank])
    port = await sim.start_tcp("127.0.0.1", 0)
    return f"tcp://127.0.0.1:{port}?unit=1", sim.stop


async def over_pty(bank):
    wire, _ = await serve_on_pty([bank], baud=9600)
    return f"rtu://{wire.client_path}?unit=1", wire.stop


async def givenergy(syncs: int) -> list[float]:
    dongle = GivEnergyDongle()
    port = await dongle.start()
    session = Session(Journal(Path(tempfile.mkdtemp()) / "j.jsonl"))
    left = []               # the clock each sync's last register write left
    try:
        dev = await session.connect(f"givenergy://127.0.0.1:{port}?timeout=1000")
        for i in range(syncs):
            dongle.plant.clock_offset = -5000.21 + i * 0.173
            out = await dev.set_clock(await dev.plan_clock())
            assert out.ok, out.line()
            left.append(dongle.plant.clock_sets[-1])
    finally:
        await session.close()
        await dongle.stop()
    return errors(left)


async def pi30(syncs: int) -> list[float]:
    inverter = Pi30Inverter()
    server = await serve_pi30_on_pty(inverter, mode="serial")
    session = Session(Journal(Path(tempfile.mkdtemp()) / "j.jsonl"))
    try:
        dev = await session.connect(f"pi30://{server.client_path}?timeout=800")
        for i in range(syncs):
            inverter._clock_offset = -3600.59 + i * 0.173
            out = await dev.set_clock(await dev.plan_clock())
            assert out.ok, out.line()
    finally:
        await session.close()
        await server.stop()
    return errors(inverter.clock_sets)


async def shine(syncs: int) -> list[float]:
    m = catalog.resolve("growatt-protocol-ii")
    server = ShineServer(m, command_gap=0.85, logger_timeout=2.0, inverter_timeout=2.0)
    port = await server.start("127.0.0.1", 0)
    sim = SimulatedDatalogger(RegisterBank(m, identity={"serial": "INV0000001"}),
                              datalogger="LOG0000001", inverter="INV0000001", interval=5.0)
    await sim.start("127.0.0.1", port)
    try:
        while not sim.clock_sets:               # the sync sent on announce
            await asyncio.sleep(0.05)
        for _ in range(syncs):
            await server.read_logger_register("LOG0000001", 31)     # traffic: a pacing wait
            await server.sync_clock("LOG0000001")
    finally:
        await sim.stop()
        await server.stop()
    return errors(sim.clock_sets)


async def main(syncs: int, others: int) -> None:
    print("| device and path | syncs | median abs (s) | max abs (s) | written − arrival range (s) "
          f"| within {GOAL} s |")
    print("|---|---|---|---|---|---|")
    row("Growatt, loopback TCP, 850 ms pacing", await growatt(over_tcp, syncs))
    row("Growatt, RTU over a pty at 9600, 850 ms pacing", await growatt(over_pty, syncs))
    row("Growatt, loopback TCP, the old way (truncated, then paced)",
        await growatt(over_tcp, min(syncs, 10), old_way=True))
    if others:
        row("GivEnergy dongle, 300 ms pacing, 6 × FC06", await givenergy(others))
        row("PI30 DAT, RS232 on a pty, 500 ms pacing", await pi30(others))
        row("Shine datalogger register 31, 850 ms command gap", await shine(others))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--syncs", type=int, default=20, help="Growatt syncs per path (default 20)")
    ap.add_argument("--others", type=int, default=10,
                    help="syncs for GivEnergy, PI30 and Shine (default 10; 0 skips them)")
    args = ap.parse_args()
    asyncio.run(main(args.syncs, args.others))
