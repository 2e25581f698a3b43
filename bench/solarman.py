#!/usr/bin/env python3
"""Benchmark: the Solarman V5 link, simulated logger and framer. Prints figures, asserts nothing.

  1. Round-trip time per read over loopback (FC03 x1 and FC04 x125 through SolarmanLink with no
     pacing, the logger answering at once): median and p99.
  2. Reads/s at the scheduler's period: the default 0.5 s (the map's own, if slower, wins) and a
     few shorter ones, against the floor 1 / (period + round trip).
  3. Parser throughput: V5Stream fed random bytes (with and without A5 start bytes in them), and
     valid frames among garbage, in 4 KiB reads: MB/s and frames/s.

Run: .venv/bin/python bench/solarman.py [--reads 500] [--mb 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from solartui.links import solarman_frame as F  # noqa: E402
from solartui.links.solarman import DEFAULT_PERIOD_MS, SolarmanLink  # noqa: E402
from solartui.links.solarman_stream import V5Stream  # noqa: E402
from solartui.links.target import parse_target  # noqa: E402
from solartui.registers.loader import load_map  # noqa: E402
from solartui.registers.model import LinkSpec  # noqa: E402
from solartui.sim.register_bank import RegisterBank  # noqa: E402
from solartui.sim.solarman_logger import SolarmanLogger  # noqa: E402

SERIAL = 2385267882


def p99(values: list[float]) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * 0.99))]


def row(*cells) -> None:
    print("  " + " | ".join(f"{c:>14}" if i else f"{c:<34}" for i, c in enumerate(cells)))


async def bench_link(reads: int) -> None:
    m = load_map(ROOT / "maps" / "growatt_protocol_ii.yaml")
    async with SolarmanLogger(RegisterBank(m, unit=1), serial=SERIAL) as lg:
        print("1. Round trip per read over loopback (no pacing)")
        row("read", "median ms", "p99 ms", "reads")
        for fc, count in ((3, 1), (4, 125)):
            link = SolarmanLink(parse_target(
                f"solarman://127.0.0.1:{lg.port}?serial={SERIAL}&unit=1&period=0"), m.link)
            try:
                await link.read(fc, 1, 0, 1)            # the connect is not a round trip
                times = []
                for _ in range(reads):
                    t0 = time.perf_counter()
                    await link.read(fc, 1, 0, count)
                    times.append(time.perf_counter() - t0)
            finally:
                await link.close()
            row(f"FC{fc:02d} x{count}", f"{statistics.median(times) * 1e3:.3f}",
                f"{p99(times) * 1e3:.3f}", reads)
        print()
        print("2. Reads/s at the scheduler's period (FC03 x1)")
        row("period", "reads/s", "floor reads/s", "min gap ms")
        for period_ms, label in ((None, f"default ({DEFAULT_PERIOD_MS} ms)"), (200, "200 ms"),
                                 (100, "100 ms"), (0, "0 (unpaced)")):
            q = "" if period_ms is None else f"&period={period_ms}"
            link = SolarmanLink(parse_target(
                f"solarman://127.0.0.1:{lg.port}?serial={SERIAL}&unit=1{q}"), LinkSpec())
            n = 6 if period_ms is None else 15 if period_ms >= 100 else 300
            try:
                await link.read(3, 1, 0, 1)
                t0 = time.perf_counter()
                for _ in range(n):
                    await link.read(3, 1, 0, 1)
                took = time.perf_counter() - t0
                rtt = link.stats.mean_latency or 0
                floor = 1 / (link.min_period + rtt)
                gap = link.stats.min_gap()
            finally:
                await link.close()
            row(label, f"{n / took:.1f}", f"{floor:.1f}", f"{(gap or 0) * 1e3:.1f}")


def bench_parser(mb: int) -> None:
    print()
    print(f"3. Parser throughput, {mb} MB in 4 KiB reads (best of 3)")
    row("input", "MB/s", "frames/s", "frames")
    rng = random.Random(1)
    size = mb * 1_000_000
    noise = os.urandom(size)
    no_a5 = noise.replace(b"\xa5", b"\x5a")
    reply = F.response_frame(SERIAL, 1, 1, F.with_crc(bytes([1, 3, 250]) + bytes(250)))
    mixed = bytearray()
    while len(mixed) < size:
        mixed += rng.randbytes(rng.randint(0, 64)).replace(b"\xa5", b"\x5a") + reply
    for label, data in (("random bytes", noise), ("random bytes, no A5", no_a5),
                        ("281-byte replies + garbage", bytes(mixed))):
        chunks = [data[i:i + 4096] for i in range(0, len(data), 4096)]
        best, frames = None, 0
        for _ in range(3):
            s = V5Stream()
            t0 = time.perf_counter()
            frames = sum(len(s.feed(c)) for c in chunks)
            took = time.perf_counter() - t0
            best = took if best is None else min(best, took)
        row(label, f"{len(data) / best / 1e6:.1f}", f"{frames / best:,.0f}", frames)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reads", type=int, default=500)
    ap.add_argument("--mb", type=int, default=8)
    args = ap.parse_args()
    asyncio.run(bench_link(args.reads))
    bench_parser(args.mb)


if __name__ == "__main__":
    main()
