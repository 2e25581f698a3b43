#!/usr/bin/env python3
"""Benchmark: the site logger (`solartui log`).

Prints:
  * the time of one pass over N Growatt units on one shared RS485 bus (a pty wire, the map's
    850 ms pacing), against the floor the pacing sets: the link keeps the period between the
    end of one read and the start of the next, so a cold pass of R reads cannot be shorter than
    (R - 1) x period (and back-to-back passes average R x period);
  * the same with every readable point (5 reads a unit);
  * what one CSV row costs to write (flush + fsync) and what it costs without the fsync, for a
    short row and a 305-point row, and what saving the state file (after every row) costs.
Run: .venv/bin/python bench/log.py [--units 1,2,4,8] [--rows 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from solartui.registers import catalog  # noqa: E402
from solartui.registers.planner import plan_for_map  # noqa: E402
from solartui.sim.modbus_server import ModbusSimulator  # noqa: E402
from solartui.sim.register_bank import RegisterBank  # noqa: E402
from solartui.sim.serial_wire import SerialWire  # noqa: E402
from solartui.site.csv_sink import CsvSink  # noqa: E402
from solartui.site.log_state import LogState  # noqa: E402
from solartui.site.logger import SiteLogger  # noqa: E402
from solartui.site.site_file import load_site  # noqa: E402

POINTS = ["inverter_status", "ppv", "vpv1", "pac", "fac", "eac_today"]


async def one_pass(folder: Path, units: int, points: list[str] | None) -> tuple[float, int, float]:
    """(seconds for one cold pass, reads, link period) over `units` units on one pty bus."""
    m = catalog.resolve("growatt-protocol-ii")
    wire = SerialWire()
    await wire.serve(ModbusSimulator([RegisterBank(m, unit=u) for u in range(1, units + 1)]),
                     9600)
    bus = folder / f"bus{units}{'all' if points is None else ''}"
    os.symlink(wire.client_path, bus)
    pts = "all" if points is None else "[" + ", ".join(points) + "]"
    devices = "".join(f"  - {{name: u{u}, target: \"rtu://{bus}\", map: growatt-protocol-ii, "
                      f"unit: {u}, points: {pts}, csv: {bus.name}-u{u}.csv}}\n"
                      for u in range(1, units + 1))
    site_path = folder / f"{bus.name}.yaml"
    site_path.write_text(f"schema: 1\nsite: {bus.name}\nperiod: 60\ndevices:\n{devices}")
    site = load_site(site_path)
    reads = sum(len(plan_for_map(m, list(d.points))) for d in site.devices)
    logger = SiteLogger(site, echo=False)
    logger.open()
    try:
        t = time.perf_counter()
        await logger.once()
        took = time.perf_counter() - t
        period = site.channels[0].period_s
    finally:
        await logger.close()
        await wire.stop()
    return took, reads, period


def csv_costs(folder: Path, rows: int) -> None:
    short = CsvSink(folder / "short.csv", ["time"] + [f"p{i} (W)" for i in range(6)] + ["note"],
                    "bench")
    wide = CsvSink(folder / "wide.csv", ["time"] + [f"p{i} (V)" for i in range(305)] + ["note"],
                   "bench")
    for name, sink, n in (("6-point row", short, 6), ("305-point row", wide, 305)):
        sink.open()
        cells = [f"{230.1 + i:.1f}" for i in range(n)]
        times = []
        for _ in range(rows):
            t = time.perf_counter()
            sink.write(time.time(), cells, "")
            times.append(time.perf_counter() - t)
        sink.close()
        size = sink.path.stat().st_size / (rows + 1)
        # the same rows without the fsync: what the durability costs
        plain = open(folder / f"plain-{n}.csv", "a", encoding="utf-8")
        line = ",".join(["2024-01-01T00:00:00+00:00", *cells, ""]) + "\n"
        nofs = []
        for _ in range(rows):
            t = time.perf_counter()
            plain.write(line)
            plain.flush()
            nofs.append(time.perf_counter() - t)
        plain.close()
        print(f"  {name} ({size:.0f} bytes): write+flush+fsync median "
              f"{statistics.median(times) * 1000:.3f} ms, p95 "
              f"{sorted(times)[int(rows * 0.95)] * 1000:.3f} ms; without fsync "
              f"{statistics.median(nofs) * 1000:.3f} ms")
    state = LogState("bench", folder / "bench.yaml")
    state.path = folder / "bench.json"
    times = []
    for i in range(rows):
        t = time.perf_counter()
        state.passed(f"u{i % 8}", time.time())
        times.append(time.perf_counter() - t)
    print(f"  state file saved after a row (8 devices, write+fsync+rename): median "
          f"{statistics.median(times) * 1000:.3f} ms")


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", default="1,2,4,8", help="units on the bus, comma-separated")
    ap.add_argument("--rows", type=int, default=300, help="rows for the CSV cost figures")
    args = ap.parse_args()
    os.environ.setdefault("SOLARTUI_HOME", tempfile.mkdtemp(prefix="solartui-bench-"))
    with tempfile.TemporaryDirectory(prefix="solartui-bench-log-") as tmp:
        folder = Path(tmp)
        print("one pass over N Growatt units on one shared pty bus (850 ms pacing)")
        print(f"  {'units':>5} {'points':>7} {'reads':>5} {'floor (R-1)xP':>14} {'R x P':>7} "
              f"{'measured':>9} {'over floor':>10}")
        cases = [(int(u), POINTS) for u in args.units.split(",")] + [(2, None)]
        for units, points in cases:
            took, reads, period = await one_pass(folder, units, points)
            floor = (reads - 1) * period
            label = "all" if points is None else str(len(points))
            print(f"  {units:>5} {label:>7} {reads:>5} {floor:>13.3f}s {reads * period:>6.2f}s "
                  f"{took:>8.3f}s {took - floor:>+9.3f}s")
        print(f"CSV rows ({args.rows} each, in {folder.parent})")
        csv_costs(folder, args.rows)


if __name__ == "__main__":
    asyncio.run(main())
