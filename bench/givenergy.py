#!/usr/bin/env python3
"""Benchmark: the GivEnergy framer, link and simulated dongle. Prints figures, asserts nothing.

  1. FrameStream: frames/s and MB/s cut and decoded from the biggest capture file (its rx side,
     fed as the socket reads were recorded, and in 64-byte chunks).
  2. Full refresh through GivEnergyLink (HR 0-179 + IR 0-59 + IR 180-239 = 5 reads) with the
     default 0.3 s pacing, against a dongle answering after 0.0 s and 0.05 s. The floor is
     4 gaps x 0.3 s + 5 x latency.
  3. Heartbeat reply latency (dongle sends -> reply arrives), median and p99, with the link idle
     and while it refreshes without pacing (the reply comes from the reader task, not the queue).
  4. Reconnect: time from dongle.drop_clients() to the next read's answer.

Run: .venv/bin/python bench/givenergy.py [--refreshes 3] [--heartbeats 200] [--drops 20]
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

from solartui.givenergy.capture import chunks, parse_capture  # noqa: E402
from solartui.givenergy.stream import FrameStream  # noqa: E402
from solartui.links.givenergy import GivEnergyLink  # noqa: E402
from solartui.links.target import Target  # noqa: E402
from solartui.registers.model import LinkSpec  # noqa: E402
from solartui.sim.givenergy_dongle import GivEnergyDongle  # noqa: E402

HOST = "127.0.0.1"
CAPTURES = ROOT / "tests" / "vectors" / "givenergy-captures"
REFRESH = ((3, 0, 180), (4, 0, 60), (4, 180, 60))


def p99(values: list[float]) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * 0.99))]


def bench_stream() -> None:
    path = max(CAPTURES.glob("*.log"), key=lambda p: p.stat().st_size)
    reads = chunks(parse_capture(path), "rx")
    data = b"".join(reads)
    small = [data[i:i + 64] for i in range(0, len(data), 64)]
    print(f"1. FrameStream on {path.name} (rx: {len(data) / 1e6:.2f} MB, {len(reads)} reads)")
    for label, parts in (("as recorded", reads), ("64-byte chunks", small)):
        best = None
        for _ in range(5):
            s = FrameStream("to_client")
            start = time.perf_counter()
            n = sum(len(s.feed(p)) for p in parts)
            took = time.perf_counter() - start
            best = took if best is None else min(best, took)
        print(f"   {label:15s} {n} frames, {s.rejected} rejected: {n / best:,.0f} frames/s, "
              f"{len(data) / best / 1e6:.1f} MB/s")


def link_for(port: int, period_ms: int | None) -> GivEnergyLink:
    return GivEnergyLink(Target("givenergy", host=HOST, port=port, period_ms=period_ms),
                         LinkSpec(min_period_ms=300, timeout_ms=2000))


async def refresh(link: GivEnergyLink) -> None:
    for fn, address, count in REFRESH:
        await link.read(fn, 0x11, address, count)


async def bench_refresh(runs: int) -> None:
    print("2. full refresh HR 0-179 + IR 0-59 + IR 180-239 (5 reads), 0.3 s pacing")
    for latency in (0.0, 0.05):
        async with GivEnergyDongle(HOST, 0, latency=latency, heartbeat_interval=None) as d:
            link = link_for(d.port, None)
            await link.read(3, 0x11, 0, 1)          # connect first; then wait out the period
            await asyncio.sleep(0.3)
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                await refresh(link)
                times.append(time.perf_counter() - start)
                await asyncio.sleep(0.3)
            await link.close()
        floor = 4 * 0.3 + 5 * latency
        print(f"   latency {latency:.2f} s: median {statistics.median(times):.3f} s "
              f"(floor {floor:.2f} s), mean link latency "
              f"{link.stats.mean_latency * 1000:.1f} ms")


async def bench_heartbeats(count: int) -> None:
    print("3. heartbeat reply latency")
    for busy in (False, True):
        async with GivEnergyDongle(HOST, 0, heartbeat_interval=0.01, heartbeat_deadline=1.0,
                                   latency=0.0) as d:
            link = link_for(d.port, 0)
            await link.read(3, 0x11, 0, 1)
            while len(d.heartbeat_latencies) < count:
                if busy:
                    await refresh(link)
                else:
                    await asyncio.sleep(0.05)
            lat = [x * 1000 for x in d.heartbeat_latencies]
            await link.close()
        label = "link busy" if busy else "link idle"
        print(f"   {label}: {len(lat)} heartbeats, median {statistics.median(lat):.3f} ms, "
              f"p99 {p99(lat):.3f} ms, max {max(lat):.3f} ms")


async def bench_reconnect(drops: int) -> None:
    print("4. reconnect after drop_clients()")
    for latency in (0.0, 0.05):
        async with GivEnergyDongle(HOST, 0, latency=latency, heartbeat_interval=None) as d:
            link = link_for(d.port, 0)
            await link.read(3, 0x11, 0, 1)
            times = []
            for _ in range(drops):
                d.drop_clients()
                start = time.perf_counter()
                await link.read(3, 0x11, 0, 1)
                times.append(time.perf_counter() - start)
            connects = link.transport.connects
            await link.close()
        print(f"   latency {latency:.2f} s: {drops} drops, {connects} connects, drop -> answer "
              f"median {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms")


async def main_async(args) -> None:
    await bench_refresh(args.refreshes)
    await bench_heartbeats(args.heartbeats)
    await bench_reconnect(args.drops)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--refreshes", type=int, default=3)
    ap.add_argument("--heartbeats", type=int, default=200)
    ap.add_argument("--drops", type=int, default=20)
    args = ap.parse_args()
    bench_stream()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
