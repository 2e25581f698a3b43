#!/usr/bin/env python3
"""Benchmark: what a commissioning report and a map verification cost.

Prints, for the Growatt map at its real 850 ms pacing (simulated inverter on loopback TCP) and
the GivEnergy map at its 300 ms pacing (simulated dongle):
  * the time to gather a report (every readable value, the clock, journal, evidence) against the
    pacing floor (reads x period), and the time to render Markdown and HTML, with their sizes;
and, for every shipped map with a fixture, the time `maps verify` takes in-process.
Run: .venv/bin/python bench/report.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SOLARTUI_HOME", tempfile.mkdtemp(prefix="solartui-bench-"))

from solartui.journal import Journal  # noqa: E402
from solartui.registers import catalog  # noqa: E402
from solartui.registers.planner import plan_for_map  # noqa: E402
from solartui.report.content import gather  # noqa: E402
from solartui.report.render import to_html, to_markdown  # noqa: E402
from solartui.session import Session  # noqa: E402
from solartui.sim.givenergy_dongle import GivEnergyDongle  # noqa: E402
from solartui.sim.modbus_server import ModbusSimulator  # noqa: E402
from solartui.sim.register_bank import RegisterBank  # noqa: E402
from solartui.trust.fixture import load_fixture, shipped_fixtures  # noqa: E402
from solartui.trust.verify import verify  # noqa: E402


async def report_figures(label: str, url: str, map_id: str) -> None:
    m = catalog.resolve_register_map(map_id)
    reads = len(plan_for_map(m, [p for p in m.points if p.readable]))
    session = Session(Journal())
    try:
        dev = await session.connect(url, map_id)
        t0 = time.perf_counter()
        report = await gather(dev, journal=session.journal)
        t_gather = time.perf_counter() - t0
    finally:
        await session.close()
    t0 = time.perf_counter()
    md = to_markdown(report)
    t_md = time.perf_counter() - t0
    t0 = time.perf_counter()
    html = to_html(report)
    t_html = time.perf_counter() - t0
    period = dev.link.min_period
    floor = (reads + 1) * period          # the values, plus the clock read
    print(f"{label:10} {len(report.values):4} values  {reads + 1:3} reads  gather {t_gather:6.2f} s"
          f"  floor {floor:6.2f} s  markdown {t_md * 1000:5.1f} ms ({len(md) / 1024:5.1f} KiB)"
          f"  html {t_html * 1000:5.1f} ms ({len(html) / 1024:5.1f} KiB)")


async def main() -> None:
    print("commissioning report (gather = one pass over every readable value + the clock)")
    growatt = catalog.resolve_register_map("growatt-protocol-ii")
    sim = ModbusSimulator([RegisterBank(growatt, unit=1)])
    port = await sim.start_tcp("127.0.0.1", 0)
    try:
        await report_figures("growatt", f"tcp://127.0.0.1:{port}?unit=1", growatt.id)
    finally:
        await sim.stop()
    dongle = GivEnergyDongle("127.0.0.1", 0)
    gport = await dongle.start()
    try:
        await report_figures("givenergy", f"givenergy://127.0.0.1:{gport}", "givenergy-hybrid")
    finally:
        await dongle.stop()

    print("\nmaps verify (in-process, simulator started and stopped each time)")
    for path in shipped_fixtures():
        fx = load_fixture(path)
        m = catalog.resolve(fx.map_id)
        t0 = time.perf_counter()
        run = await verify(m, fx)
        dt = time.perf_counter() - t0
        verdicts = [v.verdict for v in run.verdicts]
        print(f"{m.id:22} {dt:6.3f} s  {verdicts.count('pass')} pass, {verdicts.count('fail')} "
              f"fail, {verdicts.count('no fixture')} no fixture")


if __name__ == "__main__":
    asyncio.run(main())
