#!/usr/bin/env python3
"""Benchmark: a PI30 inverter's live refresh and setter round trip on each transport.

The simulated inverter answers on a pty that paces bytes at 2400 baud (10 bits a byte), as the
RS232 line and the HID bridge's serial side do; the pyusb path uses the simulator's backend with
the same pacing. Through the Session and Pi30Device, with the map's 0.5 s minimum command period:

  1. a live pass (QPIGS, QPIGS2, QMOD, QPIWS) and a full pass (plus QPIRI, QFLAG, QMCHGCR,
     QMUCHGCR) against the physical limit: commands x 0.5 s + bytes x 4.17 ms;
  2. a setter's round trip (POP02: plan with the old value, ACK, 1 s read-back delay, QPIRI);
  3. the codec alone: replies parsed and decoded per second (CPU cost per pass).

Run: .venv/bin/python bench/pi30.py [--passes 3]
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

from solartui.pi30.codec import encode_response, parse_response  # noqa: E402
from solartui.registers import catalog  # noqa: E402
from solartui.registers.command_codec import decode_fields  # noqa: E402
from solartui.session import Session  # noqa: E402
from solartui.sim.pi30_inverter import Pi30Inverter  # noqa: E402
from solartui.sim.pi30_pty import serve_pi30_on_pty  # noqa: E402
from solartui.sim.pi30_usb_backend import Pi30UsbBackend  # noqa: E402

BYTE_S = 10 / 2400


async def _open(kind: str):
    inverter = Pi30Inverter()
    if kind == "usb":
        backend = Pi30UsbBackend(inverter, pace=True)
        session = Session(usb_backend=backend)
        return session, await session.connect("hid://0665:5161"), inverter, None
    server = await serve_pi30_on_pty(inverter, mode=kind, pace=True)
    scheme = "pi30" if kind == "serial" else "hidraw"
    session = Session()
    return session, await session.connect(f"{scheme}://{server.client_path}"), inverter, server


async def bench_transport(kind: str, passes: int) -> dict:
    session, dev, inverter, server = await _open(kind)
    live = dev.fields(("live",))
    full = dev.fields()
    out = {}
    for name, fields in (("live", live), ("full", full)):
        times = []
        for _ in range(passes):
            before = len(inverter.log)
            t0 = time.monotonic()
            await dev.poll(fields)
            times.append(time.monotonic() - t0)
            exchanges = inverter.log[before:]
        nbytes = sum(len(e.request) + len(e.reply or b"") for e in exchanges)
        # passes run back to back: each of the n commands waits one period after the previous
        limit = len(exchanges) * dev.link.min_period + nbytes * BYTE_S
        out[name] = (statistics.median(times), limit, len(exchanges), nbytes)
    t0 = time.monotonic()
    plan = await dev.plan_write("output_source_priority", "SBU")
    t1 = time.monotonic()
    outcome = await dev.execute_write(plan)
    t2 = time.monotonic()
    out["setter"] = (t1 - t0, t2 - t1, outcome.status)
    await session.close()
    if server is not None:
        await server.stop()
    return out


def bench_codec(seconds: float = 2.0) -> tuple[float, float]:
    m = catalog.resolve("voltronic-pi30")
    inverter = Pi30Inverter()
    replies = []
    for c in m.commands:
        payload = inverter.answer(c.command)
        if payload is not None:
            replies.append((c, encode_response(payload)))
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for c, frame in replies:
            decode_fields(c, parse_response(frame, c.command).fields)
            n += 1
    took = time.perf_counter() - t0
    return n / took, took / (n / len(replies)) * 1000


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--passes", type=int, default=3)
    args = ap.parse_args()
    print("transport | pass | commands | bytes | measured (median) | physical limit | over")
    for kind in ("serial", "hidraw", "usb"):
        r = await bench_transport(kind, args.passes)
        for name in ("live", "full"):
            t, limit, n, nbytes = r[name]
            print(f"{kind:9} | {name:4} | {n:8} | {nbytes:5} | {t:8.3f} s | {limit:8.3f} s | "
                  f"{(t / limit - 1) * 100:+.1f} %")
        plan_s, exec_s, status = r["setter"]
        print(f"{kind:9} | setter POP02: plan {plan_s:.3f} s, write + read-back {exec_s:.3f} s "
              f"({status})")
    rate, per_pass = bench_codec()
    print(f"codec: {rate:,.0f} replies parsed and decoded per second; "
          f"{per_pass:.2f} ms CPU for one full pass of every query")


if __name__ == "__main__":
    asyncio.run(main())
