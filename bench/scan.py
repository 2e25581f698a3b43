#!/usr/bin/env python3
"""Benchmark: discovery sweeps. Prints figures; nothing here is a timed test.

One function per part, each returning rows for a small table; main() runs the parts asked for.

serial — on a pty wire (solartui.sim.serial_wire), the scanner not told baud or unit:
  * a Growatt at unit 1, 9600: time to the first answer and to the identified result
    (target: under 2 s);
  * a Growatt at unit 200, 38400: time for the sweep over the Growatt settings (9600 and 38400
    8N1, units in the default order) until it is found (target: under 60 s), and an empty sweep
    of all 2 x 254 probes;
  * the same sweeps at pymodbus's defaults (timeout 3 s, retries 3: 4 x 3 s for each silent
    unit), computed, and backed by a handful of real pymodbus probes of silent units.

Run: .venv/bin/python bench/scan.py [--parts serial] [--pymodbus-probes 3] [--no-empty]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from solartui.discovery.rtu_probe import (  # noqa: E402
    frame_gap, probe_port, probe_timeout, unit_order,
)
from solartui.registers import catalog  # noqa: E402
from solartui.sim.register_bank import RegisterBank  # noqa: E402
from solartui.sim.serial_wire import serve_on_pty  # noqa: E402

PYMODBUS_TIMEOUT = 3.0      # AsyncModbusSerialClient defaults (pymodbus 3.16)
PYMODBUS_RETRIES = 3


@dataclass
class Row:
    figure: str
    value: str
    note: str = ""


def fmt_s(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds >= 3600:
        return f"{seconds:.0f} s ({seconds / 3600:.1f} h)"
    if seconds >= 120:
        return f"{seconds:.0f} s ({seconds / 60:.1f} min)"
    return f"{seconds:.2f} s"


def print_table(title: str, rows: list[Row]) -> None:
    w1 = max(len("figure"), *(len(r.figure) for r in rows))
    w2 = max(len("value"), *(len(r.value) for r in rows))
    print(f"\n## {title}\n")
    print(f"| {'figure':<{w1}} | {'value':<{w2}} | note |")
    print(f"|{'-' * (w1 + 2)}|{'-' * (w2 + 2)}|------|")
    for r in rows:
        print(f"| {r.figure:<{w1}} | {r.value:<{w2}} | {r.note} |")


# --- serial --------------------------------------------------------------------------------

async def _timed_scan(m, unit: int, baud: int,
                      **kw) -> tuple[float | None, float | None, list, int]:
    """(seconds to first answer, seconds to the result, found, probes done) for one device."""
    wire, _sim = await serve_on_pty([RegisterBank(m, unit=unit, identity={"serial": "BENCH00001"})],
                                    baud)
    answered: list[float] = []
    done = [0]

    def progress(p):
        if p.note.endswith("identifying") and not answered:
            answered.append(time.monotonic())
            done[0] = p.done

    try:
        t0 = time.monotonic()
        found = await probe_port(wire.client_path, on_progress=progress, **kw)
        t1 = time.monotonic()
    finally:
        await wire.stop()
    first = answered[0] - t0 if answered else None
    return first, (t1 - t0) if found else None, found, done[0]


async def _pymodbus_probes(m, n: int) -> list[float]:
    """Seconds each of `n` single-register reads of a silent unit takes at pymodbus's defaults."""
    from pymodbus.client import AsyncModbusSerialClient
    from pymodbus.exceptions import ModbusException

    from solartui.links.pymodbus_log import quiet_pymodbus

    quiet_pymodbus()
    wire, _sim = await serve_on_pty([RegisterBank(m, unit=1)], 9600)
    client = AsyncModbusSerialClient(wire.client_path, baudrate=9600)   # timeout 3, retries 3
    out = []
    try:
        assert await client.connect()
        for unit in range(2, 2 + n):
            t = time.monotonic()
            try:
                rr = await client.read_holding_registers(23, count=1, device_id=unit)
                rr.isError()
            except ModbusException:
                pass
            out.append(time.monotonic() - t)
    finally:
        client.close()
        await wire.stop()
    return out


def _sweep_estimate(settings, probes_per_setting) -> float:
    """Our sweep's wire-time budget: per probe, its timeout plus the frame gap."""
    return sum(n * (probe_timeout(b) + frame_gap(b))
               for (b, _p), n in zip(settings, probes_per_setting))


async def serial_part(args) -> list[Row]:
    m = catalog.resolve("growatt-protocol-ii")
    growatt = dict(maps=[m], bauds=list(m.link.baudrates), parities=[m.link.parity])
    settings = [(b, m.link.parity) for b in m.link.baudrates]
    order = unit_order([m])
    rows: list[Row] = []

    first, total, found, _ = await _timed_scan(m, 1, 9600)   # default maps and settings
    ok = found and found[0].map_id == m.id
    rows.append(Row("unit 1 @ 9600: first answer", fmt_s(first or float("nan")), "1 probe"))
    rows.append(Row("unit 1 @ 9600: found + identified", fmt_s(total or float("nan")),
                    f"target < 2 s — {'ok' if total and total < 2 and ok else 'MISSED'} "
                    "(850 ms period after the answer, then identification)"))

    pos = order.index(200) + 1
    first, total, found, done = await _timed_scan(m, 200, 38400, **growatt)
    est = _sweep_estimate(settings, [len(order), pos])
    rows.append(Row("unit 200 @ 38400: first answer", fmt_s(first or float("nan")),
                    f"{len(order)} + {pos} probes; wire-time budget {fmt_s(est)}"))
    rows.append(Row("unit 200 @ 38400: found + identified", fmt_s(total or float("nan")),
                    f"target < 60 s — {'ok' if total and total < 60 else 'MISSED'}"))

    full_est = _sweep_estimate(settings, [len(order), len(order)])
    if not args.no_empty:
        wire, _sim = await serve_on_pty([RegisterBank(m, unit=1)], 4800)   # nobody at 9600/38400
        try:
            t = time.monotonic()
            empty = await probe_port(wire.client_path, **growatt)
            dt = time.monotonic() - t
        finally:
            await wire.stop()
        rows.append(Row("empty sweep, 2 x 254 probes", fmt_s(dt),
                        f"{len(empty)} found; wire-time budget {fmt_s(full_est)}"))
    per_probe = {b: probe_timeout(b) * 1000 for b, _ in settings}
    rows.append(Row("probe timeout 9600 / 38400",
                    f"{per_probe[9600]:.1f} / {per_probe[38400]:.1f} ms",
                    "15 bytes x 11 bits / baud + 40 ms margin"))

    # pymodbus at its defaults: each silent unit costs (retries + 1) x timeout
    silent = (1 + PYMODBUS_RETRIES) * PYMODBUS_TIMEOUT
    rows.append(Row("pymodbus defaults: per silent unit (computed)", fmt_s(silent),
                    f"(1 + {PYMODBUS_RETRIES} retries) x {PYMODBUS_TIMEOUT:.0f} s"))
    if args.pymodbus_probes:
        measured = await _pymodbus_probes(m, args.pymodbus_probes)
        rows.append(Row(f"pymodbus defaults: per silent unit (measured, n={len(measured)})",
                        fmt_s(sum(measured) / len(measured)),
                        "range " + " / ".join(f"{x:.2f}" for x in measured) + " s"))
    rows.append(Row("pymodbus defaults: unit 200 @ 38400 found",
                    fmt_s((len(order) + pos - 1) * silent),
                    f"{len(order) + pos - 1} silent units first (computed)"))
    rows.append(Row("pymodbus defaults: empty sweep 2 x 254", fmt_s(2 * len(order) * silent),
                    "computed"))
    return rows


# --- runner --------------------------------------------------------------------------------

PARTS = {
    "serial": serial_part,
    # "network": network_part,   # added by the network scan's owner
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default=",".join(PARTS),
                    help=f"comma-separated parts to run (default: {','.join(PARTS)})")
    ap.add_argument("--pymodbus-probes", type=int, default=3,
                    help="real pymodbus probes at its defaults, ~12 s each (0: only compute)")
    ap.add_argument("--no-empty", action="store_true",
                    help="skip the empty 2 x 254 serial sweep (~30 s)")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.parts.split(",") if n.strip()]
    unknown = [n for n in names if n not in PARTS]
    if unknown:
        ap.error(f"unknown part(s) {', '.join(unknown)} (known: {', '.join(PARTS)})")
    for name in names:
        rows = asyncio.run(PARTS[name](args))
        print_table(f"scan.py — {name}", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
